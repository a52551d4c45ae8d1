"""A blank English spaCy pipeline, installable so Rasa can load it by name.

Pretrained spaCy pipelines cannot be downloaded on our machines, and Rasa's
SpacyNLP resolves its ``model`` through ``spacy.load`` and ``spacy.info``,
both of which need an installed package with a ``meta.json``. This package
is that, and nothing more: the tokenizer rules of ``spacy.blank("en")``.
"""

from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language


def load(**overrides: Any) -> Language:
    """Return a fresh blank English pipeline (overrides such as disable are moot)."""
    nlp = spacy.blank("en")
    # Rasa refuses a pipeline whose path is None ("not loaded from disk");
    # this one is complete as it is, so its path is this package.
    nlp._path = Path(__file__).parent
    return nlp
