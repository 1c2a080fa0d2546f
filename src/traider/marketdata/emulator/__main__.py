"""Run the exchange emulator in the foreground: `python -m traider.marketdata.emulator [--port N]`.

Prints one base URL per venue (pass it as `api_base_url` to `CcxtSource`) and serves until interrupted.
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
    args = parser.parse_args(argv)
    with ExchangeEmulator(args.data_dir, port=args.port) as emulator:
        for venue in VENUES:
            print(f"{venue}\t{emulator.base_url(venue)}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
