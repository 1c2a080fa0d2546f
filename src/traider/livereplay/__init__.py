"""Nightly live replay: yesterday's trading replayed through the backtester, compared, and acted upon."""
