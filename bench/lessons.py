"""A learner's lesson page against /healthz, in the same run.

    .venv/bin/python bench/lessons.py

The lesson page reads the learner from the signed cookie, loads their progress
and the latest quiz attempt, and renders a long lesson (tables, code, a quiz)
from the catalog, which rendered and sanitized the Markdown once at start.
Target: the lesson page at 50 % or more of /healthz's throughput.
"""

from __future__ import annotations

import http.client
import re
import sys
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_name, flask, get, gunicorn, load, record, seeded_environment  # noqa: E402

COURSE = "hosted-pbx-erste-schritte"
LESSON = f"/learn/courses/{COURSE}/lessons/anrufe-verteilen"  # the longest lesson, with [TOC], tables and a quiz
TARGET = 0.5


def learner_cookies(base: str, access_url: str) -> str:
    """Open the access link and identify, as a browser would; returns the Cookie header."""
    parts = urlsplit(base)
    path = urlsplit(access_url).path
    connection = http.client.HTTPConnection(parts.hostname, parts.port)
    connection.request("GET", path, headers={"Accept-Language": "de"})
    response = connection.getresponse()
    html = response.read().decode()
    session = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    body = urlencode({"csrf_token": token, "name": "Bernd Bench", "email": "bench@kunde.example"})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": session, "Accept-Language": "de"}
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 303, f"identifying failed: {response.status}"
    cookies = [c.split(";")[0] for c in response.headers.get_all("Set-Cookie")]
    learner = next(c for c in cookies if c.startswith("portal_learner="))
    session = next((c for c in cookies if c.startswith("portal_session=")), session)
    return f"{learner}; {session}"


def main() -> None:
    with seeded_environment() as env:
        access_url = flask(env, "courses", "link", "--account", "CRM-10001", "--course", COURSE).strip().splitlines()[-1]
        with gunicorn(env) as base:
            cookie = {"Cookie": learner_cookies(base, access_url), "Accept-Language": "de"}
            baseline = load("GET /healthz", base, get("/healthz"))
            lesson = load("GET lesson page (learner)", base, get(LESSON, cookie))
            course = load("GET course page (learner)", base, get(f"/learn/courses/{COURSE}/", cookie))
        record("lessons", {"healthz": baseline.figures(), "lesson_page": lesson.figures(baseline), "course_page": course.figures(baseline)}, env)
    print(f"8 concurrent clients, gunicorn 2 workers x 4 threads, {database_name()}, seeded demo data")
    for result in (baseline, lesson, course):
        print(result.line(baseline))
    ratio = lesson.per_second / baseline.per_second if baseline.per_second else 0.0
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"lesson page / healthz: {ratio:.1%} ({verdict} the target of {TARGET:.0%})")
    if lesson.errors:
        raise SystemExit(f"{lesson.errors} lesson requests failed")


if __name__ == "__main__":
    main()
