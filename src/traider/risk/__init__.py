"""Pre-trade risk: one engine used by the backtester and the live worker."""
