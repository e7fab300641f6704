"""Channel adapters: translate platform updates into `Incoming` and `Reply` into platform calls."""
