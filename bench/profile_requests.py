"""Where the time of a request goes: SQL, templates and the rest (Python).

In-process, through Flask's test client (no network, no gunicorn), on the
same seeded data as the benchmarks (``demo seed``: two years of tickets,
surveys and answers; PORTAL_BENCH_DATABASE_URL for PostgreSQL). For each
request it prints the mean wall time per request (and its median and p95)
split into

- SQL: statements per request and their time (cursor execute plus COMMIT),
  with the slowest statements of the run;
- templates: Jinja rendering (pages, htmx blocks, emails), context processors
  included, SQL issued while rendering (lazy loads) excluded;
- the rest: Python in views, services, forms, Flask and Werkzeug;

plus the response size. With ``--cprofile`` it adds the functions with the
most own time. Figures do not depend much on load (statement counts, bytes,
shares); absolute times do.

    .venv/bin/python bench/profile_requests.py                       # every request below
    .venv/bin/python bench/profile_requests.py survey answer         # some of them
    .venv/bin/python bench/profile_requests.py --cprofile weekly     # and where Python spends its time
    .venv/bin/python bench/profile_requests.py --list
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import io
import os
import pstats
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_name, seeded_environment  # noqa: E402

PASSWORD = "demo-portal-2026"


def two_years() -> str:
    today = date.today()
    return urlencode({"from": (today - timedelta(days=730)).isoformat(), "to": (today + timedelta(days=1)).isoformat()})


#: name → (description, who, method, path or a callable of the fixtures, iterations)
REQUESTS = {
    "healthz": ("GET /healthz (baseline)", None, "GET", "/healthz", 200),
    "survey": ("GET /s/<token> (survey page)", None, "GET", "survey", 60),
    "answer": ("POST /s/<token> (htmx answer)", None, "POST", "answer", 60),
    "accounts": ("GET /staff/accounts/ (manager)", "manager@demo.example", "GET", "/staff/accounts/", 20),
    "weekly": ("GET /staff/reports weekly, 2 years (admin)", "admin@demo.example", "GET", "/staff/reports?interval=week&{years}", 6),
    "report2y": ("GET /staff/reports default interval, 2 years (admin)", "admin@demo.example", "GET", "/staff/reports?{years}", 6),
    "insights": ("GET /staff/reports/insights, 2 years (admin)", "admin@demo.example", "GET", "/staff/reports/insights?{years}", 6),
    "csv": ("GET /staff/reports/responses.csv, 2 years (admin)", "admin@demo.example", "GET", "/staff/reports/responses.csv?{years}", 4),
}


@dataclass
class Sample:
    total: float = 0.0
    sql: float = 0.0
    sql_count: int = 0
    template: float = 0.0  # excluding SQL inside templates
    bytes: int = 0
    status: int = 0


@dataclass
class Probe:
    """Counts SQL and template time for the request in progress."""

    sample: Sample = field(default_factory=Sample)
    statements: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    depth: int = 0  # nested template renders count once
    template_started: float = 0.0
    sql_in_template: float = 0.0
    _started: list[float] = field(default_factory=list)

    def before_sql(self, *_args) -> None:
        self._started.append(time.perf_counter())

    def after_sql(self, _conn, _cursor, statement, *_args) -> None:
        self._add_sql(statement, time.perf_counter() - self._started.pop())

    def _add_sql(self, statement: str, seconds: float) -> None:
        self.sample.sql += seconds
        self.sample.sql_count += 1
        if self.depth:
            self.sql_in_template += seconds
        self.statements[normalise(statement)].append(seconds)

    def timed_commit(self, do_commit):
        def commit(dbapi_connection):
            started = time.perf_counter()
            try:
                return do_commit(dbapi_connection)
            finally:
                self._add_sql("COMMIT", time.perf_counter() - started)

        return commit

    def timed_render(self, render):
        def timed(*args, **kwargs):
            if self.depth:
                return render(*args, **kwargs)
            self.depth = 1
            self.sql_in_template = 0.0
            started = time.perf_counter()
            try:
                return render(*args, **kwargs)
            finally:
                self.depth = 0
                self.sample.template += time.perf_counter() - started - self.sql_in_template

        timed.__wrapped__ = render
        return timed


def normalise(statement: str) -> str:
    text = " ".join(statement.split())
    text = re.sub(r"\((?:\?|%\([^)]*\)s)(?:, (?:\?|%\([^)]*\)s))+\)", "(…)", text)
    return text


def install(app, probe: Probe) -> None:
    """SQL events on the engine, a timed COMMIT, and timed rendering wherever portal renders."""
    from flask import templating
    from jinja2_fragments import flask as fragments
    from sqlalchemy import event

    from portal.extensions import db

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", probe.before_sql)
    event.listen(engine, "after_cursor_execute", probe.after_sql)
    engine.dialect.do_commit = probe.timed_commit(engine.dialect.do_commit)
    originals = [templating.render_template, templating.render_template_string, fragments.render_block, fragments.render_blocks]
    for module in list(sys.modules.values()):
        if module is None or not getattr(module, "__name__", "").startswith(("portal", "flask.templating", "jinja2_fragments")):
            continue
        for name, value in list(vars(module).items()):
            if inspect.isfunction(value) and any(value is original for original in originals):
                setattr(module, name, probe.timed_render(value))


def login(client, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    if response.status_code not in (302, 303):
        raise SystemExit(f"login as {email} failed: {response.status_code}")


def invitations(app, count: int) -> tuple[list[str], int]:
    from sqlalchemy import select

    from portal.customers.models import Contact
    from portal.extensions import db, write_intent
    from portal.surveys import services
    from portal.surveys.models import Survey, SurveyKind

    with app.app_context():
        write_intent.set(True)
        survey = db.session.scalar(select(Survey).where(Survey.kind == SurveyKind.NPS))
        contacts = list(db.session.scalars(select(Contact).order_by(Contact.id).limit(count)))
        tokens = [services.invite(survey, contacts[i % len(contacts)]).token for i in range(count)]
        question = survey.questions[0].id
        db.session.commit()
        write_intent.set(False)
    return tokens, question


def measure(app, probe: Probe, key: str, tokens: dict[str, list[str]], question: int, clients: dict, use_cprofile: bool) -> str:
    description, who, method, target, iterations = REQUESTS[key]
    client = clients[who]
    years = two_years()

    def request(n: int):
        if target == "survey":
            return client.get(f"/s/{tokens['survey'].pop()}")
        if target == "answer":
            return client.post(f"/s/{tokens['answer'].pop()}", data={"question": question, "answer": str(n % 11)}, headers={"HX-Request": "true"})
        return client.open(target.format(years=years), method=method)

    probe.sample = Sample()  # warm-up and profiled requests count nowhere
    for n in range(2):  # warm up: first-use caches, compiled statements
        request(n)
    samples: list[Sample] = []
    probe.statements.clear()
    for n in range(iterations):
        probe.sample = Sample()
        started = time.perf_counter()
        response = request(n)
        body = response.get_data()
        probe.sample.total = time.perf_counter() - started
        probe.sample.bytes = len(body)
        probe.sample.status = response.status_code
        samples.append(probe.sample)
    probe.sample = Sample()
    profile_text = ""
    if use_cprofile:
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(max(3, iterations // 4)):
            request(n)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"/portal/", 10)
        root = str(Path(__file__).resolve().parent.parent) + "/"
        portal_lines = [line.replace(root, "") for line in out.getvalue().splitlines() if re.match(r"\s+\d+\S*\s+\d", line)]
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(10)
        own_lines = [line for line in out.getvalue().splitlines() if re.match(r"\s+\d+\S*\s+\d", line)]
        profile_text = "\n".join(
            ["   cProfile, portal functions by cumulative time (ncalls tottime percall cumtime percall function):"]
            + ["      " + line for line in portal_lines]
            + ["   cProfile, any function by own time:"]
            + ["      " + line for line in own_lines]
        )
    return report(description, iterations, samples, probe.statements, profile_text)


def report(description: str, iterations: int, samples: list[Sample], statements: dict[str, list[float]], profile_text: str) -> str:
    def mean(values):
        return statistics.fmean(values) * 1000

    totals = sorted(s.total for s in samples)
    median = statistics.median(totals) * 1000
    p95 = totals[min(len(totals) - 1, int(round(0.95 * (len(totals) - 1))))] * 1000
    total = mean([s.total for s in samples])
    sql = mean([s.sql for s in samples])
    template = mean([s.template for s in samples])
    rest = total - sql - template
    count = statistics.fmean([s.sql_count for s in samples])
    size = statistics.median([s.bytes for s in samples])
    statuses = sorted({s.status for s in samples})

    def share(ms):
        return f"{ms / total:5.1%}" if total else "  -  "

    lines = [
        f"== {description}: {iterations} requests, status {','.join(map(str, statuses))}",
        f"   total      {total:8.2f} ms mean     median {median:.2f} ms, p95 {p95:.2f} ms   response {size / 1024:.1f} kB ({int(size)} bytes)",
        f"   SQL        {sql:8.2f} ms  {share(sql)}   {count:.1f} statements per request",
        f"   templates  {template:8.2f} ms  {share(template)}   (rendering and context processors, without SQL issued while rendering)",
        f"   rest       {rest:8.2f} ms  {share(rest)}   (Python: views, services, forms, Flask)",
    ]
    ranked = sorted(statements.items(), key=lambda item: sum(item[1]), reverse=True)
    if ranked:
        lines.append("   slowest statements (whole run: count, total ms, max ms):")
        for text, times in ranked[:6]:
            lines.append(f"     {len(times):5d} {sum(times) * 1000:8.1f} {max(times) * 1000:7.2f}  {text[:150]}")
    if profile_text:
        lines.append(profile_text)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("requests", nargs="*", help=f"which requests (default: all): {', '.join(REQUESTS)}")
    parser.add_argument("--cprofile", action="store_true", help="add the functions with the most own time (a separate, profiled pass)")
    parser.add_argument("--list", action="store_true", help="list the requests and exit")
    args = parser.parse_args()
    if args.list:
        for key, (description, *_rest) in REQUESTS.items():
            print(f"{key:10} {description}")
        return
    chosen = args.requests or list(REQUESTS)
    unknown = [key for key in chosen if key not in REQUESTS]
    if unknown:
        raise SystemExit(f"unknown request(s): {', '.join(unknown)}; choose from {', '.join(REQUESTS)}")
    if "healthz" not in chosen:
        chosen.insert(0, "healthz")

    with seeded_environment() as env:
        os.environ.update(env)
        from portal import create_app

        app = create_app()
        probe = Probe()
        install(app, probe)
        needed = sum(REQUESTS[k][4] + 2 + (max(3, REQUESTS[k][4] // 4) if args.cprofile else 0) for k in ("survey", "answer") if k in chosen)
        raw, question = invitations(app, max(needed, 1))
        if "survey" in chosen and "answer" in chosen:
            half = REQUESTS["survey"][4] + 2 + (max(3, REQUESTS["survey"][4] // 4) if args.cprofile else 0)
            tokens = {"survey": raw[:half], "answer": raw[half:]}
        else:
            tokens = {"survey": list(raw), "answer": list(raw)}
        clients = {None: app.test_client()}
        for key in chosen:
            who = REQUESTS[key][1]
            if who and who not in clients:
                clients[who] = app.test_client()
                login(clients[who], who)
        print(f"In-process (Flask test client), {database_name()}, demo seed (two years of history); means per request (the parts add up to the mean)")
        for key in chosen:
            print(measure(app, probe, key, tokens, question, clients, args.cprofile))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
