"""The Zalo Official Account channel: webhook, events, API client, proactive sender."""
