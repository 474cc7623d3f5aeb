"""The survey page and the answer POST under load, against /healthz in the same run.

Targets (issue 19): GET /s/<token> at >= 50% of /healthz throughput and
p99 < 30 ms with 8 concurrent clients on a 2-core machine; the htmx answer
POST with 8 writers at >= 150 req/s and p99 < 100 ms on SQLite (< 60 ms on
PostgreSQL).

    .venv/bin/python bench/survey.py [--responses N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, ROOT, database_name, get, gunicorn, load, record, seeded_environment  # noqa: E402

TOKENS = 400
PAGE_RATIO, PAGE_P99_MS = 0.5, 30
ANSWER_PER_SECOND = 150
ANSWER_P99_MS = {"SQLite": 100, "PostgreSQL": 60}


MAKE_INVITATIONS = """
import json, sys
from sqlalchemy import select
from portal import create_app
from portal.customers.models import Contact
from portal.extensions import db
from portal.surveys import services
from portal.surveys.models import Survey, SurveyKind

app = create_app()
with app.app_context():
    survey = db.session.scalar(select(Survey).where(Survey.kind == SurveyKind.NPS))
    contacts = list(db.session.scalars(select(Contact).order_by(Contact.id).limit(int(sys.argv[1]))))
    tokens = [services.invite(survey, contacts[i % len(contacts)]).token for i in range(int(sys.argv[1]))]
    db.session.commit()
    print(json.dumps({"tokens": tokens, "question": survey.questions[0].id}))
"""


def make_invitations(env: dict[str, str]) -> tuple[list[str], int]:
    """Fresh invitations with known raw tokens (the seed keeps none), made in a
    separate process so the load generator stays as lean as for the baseline."""
    out = subprocess.run([PYTHON, "-c", MAKE_INVITATIONS, str(TOKENS)], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["tokens"], data["question"]


def post_answer(tokens: list[str], question_id: int):
    def request(connection, n: int) -> int:
        body = urlencode({"question": question_id, "answer": str(n % 11)})
        connection.request(
            "POST",
            f"/s/{tokens[n % len(tokens)]}",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"},
        )
        response = connection.getresponse()
        response.read()
        return response.status

    return request


def get_page(tokens: list[str]):
    def request(connection, n: int) -> int:
        connection.request("GET", f"/s/{tokens[n % len(tokens)]}")
        response = connection.getresponse()
        response.read()
        return response.status

    return request


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=0, help="extra seeded responses (e.g. 1000000)")
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    seed_args = ("--responses", str(args.responses)) if args.responses else ()
    with seeded_environment(*seed_args) as env:
        tokens, question_id = make_invitations(env)
        with gunicorn(env) as base:
            baseline = load("GET /healthz", base, get("/healthz"), seconds=args.seconds)
            page = load("GET /s/<token>", base, get_page(tokens), seconds=args.seconds)
            answer = load("POST /s/<token> (htmx answer)", base, post_answer(tokens, question_id), seconds=args.seconds)
        record("survey", {"healthz": baseline.figures(), "survey_page": page.figures(baseline), "answer_post": answer.figures(baseline)}, env)
    database = database_name()
    print(f"8 concurrent clients, gunicorn 2 workers x 4 threads, {database}, {TOKENS} invitations")
    for result in (baseline, page, answer):
        print(result.line(baseline))
    ratio = page.per_second / baseline.per_second if baseline.per_second else 0
    print(f"survey page: {ratio:.0%} of /healthz (target >= {PAGE_RATIO:.0%}), p99 {page.percentile(99):.1f} ms (target < {PAGE_P99_MS} ms)")
    print(
        f"answer POST: {answer.per_second:.0f} req/s (target >= {ANSWER_PER_SECOND}), "
        f"p99 {answer.percentile(99):.1f} ms (target < {ANSWER_P99_MS[database]} ms on {database})"
    )


if __name__ == "__main__":
    main()
