"""The engine's features, one module each, registered in bot.app."""
