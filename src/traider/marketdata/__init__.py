"""Market data: normalised records, sources (ccxt venues, file replay, simulator), the exchange emulator."""
