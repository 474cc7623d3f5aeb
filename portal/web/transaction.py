"""Units of work: the one place that commits (DESIGN.md §4).

Services change state and flush; they never commit. What commits is the
unit of work around them, and it commits once:

- **a request**: :func:`init_app` makes every response below 400 commit and
  every other response (a 422 form error, a 404, a 500) roll back. Views
  never commit; an exception rolls back too.
- **a request that may lose a race** (two deliveries of one event, two
  answers at once, a course sign-in racing another) wraps its work in
  :func:`run_in_transaction`, which commits it and runs it again from the
  start when it lost: PostgreSQL breaks a deadlock by aborting one side
  (SQLSTATE 40P01), aborts a transaction it cannot serialise (40001), and a
  unique constraint tells the slower of two inserts that it lost (an
  IntegrityError). Run again, the work sees what the winner committed.
- **a job or a CLI command**: ``with unit_of_work():`` around each piece of
  work that must stand or fall together.
- **a GET that records something after reading** (the export log): it calls
  :func:`begin_writing` between the two, so the write is a transaction of its
  own that queues like every other writer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import Flask, Response
from sqlalchemy.exc import DBAPIError, IntegrityError

from portal.extensions import db, write_intent

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


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block did, or roll it back if it raised."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def begin_writing() -> None:
    """From here on, the current unit of work writes.

    A GET starts as a reader (a plain ``BEGIN`` on SQLite). Writing inside
    that transaction would upgrade a snapshot that may be stale by then: if
    another writer committed since it began, SQLite answers "database is
    locked" at once, without waiting. So the read transaction ends here (it
    wrote nothing; whatever it did is committed as the request would have)
    and the next one begins as a writer: after the writer queue and with
    ``BEGIN IMMEDIATE``, the path every POST takes. On PostgreSQL this only
    ends the read transaction. The request still commits the write once, at
    its end.
    """
    db.session.commit()
    write_intent.set(True)


def discard() -> None:
    """Roll back the current unit of work now: an error page after a failed
    flush must be drawn on a session that can still query."""
    db.session.rollback()


def _finish_request(response: Response) -> Response:
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def init_app(app: Flask) -> None:
    """Commit each request once, after its view, if it succeeded."""
    app.after_request(_finish_request)
