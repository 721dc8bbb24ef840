"""The one deprecation warning psec and pyemv set off, silenced where it comes from.

psec 1.3 and pyemv 1.5 build their ciphers with ``cryptography.hazmat.primitives.
ciphers.algorithms.TripleDES``, which cryptography has moved to ``hazmat.decrepit`` and
reaches through a module ``__getattr__`` that emits ``CryptographyDeprecationWarning``
("TripleDES has been moved to cryptography.hazmat.decrepit..."). TDES is what the link
uses on purpose (the terminals it serves speak TDES); the warning is about where the
class lives. Tests run with warnings as errors, so every psec and pyemv call goes
through `quiet`, which makes sure one filter comes first in the process's list: ignore
that category, raised from psec's and pyemv's own modules, and nothing else.

The filter stays in place once added rather than being swapped in for each call:
`warnings.catch_warnings` copies and restores the whole filter list, which cost more
than the MAC's own cipher set-up, on every message. Whoever replaces the list later
(pytest does, for each test) only makes the next call put the filter back in front.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import TypeVar

from cryptography.utils import CryptographyDeprecationWarning

T = TypeVar("T")

_MODULES = r"(psec|pyemv)\."
_LOCK = threading.Lock()


def quiet(call: Callable[[], T]) -> T:
    """`call()` (a psec or pyemv call) with its TDES deprecation warning ignored."""
    if not _filter_first():
        with _LOCK:  # two threads adding it at once would still leave one copy, first
            warnings.filterwarnings(
                "ignore", category=CryptographyDeprecationWarning, module=_MODULES
            )
    return call()


def _filter_first() -> bool:
    filters = warnings.filters
    if not filters:
        return False
    action, _message, category, module, _line = filters[0]
    return (
        action == "ignore"
        and category is CryptographyDeprecationWarning
        and module is not None
        and module.pattern == _MODULES
    )
