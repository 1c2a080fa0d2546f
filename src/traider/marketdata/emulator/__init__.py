"""A local exchange emulator answering ccxt's REST calls with real recorded payloads, with fault injection.

Started by the tests (and by demos when no exchange is reachable); it never listens beyond loopback.
Each venue module documents which answers are recorded and which are derived.
"""

from traider.marketdata.emulator.data import default_data_dir
from traider.marketdata.emulator.faults import Fault, FaultKind, RequestRecord
from traider.marketdata.emulator.server import VENUES, ExchangeEmulator

__all__ = ["VENUES", "ExchangeEmulator", "Fault", "FaultKind", "RequestRecord", "default_data_dir"]
