"""What the notices route takes (bot/channels/notices.py), in a module of its own.

The retry worker posts to that route and keeps within these limits; it does
not load Rasa, which importing the route's module would do (a second of
start-up and Rasa's warnings in the worker's log).
"""

MAX_NOTICE_LENGTH = 2_000
MAX_NOTICE_ID_LENGTH = 100
KEY_HEADER = "X-Gracious-Notice-Key"
