"""Benchmark harness: a seeded database, the app under gunicorn, and a load
generator that reports requests/s and latency percentiles.

Every benchmark measures a baseline in the same run (usually /healthz, which
touches nothing) and prints its own figures as a ratio to it, so results are
comparable across machines. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
#: The pid of the gunicorn master started last (a benchmark reads its workers' memory).
LAST_GUNICORN_PID: int | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([PYTHON, "-m", "flask", "--app", "portal", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextmanager
def seeded_environment(*seed_args: str):
    """A temporary instance folder with a migrated, seeded SQLite database."""
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        env = dict(
            os.environ,
            PORTAL_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
            PORTAL_SECRET_KEY="bench-secret",
            PORTAL_BASE_URL="http://127.0.0.1",
            PORTAL_SMTP_URL="smtp://127.0.0.1:9",
            PORTAL_LOGIN_LIMIT_PER_IP="100000 per minute",
            PORTAL_LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",
        )
        flask(env, "db", "upgrade")
        flask(env, "demo", "seed", *seed_args)
        yield env


@contextmanager
def gunicorn(env: dict[str, str], workers: int = int(os.environ.get("BENCH_WORKERS", 2)), threads: int = int(os.environ.get("BENCH_THREADS", 4))):
    """The app under gunicorn (BENCH_WORKERS and BENCH_THREADS override the 2 x 4 default)."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "portal:create_app()"],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    global LAST_GUNICORN_PID
    LAST_GUNICORN_PID = process.pid
    try:
        deadline = time.time() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or process.poll() is not None:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        # The first answer comes from the first worker to boot; give the
        # others time too, or the first measurement runs on fewer workers.
        time.sleep(3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    def line(self, baseline: Result | None = None) -> str:
        ratio = f"  {self.per_second / baseline.per_second:6.1%} of {baseline.name}" if baseline and baseline.per_second else ""
        return (
            f"{self.name:38} {self.per_second:8.1f} req/s  p50 {self.percentile(50):6.1f} ms  "
            f"p99 {self.percentile(99):6.1f} ms  errors {self.errors}{ratio}"
        )


Request = Callable[[http.client.HTTPConnection, int], int]
"""Makes one request on a kept-alive connection (the int is a sequence number) and returns the status."""


def get(path: str, headers: dict[str, str] | None = None) -> Request:
    def request(connection: http.client.HTTPConnection, _n: int) -> int:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status

    return request


def load(name: str, base: str, request: Request, concurrency: int = 8, seconds: float = 5.0, warmup: float = 1.0, ok=(200,)) -> Result:
    """Run ``request`` from ``concurrency`` threads, each with its own kept-alive connection."""
    host = urlsplit(base)
    stop_at = time.perf_counter() + warmup + seconds
    measure_from = time.perf_counter() + warmup
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    lock = threading.Lock()
    sequence = iter(range(10**9))

    def client() -> None:
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        local: list[float] = []
        requests = errors = 0
        while (now := time.perf_counter()) < stop_at:
            with lock:
                n = next(sequence)
            try:
                status = request(connection, n)
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
                status = 0
            done = time.perf_counter()
            if now >= measure_from:
                local.append((done - now) * 1000)
                requests += 1
                errors += status not in ok
        with lock:
            latencies.extend(local)
            counts["requests"] += requests
            counts["errors"] += errors
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(name, counts["requests"], seconds, latencies, counts["errors"])


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
