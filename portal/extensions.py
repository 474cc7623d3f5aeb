"""Extensions, created unbound and attached in :func:`portal.create_app`."""

from __future__ import annotations

import contextvars
import fcntl
import os
import threading
import time

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Stable constraint names, so migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = Htmx()
limiter = Limiter(key_func=get_remote_address)

#: True while the current unit of work intends to write. On SQLite such
#: transactions start with BEGIN IMMEDIATE, so two writers queue on the
#: busy timeout instead of failing halfway with "database is locked".
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


def mark_write_intent_for_unsafe_methods() -> None:
    """before_request hook: POST, PUT, PATCH and DELETE write."""
    write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))


BUSY_TIMEOUT_SECONDS = 15


class WriterQueue:
    """One writer at a time on a SQLite file, across threads and processes.

    SQLite makes a second writer wait in its busy handler, which sleeps up
    to 100 ms between tries: with eight concurrent survey answers the
    slowest took half a second. Writers queue here instead, on a thread
    lock inside a process and an flock on ``<database>.writers`` between
    processes, and go on within a millisecond of the previous commit. After
    the busy timeout a writer stops waiting here and leaves the rest to
    SQLite, so a stuck transaction fails as before instead of hanging.
    """

    KEY = "portal_writer_lock"

    def __init__(self, database: str, timeout: float = BUSY_TIMEOUT_SECONDS):
        self.path = f"{database}.writers"
        self.timeout = timeout
        self._threads = threading.Lock()

    def acquire(self, info: dict) -> None:
        if self.KEY in info:  # this connection is the writer already (a second transaction before checkin)
            return
        deadline = time.monotonic() + self.timeout
        if not self._threads.acquire(timeout=self.timeout):
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    fd = None
                    break
                time.sleep(0.0005)  # only one thread per process polls; the others wait on the lock
        info[self.KEY] = fd

    def release(self, info: dict) -> None:
        if self.KEY not in info:
            return
        fd = info.pop(self.KEY)
        if fd is not None:
            os.close(fd)  # closing releases the flock
        self._threads.release()


def configure_sqlite(engine: Engine) -> None:
    """WAL, busy timeout, foreign keys, and explicit BEGIN [IMMEDIATE] after
    waiting in the writer queue (file databases)."""
    database = engine.url.database
    writers = WriterQueue(database) if database and database != ":memory:" and not database.startswith("file:") else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if not write_intent.get():
            connection.exec_driver_sql("BEGIN")
            return
        if writers is not None:
            writers.acquire(connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if writers is not None:
                writers.release(connection.info)
            raise

    if writers is None:
        return

    # The "commit" event fires before the COMMIT; the next writer may go on
    # once the connection is back in the pool, which is right after it.
    @event.listens_for(engine, "checkin")
    @event.listens_for(engine, "invalidate")
    def _on_return(_dbapi_connection, record, *_):
        if record is not None:
            writers.release(record.info)
