"""Running a unit of work again when it lost a race that running it again resolves.

On PostgreSQL with several processes two units may race: for the same key (the loser's
insert violates a unique constraint), or for rows each wants the other's lock on (a
deadlock, SQLSTATE 40P01) or under serialisable isolation (40001). The loser's unit
is rolled back and nothing of it stays; running it again sees the winner's work — a
stored answer to return, a key already taken — and decides accordingly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from pospay.storage.committer import Committer

# Serialisation failure and deadlock on PostgreSQL: the unit may simply run again.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
ATTEMPTS = 5

log = logging.getLogger(__name__)
T = TypeVar("T")


async def run_retrying(
    committer: Committer, work: Callable[[Connection], T], *, attempts: int = ATTEMPTS
) -> T:
    """Run `work` durably; again (up to `attempts` runs in all) if it lost a race."""
    attempt = 1
    while True:
        try:
            return await committer.run(work)
        except DBAPIError as error:
            if attempt >= attempts or not lost_a_race(error):
                raise
            log.info("lost a race to another transaction, running again: %s", error.orig)
            attempt += 1


def lost_a_race(error: DBAPIError) -> bool:
    """Whether `error` is a unique key taken by another unit, a deadlock or a serialisation
    failure: what running the unit again resolves."""
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES
