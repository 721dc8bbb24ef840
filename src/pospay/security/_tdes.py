"""TDES as psec and pyemv reach it in cryptography: their one deprecation warning
silenced where it comes from, and a way back when the deprecated location is gone.

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

cryptography announced that the old location would go (in 48.0.0; 51 still has it).
When it has gone, psec and pyemv would fail on every MAC, PIN and ARQC: `reach_tripledes`,
run when this module is imported, puts the class (from ``hazmat.decrepit``, where it
lives now) back where they look it up, and does nothing while the old location exists.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import TypeVar

from cryptography.hazmat.primitives.ciphers import algorithms as _algorithms
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


def reach_tripledes(algorithms: ModuleType = _algorithms) -> None:
    """Make ``algorithms.TripleDES`` resolve, the way psec and pyemv look it up.

    `algorithms` is cryptography's ``hazmat.primitives.ciphers.algorithms`` module, the
    one psec and pyemv hold; tests pass a stand-in for a cryptography without the shim.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        if hasattr(algorithms, "TripleDES"):
            return
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

    setattr(algorithms, "TripleDES", TripleDES)  # noqa: B010 - a module, typed as any module


reach_tripledes()
