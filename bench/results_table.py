"""Write bench/RESULTS.md from the figures the benchmarks left in bench/results/.

Each benchmark writes bench/results/<bench>-sqlite.json or -postgresql.json
(see ``common.record``); this script puts the latest of each side by side,
with the commit and the machine they were measured on, and a ✔ or ✘ for
every figure that has a target. `make bench` runs it at the end.

    .venv/bin/python bench/results_table.py [--note "quiet machine, final run"] [--output bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, ROOT  # noqa: E402

DATABASES = ("SQLite", "PostgreSQL")


@dataclass(frozen=True)
class Row:
    figure: str
    target: str
    bench: str
    #: (figures of the bench, database) → (text, met: True/False/None when no target)
    show: Callable[[dict, str], tuple[str, bool | None]]


def get(figures: dict, name: str, key: str):
    value = figures.get(name, {}).get(key)
    if value is None:
        raise KeyError(f"{name}.{key}")
    return value


def throughput_ratio(name: str, at_least: float, p99_below: float | None = None) -> Callable:
    def show(figures: dict, _database: str):
        ratio, p99 = get(figures, name, "ratio"), get(figures, name, "p99_ms")
        met = ratio >= at_least and (p99_below is None or p99 < p99_below)
        return f"{ratio:.0%} (p99 {p99:.0f} ms, {get(figures, name, 'req_s'):.0f} req/s)", met

    return show


def answer(figures: dict, database: str):
    per_second, p50, p99 = get(figures, "answer_post", "req_s"), get(figures, "answer_post", "p50_ms"), get(figures, "answer_post", "p99_ms")
    met = per_second >= 150 and p99 < (100 if database == "SQLite" else 60)
    return f"{per_second:.0f} req/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms", met


def outbox(figures: dict, _database: str):
    ratio = get(figures, "outbox_worker", "ratio")
    return f"{ratio:.0%} ({get(figures, 'outbox_worker', 'msg_s'):.0f} vs {get(figures, 'raw_smtplib', 'msg_s'):.0f} msg/s)", ratio >= 0.7


def long_report(name: str, targeted: bool = True) -> Callable:
    def show(figures: dict, _database: str):
        p50, p95, size = get(figures, name, "p50_ms"), get(figures, name, "p95_ms"), get(figures, name, "bytes")
        met = (p95 < 150 and size < 100_000 and not get(figures, name, "errors")) if targeted else None
        return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, {size / 1000:.0f} kB", met

    return show


def report_p95(name: str) -> Callable:
    def show(figures: dict, _database: str):
        p95, target = get(figures, name, "p95_ms"), get(figures, name, "target_p95_ms")
        return f"p95 {p95:.0f} ms", p95 < target and not get(figures, name, "errors")

    return show


ROWS = [
    Row("GET /s/<token> vs /healthz", "≥ 50 %, p99 < 30 ms", "survey", throughput_ratio("survey_page", 0.5, 30)),
    Row("htmx answer POST, 8 writers", "≥ 150 req/s; p99 < 100 ms (SQLite), < 60 ms (PostgreSQL)", "survey", answer),
    Row("GET /staff/accounts/ vs /healthz", "≥ 40 %", "accounts", throughput_ratio("accounts_page", 0.4)),
    Row("accounts live search (htmx) vs /healthz", "—", "accounts", lambda f, d: (throughput_ratio("accounts_search", 0)(f, d)[0], None)),
    Row("lesson page vs /healthz", "≥ 50 %", "lessons", throughput_ratio("lesson_page", 0.5)),
    Row("outbox vs raw smtplib", "≥ 70 %", "outbox", outbox),
    Row("weekly report, 2 years", "p95 < 150 ms, < 100 kB", "long_reports", long_report("weekly_report")),
    Row("insights, 2 years", "p95 < 150 ms, < 100 kB", "long_reports", long_report("insights")),
    Row("report, default interval, 2 years", "—", "long_reports", long_report("report_default", targeted=False)),
    Row("responses.csv, 2 years", "—", "long_reports", long_report("responses_csv", targeted=False)),
]
#: bench/reports.py's cases and their p95 targets (issue 10), at a million extra answers by default.
REPORT_CASES = [
    ("dashboard (admin)", 100),
    ("dashboard (account manager)", 100),
    ("default report (admin)", 100),
    ("default report (account manager)", 100),
    ("report, htmx filter: region, month, 1 year", 300),
    ("report: 2 service types, quarter, 2 years", 300),
    ("API nps by week", 300),
    ("API nps by service type and month, 1 year", 300),
    ("API csat by account manager", 300),
    ("API response-rate by account, 1 year", 300),
    ("API distribution, 2 years", 300),
]
ROWS += [Row(f"reports: {name}", f"p95 < {target} ms", "reports", report_p95(name)) for name, target in REPORT_CASES]


def load_results() -> dict[tuple[str, str], dict]:
    found = {}
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        found[(data["bench"], data["database"])] = data
    return found


def cell(results: dict, row: Row, database: str) -> str:
    data = results.get((row.bench, database))
    if data is None:
        return "not run"
    try:
        text, met = row.show(data["figures"], database)
    except KeyError:
        return "not measured"
    return text if met is None else f"{text} {'✔' if met else '✘'}"


def table(results: dict, note: str) -> str:
    runs = [data for data in results.values()]
    lines = ["# Benchmark results", "", "Written by `bench/results_table.py` from `bench/results/*.json` (the last `make bench`)."]
    lines.append("Run `make bench` (SQLite), then `PORTAL_BENCH_DATABASE_URL=postgresql://... make bench`, and commit this file.")
    lines.append("")
    if note:
        lines += [f"**{note}**", ""]
    for database in DATABASES:
        ran = [data for data in runs if data["database"] == database]
        if not ran:
            lines.append(f"- {database}: not run")
            continue
        commits = sorted({data.get("commit", "?") for data in ran})
        versions = sorted({data["database_version"] for data in ran if data.get("database_version")})
        machines = sorted({_machine(data.get("machine")) for data in ran})
        when = max(data["finished_at"] for data in ran)
        reports = [f"{data['responses']:,}" for data in ran if data["bench"] == "reports" and data.get("responses") is not None]
        extra = f"; reports at {reports[0]} extra answers" if reports else ""
        lines.append(f"- {database}: commit {', '.join(commits)}; {', '.join(versions) or database}; {'; '.join(machines)}; finished {when}{extra}")
    lines += ["", "| figure | target | SQLite | PostgreSQL |", "|---|---|---|---|"]
    for row in ROWS:
        lines.append(f"| {row.figure} | {row.target} | {cell(results, row, 'SQLite')} | {cell(results, row, 'PostgreSQL')} |")
    lines += [
        "",
        "Ratios are throughput against /healthz measured in the same run, 8 concurrent clients, gunicorn 2 workers × 4 threads;",
        "long reports and reports: one gunicorn worker, one request at a time, as the admin, over the demo seed's two years",
        "(reports: `bench/reports.py` with the extra answers above). ✔ meets the target, ✘ misses it.",
        "",
    ]
    return "\n".join(lines)


def _machine(machine: dict | None) -> str:
    if not machine:
        return "machine unknown"
    return f"{machine['cores']} cores, {machine['cpu']}, Python {machine['python']}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--note", default="", help="a line under the title (e.g. 'noisy, development run')")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    results = load_results()
    if not results:
        raise SystemExit(f"no results in {RESULTS}: run `make bench` first")
    text = table(results, args.note)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
