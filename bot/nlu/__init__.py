"""Custom Rasa NLU components for Gracious.

Importing this package registers the components with Rasa's DefaultV1Recipe, so
config.yml can refer to them as ``bot.nlu.Ballot``, ``bot.nlu.IntentVote``,
``bot.nlu.CardEmailExtractor``, ``bot.nlu.CancelTargetGuard``,
``bot.nlu.CancelSecondOpinion``, ``bot.nlu.OneWordAnswers``,
``bot.nlu.DetailsOnly`` and ``bot.nlu.AskIfCancel``.
"""

from bot.nlu.answers import DetailsOnly, OneWordAnswers, one_word_answer
from bot.nlu.ask import AskIfCancel
from bot.nlu.entities import CardEmailExtractor, find_entities
from bot.nlu.guard import CancelTargetGuard, foreign_cancel_target
from bot.nlu.second_opinion import CancelSecondOpinion
from bot.nlu.vote import Ballot, IntentVote

__all__ = [
    "AskIfCancel",
    "Ballot",
    "CancelSecondOpinion",
    "CancelTargetGuard",
    "CardEmailExtractor",
    "DetailsOnly",
    "IntentVote",
    "OneWordAnswers",
    "find_entities",
    "foreign_cancel_target",
    "one_word_answer",
]
