"""The embedded SQLite setup: writers queue for each other instead of
sleeping in SQLite's busy handler, and never deadlock on themselves."""

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from portal.extensions import WriterQueue, configure_sqlite, write_intent


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    configure_sqlite(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        connection.exec_driver_sql("INSERT INTO counter VALUES (0)")
    token = write_intent.set(True)
    yield engine
    write_intent.reset(token)
    engine.dispose()


def in_thread(target):
    done = threading.Event()

    def run():
        write_intent.set(True)  # a new thread starts with the default context
        target()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done


def test_a_writer_waits_for_the_one_before_and_goes_on_after_its_commit(engine):
    first = engine.connect()
    first.begin()
    first.execute(text("UPDATE counter SET n = n + 1"))

    def second_writer():
        with engine.begin() as connection:
            connection.execute(text("UPDATE counter SET n = n * 10"))

    finished = in_thread(second_writer)
    assert not finished.wait(0.5)  # queued behind the open write transaction
    first.commit()
    first.close()
    assert finished.wait(5)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT n FROM counter")) == 10  # in order: +1, then *10


def test_many_concurrent_writers_all_commit(engine):
    def add_one():
        with engine.begin() as connection:
            connection.execute(text("UPDATE counter SET n = n + 1"))

    threads = [in_thread(add_one) for _ in range(20)]
    assert all(done.wait(20) for done in threads)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT n FROM counter")) == 20


def test_two_transactions_on_one_connection_do_not_deadlock(engine):
    with engine.connect() as connection:
        for _ in range(2):
            connection.begin()
            connection.execute(text("UPDATE counter SET n = n + 1"))
            connection.commit()

    def reset():
        with engine.begin() as connection:
            connection.execute(text("UPDATE counter SET n = 0"))

    assert in_thread(reset).wait(5)  # the queue was left when the connection went back to the pool


def test_readers_do_not_queue(engine):
    writer = engine.connect()
    writer.begin()
    writer.execute(text("UPDATE counter SET n = 5"))
    token = write_intent.set(False)
    try:
        with engine.connect() as reader:
            assert reader.scalar(text("SELECT n FROM counter")) == 0  # WAL: the last committed value, at once
    finally:
        write_intent.reset(token)
        writer.rollback()
        writer.close()


def test_processes_queue_on_the_lock_file_and_give_up_after_the_timeout(tmp_path):
    # Two queues on one file behave like two processes: each has its own thread lock.
    one, other = WriterQueue(str(tmp_path / "db"), timeout=0.3), WriterQueue(str(tmp_path / "db"), timeout=5)
    held, waiting = {}, {}
    one.acquire(held)
    acquired = threading.Event()
    threading.Thread(target=lambda: (other.acquire(waiting), acquired.set()), daemon=True).start()
    assert not acquired.wait(0.3)
    one.release(held)
    assert acquired.wait(5) and waiting[WriterQueue.KEY] is not None
    # A writer stuck longer than the timeout: the next stops queueing and leaves it to SQLite.
    late = {}
    one.acquire(late)
    assert late[WriterQueue.KEY] is None
    one.release(late)
    other.release(waiting)
