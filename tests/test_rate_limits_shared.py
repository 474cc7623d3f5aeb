"""Rate limits that mean what they say across worker processes.

With memory storage each gunicorn worker counts on its own, so a limit of
N lets through N per worker. These tests run real gunicorn masters with two
worker processes: against the Redis this machine serves the limit holds
exactly, and a production start with memory storage warns loudly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from portal.serving import rate_limit_warning
from tests.conftest import WORKER_NUMBER, free_port

ROOT = Path(__file__).resolve().parent.parent
# Each test worker counts in its own Redis database (1, 2...; 0 is left to whoever else uses this Redis).
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{1 + WORKER_NUMBER % 15}")


def _redis():
    """A client for the test Redis, or a skip (a failure in CI, which must have one)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide Redis at {REDIS_URL}: {error}")
        pytest.skip(f"NO REDIS at {REDIS_URL}: the shared rate-limit test did not run ({error})")
    return client


def _gunicorn(database_url: str, tmp_path: Path, **settings: str) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_SECRET_KEY": "rate-limit-test",
        "PORTAL_BASE_URL": "http://127.0.0.1",
        "PORTAL_SMTP_URL": "smtp://127.0.0.1:9",
        **settings,
    }
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "portal:create_app()"]
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process, port, log
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"gunicorn did not start:\n{log.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _status(url: str) -> int:
    request = urllib.request.Request(url, headers={"Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _worker_pids(master: subprocess.Popen) -> set[int]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


@pytest.mark.exclusive
def test_guessing_limit_holds_across_two_worker_processes_with_redis(database_url, tmp_path):
    client = _redis()
    for key in client.scan_iter("*secret-link-misses*"):
        client.delete(key)
    process, port, log = _gunicorn(
        database_url,
        tmp_path,
        PORTAL_ENV="production",
        PORTAL_RATELIMIT_STORAGE_URL=REDIS_URL,
        PORTAL_TOKEN_LIMIT_PER_IP="6 per minute",
    )
    try:
        assert len(_worker_pids(process)) == 2
        statuses = [_status(f"http://127.0.0.1:{port}/s/unknown-token-{n}") for n in range(20)]
    finally:
        _stop(process)
    # Six misses are allowed in total, not six per worker process.
    assert statuses[:6] == [404] * 6, statuses
    assert set(statuses[6:]) == {429}, statuses
    assert "RATE LIMITS ARE NOT SHARED" not in log.read_text()


@pytest.mark.exclusive
def test_production_with_memory_storage_and_two_workers_warns_at_start(database_url, tmp_path):
    process, _port, log = _gunicorn(database_url, tmp_path, PORTAL_ENV="production", PORTAL_RATELIMIT_STORAGE_URL="memory://")
    _stop(process)
    output = log.read_text()
    assert "RATE LIMITS ARE NOT SHARED: 2 worker processes" in output
    assert "PORTAL_RATELIMIT_STORAGE_URL=redis://" in output


@pytest.mark.parametrize(
    ("settings", "workers", "warns"),
    [
        ({"ENV": "production", "RATELIMIT_STORAGE_URL": "memory://"}, 4, True),
        ({"ENV": "production", "RATELIMIT_STORAGE_URL": "memory://"}, 1, False),
        ({"ENV": "production", "RATELIMIT_STORAGE_URL": "redis://cache:6379"}, 4, False),
        ({"ENV": "development", "RATELIMIT_STORAGE_URL": "memory://"}, 4, False),
    ],
)
def test_warning_only_where_limits_multiply(settings, workers, warns):
    assert (rate_limit_warning(settings, workers) is not None) is warns
