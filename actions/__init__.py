"""Rasa custom actions: thin steps that read slots and call bot/ services."""
