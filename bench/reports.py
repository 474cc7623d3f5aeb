"""Reports at a million answers: the dashboard, the reports page and the
reports API, against /healthz and a raw SQL aggregate in the same run.

Targets (issue 10): with `demo seed --responses 1000000`, the dashboard and the
default report render in < 100 ms p95, any filtered report and any API call in
< 300 ms p95, on SQLite and on PostgreSQL, on a 2-core machine, with a web
worker under 200 MB RSS.

Requests run one at a time (latency, not throughput), on one gunicorn worker.

    .venv/bin/python bench/reports.py                       # SQLite, 1,000,000 answers (seeding takes ~4 min)
    .venv/bin/python bench/reports.py --responses 100000
    .venv/bin/python bench/reports.py --database postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench
    PORTAL_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/reports.py
    BENCH_REPORTS_RESPONSES=100000 make bench               # fewer extra answers when run from `make bench`
    .venv/bin/python bench/reports.py --reuse                # skip seeding: reuse the database of the last run
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import BENCH_DATABASE_URL, PYTHON, ROOT, flask, get, gunicorn, load, record  # noqa: E402

PASSWORD = "demo-portal-2026"
SQLITE_FILE = Path(tempfile.gettempdir()) / "portal-bench-reports.db"

RAW_AGGREGATE = """
import sys, time, statistics
from datetime import datetime, timedelta
from sqlalchemy import text
from portal import create_app
from portal.extensions import db
app = create_app()
with app.app_context():
    since = datetime.utcnow() - timedelta(days=90)
    sql = text("SELECT nps_score, count(*) FROM responses WHERE created_at >= :since GROUP BY nps_score")
    times = []
    for _ in range(7):
        start = time.perf_counter()
        db.session.execute(sql, {"since": since}).all()
        times.append((time.perf_counter() - start) * 1000)
    print(f"{statistics.median(times):.1f}")
"""


def environment(database: str | None) -> dict[str, str]:
    return dict(
        os.environ,
        PORTAL_DATABASE_URL=database or f"sqlite:///{SQLITE_FILE}",
        PORTAL_SECRET_KEY="bench-secret",
        PORTAL_BASE_URL="http://127.0.0.1",
        PORTAL_SMTP_URL="smtp://127.0.0.1:9",
        PORTAL_LOGIN_LIMIT_PER_IP="100000 per minute",
        PORTAL_LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",
        PORTAL_API_READ_LIMIT="1000000 per minute",
    )


def prepare(env: dict[str, str], responses: int, database: str | None) -> None:
    if database:
        url = urlsplit(database.replace("+psycopg", ""))
        name = url.path.lstrip("/")
        admin = f"{url.scheme}://{url.netloc}/postgres"
        subprocess.run(["psql", admin, "-q", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', "-c", f'CREATE DATABASE "{name}"'], check=True)
    else:
        SQLITE_FILE.unlink(missing_ok=True)
    flask(env, "db", "upgrade")
    started = time.perf_counter()
    flask(env, "demo", "seed", "--responses", str(responses))
    print(f"seeded {responses} extra answers in {time.perf_counter() - started:.0f} s")


def api_token(env: dict[str, str]) -> str:
    out = flask(env, "integrations", "create", f"bench-{time.time_ns()}")
    return re.search(r"API token:\s+(\S+)", out).group(1)


def session_cookie(base: str, email: str) -> str:
    host = urlsplit(base)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = urlencode({"csrf_token": token, "email": email, "password": PASSWORD})
    connection.request("POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = connection.getresponse()
    response.read()
    if response.status not in (302, 303):
        raise SystemExit(f"login as {email} failed: {response.status}")
    return response.getheader("Set-Cookie").split(";", 1)[0]


def worker_rss_mb() -> float:
    """The resident memory of the gunicorn worker(s), the largest, in MB."""
    master = common.LAST_GUNICORN_PID
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmRSS" in fields:
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return max(sizes) if sizes else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=int(os.environ.get("BENCH_REPORTS_RESPONSES", 1_000_000)))
    parser.add_argument("--database", default=BENCH_DATABASE_URL or None, help="a PostgreSQL URL (default: PORTAL_BENCH_DATABASE_URL, else a SQLite file in the temp folder)")
    parser.add_argument("--reuse", action="store_true", help="reuse the database of the last run")
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()

    env = environment(args.database)
    if not args.reuse:
        prepare(env, args.responses, args.database)
    token = api_token(env)
    raw_ms = float(subprocess.run([PYTHON, "-c", RAW_AGGREGATE], env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()[-1])
    api = {"Authorization": f"Bearer {token}"}
    with gunicorn(env, workers=1, threads=1) as base:
        admin, am = session_cookie(base, "admin@demo.example"), session_cookie(base, "am@demo.example")
        as_admin, as_am = {"Cookie": admin}, {"Cookie": am}
        cases = [
            ("GET /healthz", get("/healthz"), 100),
            ("dashboard (admin)", get("/staff/", as_admin), 100),
            ("dashboard (account manager)", get("/staff/", as_am), 100),
            ("default report (admin)", get("/staff/reports", as_admin), 100),
            ("default report (account manager)", get("/staff/reports", as_am), 100),
            ("report, htmx filter: region, month, 1 year", get("/staff/reports?region=Nord&interval=month&" + _year(), {**as_admin, "HX-Request": "true"}), 300),
            ("report: 2 service types, quarter, 2 years", get("/staff/reports?service_type=sip_trunk&service_type=ucaas&interval=quarter&" + _years(2), as_admin), 300),
            ("API nps by week", get("/api/v1/reports/nps?interval=week", api), 300),
            ("API nps by service type and month, 1 year", get("/api/v1/reports/nps?group_by=service_type&interval=month&" + _year(), api), 300),
            ("API csat by account manager", get("/api/v1/reports/csat?group_by=account_manager", api), 300),
            ("API response-rate by account, 1 year", get("/api/v1/reports/response-rate?group_by=account&" + _year(), api), 300),
            ("API distribution, 2 years", get("/api/v1/reports/distribution?" + _years(2), api), 300),
        ]
        results = []
        for name, request, target in cases:
            result = load(name, base, request, concurrency=1, seconds=args.seconds, warmup=1.0)
            results.append((result, target))
        rss = worker_rss_mb()
    database = "PostgreSQL" if args.database else "SQLite"
    print(f"\n{database}, {args.responses} extra answers; one gunicorn worker, one request at a time")
    print(f"raw SQL aggregate (NPS distribution of 90 days over the responses table): {raw_ms:.1f} ms")
    print(f"{'':44} {'p50':>8} {'p95':>8}  target   vs raw SQL  errors")
    for result, target in results:
        p95 = result.percentile(95)
        verdict = "ok" if p95 < target and not result.errors else "MISSED"
        print(f"{result.name:44} {result.percentile(50):6.1f}ms {p95:6.1f}ms  <{target:3d} {verdict:6} {p95 / raw_ms:6.2f}x  {result.errors}")
    print(f"web worker RSS after the run: {rss:.0f} MB (target < 200 MB)")
    figures = {"raw_sql": {"p50_ms": raw_ms}, "worker_rss": {"mb": round(rss, 1)}}
    for result, target in results:
        figures[result.name] = result.figures(target_p95_ms=target)
    record("reports", figures, env, responses=args.responses)


def _year() -> str:
    return _years(1)


def _years(n: int) -> str:
    from datetime import date, timedelta

    today = date.today()
    return urlencode({"from": (today - timedelta(days=365 * n)).isoformat(), "to": (today + timedelta(days=1)).isoformat()})


if __name__ == "__main__":
    main()
