"""Long reports as a new user asks for them: two years of the demo history.

The weekly report, the report with its default interval, insights and the
answers' CSV, each over the last two years, one request at a time on one
gunicorn worker (latency, not throughput), with /healthz as the baseline.

Targets (issue 19): the weekly report and insights over two years in
< 150 ms p95 and under 100 kB of HTML.

    .venv/bin/python bench/long_reports.py [--seconds S]
"""

from __future__ import annotations

import argparse
import http.client
import sys
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_name, get, gunicorn, load, record, seeded_environment  # noqa: E402
from reports import session_cookie  # noqa: E402

P95_TARGET_MS = 150
BYTES_TARGET = 100_000


def two_years() -> str:
    today = date.today()
    return urlencode({"from": (today - timedelta(days=730)).isoformat(), "to": (today + timedelta(days=1)).isoformat()})


def size(base: str, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """The status and the number of bytes of one answer."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, len(body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    years = two_years()
    cases = [
        # key, name, path, targets apply
        ("weekly_report", "report, weekly, 2 years", f"/staff/reports?interval=week&{years}", True),
        ("report_default", "report, default interval, 2 years", f"/staff/reports?{years}", False),
        ("insights", "insights, 2 years", f"/staff/reports/insights?{years}", True),
        ("responses_csv", "responses.csv, 2 years", f"/staff/reports/responses.csv?{years}", False),
    ]
    with seeded_environment() as env, gunicorn(env, workers=1, threads=1) as base:
        admin = {"Cookie": session_cookie(base, "admin@demo.example")}
        baseline = load("GET /healthz", base, get("/healthz"), concurrency=1, seconds=args.seconds)
        results = []
        for key, name, path, targeted in cases:
            status, length = size(base, path, admin)
            if status != 200:
                raise SystemExit(f"{name}: status {status}")
            result = load(name, base, get(path, admin), concurrency=1, seconds=args.seconds, warmup=1.0)
            results.append((key, result, length, targeted))
    print(f"\n{database_name()}, demo seed (two years of history); one gunicorn worker, one request at a time")
    print(f"{'':38} {'p50':>8} {'p95':>8} {'bytes':>9}  targets: p95 < {P95_TARGET_MS} ms, < {BYTES_TARGET // 1000} kB")
    print(f"{'GET /healthz':38} {baseline.percentile(50):6.1f}ms {baseline.percentile(95):6.1f}ms")
    figures = {"healthz": baseline.figures()}
    for key, result, length, targeted in results:
        p95 = result.percentile(95)
        verdict = ("ok" if p95 < P95_TARGET_MS and length < BYTES_TARGET and not result.errors else "MISSED") if targeted else ""
        print(f"{result.name:38} {result.percentile(50):6.1f}ms {p95:6.1f}ms {length:9d}  {verdict}  errors {result.errors}")
        figures[key] = result.figures(bytes=length)
    record("long_reports", figures, env)


if __name__ == "__main__":
    main()
