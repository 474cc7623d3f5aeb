"""Benchmark harness: a seeded database, the app under gunicorn, and a load
generator that reports requests/s and latency percentiles.

Every benchmark measures a baseline in the same run (usually /healthz, which
touches nothing) and prints its own figures as a ratio to it, so results are
comparable across machines. Nothing here is a pass/fail test.

``PORTAL_BENCH_DATABASE_URL`` (a PostgreSQL URL, e.g.
``postgresql://postgres@127.0.0.1:5432/portal_bench``) makes every benchmark
seed and run against that database, dropped and created afresh for each run,
instead of a temporary SQLite file.

Each benchmark also writes its figures to ``bench/results/<name>.json``
(:func:`record`); ``bench/results_table.py`` turns them into ``bench/RESULTS.md``.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
#: The pid of the gunicorn master started last (a benchmark reads its workers' memory).
LAST_GUNICORN_PID: int | None = None
#: A PostgreSQL URL to benchmark on instead of a temporary SQLite file (the database is recreated).
BENCH_DATABASE_URL = os.environ.get("PORTAL_BENCH_DATABASE_URL", "").strip()
RESULTS = ROOT / "bench" / "results"


def database_name() -> str:
    """"SQLite" or "PostgreSQL": what the benchmarks run on."""
    return "PostgreSQL" if BENCH_DATABASE_URL else "SQLite"


def fresh_database(sqlite_file: Path | str) -> str:
    """The database URL for one benchmark run: PORTAL_BENCH_DATABASE_URL's
    database dropped and created empty, or else ``sqlite_file`` (removed first)."""
    if not BENCH_DATABASE_URL:
        Path(sqlite_file).unlink(missing_ok=True)
        return f"sqlite:///{sqlite_file}"
    import psycopg

    parts = urlsplit(BENCH_DATABASE_URL)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("PORTAL_BENCH_DATABASE_URL must be a PostgreSQL URL (postgresql://user@host:port/name)")
    name = parts.path.lstrip("/")
    if not name or name == "postgres":
        raise SystemExit("PORTAL_BENCH_DATABASE_URL must name a database of its own (it is dropped and recreated)")
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return BENCH_DATABASE_URL


def database_version(env: dict[str, str]) -> str:
    """The server version of the database ``env`` points at (for the results table)."""
    url = env.get("PORTAL_DATABASE_URL", "")
    if url.startswith("sqlite"):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
    return f"PostgreSQL {version.split()[0]}"


def record(bench: str, figures: dict, env: dict[str, str] | None = None, **context) -> Path:
    """Write one benchmark's figures to bench/results/<bench>[-postgresql].json for results_table.py.

    ``figures``: name → dict of numbers (req_s, p50_ms, p95_ms, p99_ms, ratio, bytes...)."""
    RESULTS.mkdir(exist_ok=True)
    on_postgresql = env["PORTAL_DATABASE_URL"].startswith("postgres") if env else bool(BENCH_DATABASE_URL)
    suffix = "-postgresql" if on_postgresql else "-sqlite"
    data = {
        "bench": bench,
        "database": "PostgreSQL" if on_postgresql else "SQLite",
        "database_version": database_version(env) if env else None,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit(),
        "machine": machine(),
        "figures": figures,
        **context,
    }
    path = RESULTS / f"{bench}{suffix}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


def commit() -> str:
    """The commit measured (short hash), with "+changes" when the work tree differs from it."""
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "portal", "migrations", "bench")
    return f"{head}+changes" if dirty else head


def machine() -> dict[str, str]:
    """Cores, CPU model and Python version of this machine."""
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": str(os.cpu_count()), "cpu": model or "unknown", "python": platform.python_version()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([PYTHON, "-m", "flask", "--app", "portal", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def bench_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment the app runs in for a benchmark (no rate limits in the way)."""
    env = dict(
        os.environ,
        PORTAL_DATABASE_URL=database_url,
        PORTAL_SECRET_KEY="bench-secret",
        PORTAL_BASE_URL="http://127.0.0.1",
        PORTAL_SMTP_URL="smtp://127.0.0.1:9",
        PORTAL_LOGIN_LIMIT_PER_IP="100000 per minute",
        PORTAL_LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",
        PORTAL_API_READ_LIMIT="1000000 per minute",
    )
    env.update(overrides)
    return env


@contextmanager
def seeded_environment(*seed_args: str):
    """A temporary instance folder with a migrated, seeded database: a SQLite
    file in it, or PORTAL_BENCH_DATABASE_URL's database, recreated."""
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        env = bench_env(fresh_database(f"{tmp}/bench.db"))
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

    def figures(self, baseline: Result | None = None, **extra) -> dict:
        """This result as numbers for :func:`record`."""
        data = {
            "req_s": round(self.per_second, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "requests": self.requests,
            "errors": self.errors,
        }
        if baseline is not None and baseline.per_second:
            data["ratio"] = round(self.per_second / baseline.per_second, 4)
        data.update(extra)
        return data


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
