"""Gracious's reference billing service.

A small HTTP JSON service that behaves like a company's billing system:
customers, plans, subscriptions, retention offers, cancellations and an
append-only event log. The bot talks to it only over HTTP, through
``bot.billing``; nothing here imports the bot.
"""
