"""Many requests at once over real HTTP: still exactly one of each.

Runs on SQLite by default and on PostgreSQL with PORTAL_TEST_DATABASE_URL.
"""

import http.client
import json
import threading
from urllib.parse import urlencode, urlsplit

from sqlalchemy import func, select

from portal.integrations.models import Event
from portal.integrations.services import sign
from portal.mail.models import OutboxMessage
from portal.surveys.models import Answer, Invitation, Response
from tests.conftest import ticket_closed_event

N = 50


def hammer(base: str, method: str, path: str, body: bytes, headers: dict) -> list[int]:
    host = urlsplit(base)
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(N)

    def one():
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        start.wait()
        connection.request(method, path, body=body, headers=headers)
        status = connection.getresponse().status
        connection.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return statuses


def count(db, model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_50_concurrent_deliveries_of_one_event_make_one_invitation(app, db, live_server, integration, make_survey):
    make_survey("post_ticket")
    body = json.dumps(ticket_closed_event()).encode()
    headers = {"Content-Type": "application/json", "Portal-Key": integration.integration.key_id, "Portal-Signature": sign(integration.signing_secret, body)}
    statuses = hammer(live_server, "POST", "/api/v1/events", body, headers)
    assert statuses == [202] * N
    assert count(db, Event) == 1 and count(db, Invitation) == 1 and count(db, OutboxMessage) == 1


def test_50_concurrent_submissions_of_one_answer_make_one_response(app, db, live_server, make_invitation):
    invitation, token = make_invitation(kind="nps")
    body = urlencode({"question": invitation.survey.questions[0].id, "answer": "9"}).encode()
    statuses = hammer(live_server, "POST", f"/s/{token}", body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert set(statuses) == {303}
    assert count(db, Response) == 1 and count(db, Answer) == 1
    assert db.session.scalar(select(Response)).nps_score == 9
