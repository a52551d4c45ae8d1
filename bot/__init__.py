"""Gracious: the bot's own code (settings, billing client, channels, NLU parts)."""
