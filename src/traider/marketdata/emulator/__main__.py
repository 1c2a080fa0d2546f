"""Run the exchange emulator in the foreground: `python -m traider.marketdata.emulator [--port N] [--streams]`.

Prints one base URL per venue (pass it as `api_base_url` to `CcxtSource`, or the common part as
TRAIDER_EXCHANGE_EMULATOR_URL) and serves until interrupted. With `--streams` it also replays Binance's
recorded market streams over websockets and prints that server's URL (TRAIDER_EXCHANGE_STREAM_EMULATOR_URL).
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from pathlib import Path

from traider.marketdata.emulator.server import VENUES, ExchangeEmulator


def main(argv: list[str] | None = None) -> int:
    """Serve the emulator on loopback until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m traider.marketdata.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    parser.add_argument("--data-dir", type=Path, default=None, help="shared market data (default: ../shared/data)")
    parser.add_argument("--streams", action="store_true", help="also replay Binance's recorded websocket streams")
    parser.add_argument("--speed", type=float, default=1.0, help="stream replay speed (2: twice as fast)")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        emulator = stack.enter_context(ExchangeEmulator(args.data_dir, port=args.port))
        for venue in VENUES:
            print(f"{venue}\t{emulator.base_url(venue)}", flush=True)
        if args.streams:
            from traider.marketdata.emulator.websocket import BinanceStreamEmulator

            streams = BinanceStreamEmulator(args.data_dir, speed=args.speed, rest_upstream=emulator.base_url("binance"))
            print(f"streams\t{stack.enter_context(streams).url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
