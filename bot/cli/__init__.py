"""The `bdg-bot` command line, one module per command group."""
