"""Waiting for what a background process (the retry worker) will do."""

from __future__ import annotations

import time
from typing import Callable


def eventually(check: Callable[[], object], seconds: float = 90) -> bool:
    """Return True as soon as ``check()`` is truthy, False after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False
