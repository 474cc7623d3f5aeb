"""The background worker: ``flask --app portal worker [--once]``.

Feature packages register jobs with :func:`job`; the worker runs each one in
turn, in its own unit of work (committed if it returns, rolled back if it
raises), then sleeps. Several workers may run at once,
so every job must claim its work safely (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.extensions import db, write_intent
from portal.web.transaction import unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], int]  # returns how much work it did


JOBS: list[Job] = []


def job(name: str):
    """Register a function as a worker job. It returns the number of items handled."""

    def register(function: Callable[[], int]) -> Callable[[], int]:
        if not any(existing.name == name for existing in JOBS):
            JOBS.append(Job(name, function))
        return function

    return register


def run_jobs_once(skip: set[str] = frozenset()) -> dict[str, int]:
    """Run every job once (but those in ``skip``); a failing job is logged and does not stop the others."""
    write_intent.set(True)
    _import_job_modules()
    done: dict[str, int] = {}
    for entry in JOBS:
        if entry.name in skip:
            continue
        try:
            with unit_of_work():
                done[entry.name] = entry.run()
        except Exception:  # noqa: BLE001 - the worker must outlive one bad job
            log.exception("worker job %s failed", entry.name)
            done[entry.name] = -1
    return done


def run_until_idle(max_seconds: float | None = None, clock: Callable[[], float] = time.monotonic) -> dict[str, int]:
    """Run every job again and again until a pass finds nothing to do (what a cron job wants:
    a 50,000-message campaign is sent in one call, not 50 messages per call).

    A job that fails is left out of the passes that follow (it would fail again), and counts -1.
    ``max_seconds`` bounds the run: no new pass starts after it; the work left is done by the next call.
    """
    started = clock()
    totals: dict[str, int] = {}
    while True:
        done = run_jobs_once(skip={name for name, count in totals.items() if count < 0})
        db.session.remove()
        for name, count in done.items():
            totals[name] = -1 if count < 0 else totals.get(name, 0) + count
        if not any(count > 0 for count in done.values()):
            return totals
        if max_seconds is not None and clock() - started >= max_seconds:
            return totals


@click.command("worker")
@click.option("--once", is_flag=True, help="Work until nothing is due, then exit (for cron).")
@click.option("--max-seconds", type=click.FloatRange(min=0), default=None, help="With --once: start no new pass after this many seconds.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds to sleep when there was nothing to do.")
@with_appcontext
def worker_command(once: bool, max_seconds: float | None, interval: float) -> None:
    """Send queued email and run schedules."""
    _import_job_modules()
    if once:
        for name, count in run_until_idle(max_seconds).items():
            click.echo(f"{name}: {count}" + (" (failed, see the log)" if count < 0 else ""))
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"Worker running {len(JOBS)} job(s): {', '.join(j.name for j in JOBS) or 'none yet'}. Ctrl+C stops.")
    while not stop.is_set():
        done = run_jobs_once()
        db.session.remove()
        if not any(count > 0 for count in done.values()):
            stop.wait(interval)
    current_app.logger.info("worker stopped")


def _import_job_modules() -> None:
    """Jobs register when their package's services module is imported."""
    import importlib
    import pkgutil

    import portal

    for module in pkgutil.iter_modules(portal.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"portal.{module.name}.jobs")
            except ModuleNotFoundError as error:
                if error.name != f"portal.{module.name}.jobs":
                    raise
