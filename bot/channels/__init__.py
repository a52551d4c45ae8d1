"""Input channels: caller checks, card-number removal, identity metadata.

Each channel checks who is calling, removes full card numbers and attaches
the caller's verified identity before Rasa sees the message.
"""
