"""Where the NLU's own components leave notes in a parse result.

The actions read them from the latest message; this module imports nothing
from Rasa, so the action server can share the names without loading the NLU.
"""

# bot/nlu/guard.py: the cancel verb was aimed at something else ("my order")
FOREIGN_CANCEL_OBJECT = "foreign_cancel_object"
# bot/nlu/second_opinion.py: a cancel request taken back for doubt
CANCEL_SECOND_OPINION = "cancel_second_opinion"
# bot/nlu/guard.py: a cancel request it overruled (what it ended, or the sense)
CANCEL_GUARD = "cancel_guard"
# bot/nlu/ask.py: the bot should ask "do you want to cancel your subscription?"
ASK_IF_CANCEL = "ask_if_cancel"
# bot/nlu/answers.py: the message was only an email or card digits
DETAILS_ONLY = "details_only"
