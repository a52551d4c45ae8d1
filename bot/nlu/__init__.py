"""Custom Rasa NLU components for Gracious.

Importing this package registers the components with Rasa's DefaultV1Recipe, so
config.yml can refer to them as ``bot.nlu.CardEmailExtractor`` and
``bot.nlu.CancelTargetGuard``, ``bot.nlu.CancelSecondOpinion`` and
``bot.nlu.OneWordAnswers``.
"""

from bot.nlu.answers import OneWordAnswers, one_word_answer
from bot.nlu.entities import CardEmailExtractor, find_entities
from bot.nlu.guard import CancelTargetGuard, foreign_cancel_target
from bot.nlu.second_opinion import CancelSecondOpinion

__all__ = [
    "CancelSecondOpinion",
    "CancelTargetGuard",
    "CardEmailExtractor",
    "OneWordAnswers",
    "find_entities",
    "foreign_cancel_target",
    "one_word_answer",
]
