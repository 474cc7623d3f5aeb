"""Staff accounts list: the full page and the live-search fragment, against /healthz.

Target (issue 19): the full page at >= 40 % of /healthz's throughput.

    .venv/bin/python bench/accounts.py
"""

from __future__ import annotations

import http.client
import re
import sys
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_name, get, gunicorn, load, record, seeded_environment  # noqa: E402

from portal.demo import DEMO_PASSWORD  # noqa: E402


def login_cookie(base: str) -> str:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port)
    connection.request("GET", "/login")
    response = connection.getresponse()
    html = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    body = urlencode({"email": "manager@demo.example", "password": DEMO_PASSWORD, "csrf_token": token})
    connection.request("POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = connection.getresponse()
    response.read()
    assert response.status == 303, f"login failed: {response.status}"
    return response.getheader("Set-Cookie").split(";")[0]


def main() -> None:
    with seeded_environment() as env, gunicorn(env) as base:
        cookie = {"Cookie": login_cookie(base)}
        baseline = load("GET /healthz", base, get("/healthz"))
        page = load("GET /staff/accounts/ (page)", base, get("/staff/accounts/", cookie))
        fragment = load("GET /staff/accounts/?q=gmbh (htmx)", base, get("/staff/accounts/?q=gmbh", {**cookie, "HX-Request": "true"}))
        record("accounts", {"healthz": baseline.figures(), "accounts_page": page.figures(baseline), "accounts_search": fragment.figures(baseline)}, env)
        print(f"8 concurrent clients, gunicorn 2 workers x 4 threads, {database_name()}, 200 seeded accounts")
        for result in (baseline, page, fragment):
            print(result.line(baseline))
        ratio = page.per_second / baseline.per_second if baseline.per_second else 0.0
        print(f"accounts page / healthz: {ratio:.1%} (target >= 40%)")


if __name__ == "__main__":
    main()
