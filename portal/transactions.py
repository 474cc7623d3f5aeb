"""One unit of work, committed once, and tried again when it lost a race.

Concurrent requests can make a correct transaction fail through no fault of
its own: PostgreSQL breaks a deadlock by aborting one side (SQLSTATE 40P01),
aborts a transaction it cannot serialise (40001), and a unique constraint
tells the slower of two inserts of the same row that it lost (an
IntegrityError). Run again from the start, such a unit of work sees what the
winner committed and goes on. Anything else is rolled back and raised.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

from portal.extensions import db

T = TypeVar("T")

#: serialization_failure, deadlock_detected
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
DEFAULT_ATTEMPTS = 4
BACKOFF_SECONDS = 0.02


def is_retryable(error: BaseException, *, integrity_errors: bool = True) -> bool:
    """A deadlock or serialization failure (or, if asked, a lost insert race)."""
    if integrity_errors and isinstance(error, IntegrityError):
        return True
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def run_in_transaction(fn: Callable[[], T], *, attempts: int = DEFAULT_ATTEMPTS, retry_integrity_errors: bool = True) -> T:
    """Call ``fn`` and commit; on a retryable error roll back, wait a little
    (random, growing) and call it again, at most ``attempts`` times in all.

    ``fn`` must do all its work in ``db.session`` and be safe to run again
    from the start: everything it did before the failure was rolled back.
    With ``retry_integrity_errors`` an IntegrityError counts as a lost race
    (set it to False where a constraint violation can only be a real error).
    """
    attempt = 1
    while True:
        try:
            result = fn()
            db.session.commit()
            return result
        except Exception as error:
            db.session.rollback()
            if attempt >= attempts or not is_retryable(error, integrity_errors=retry_integrity_errors):
                raise
            time.sleep(random.uniform(0, BACKOFF_SECONDS * 2**attempt))
            attempt += 1
