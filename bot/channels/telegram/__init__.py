"""The Telegram channel: PTB adapter, webhook, HTTP transport, proactive sender."""
