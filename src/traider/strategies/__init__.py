"""Trading strategies behind one small, versioned contract shared by the backtester and the live worker."""
