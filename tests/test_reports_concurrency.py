"""Many answers in one report cell at once, over real HTTP: none is lost.

Each answer recounts its cell under the cell's lock before it commits; on
PostgreSQL (PORTAL_TEST_DATABASE_URL) the answers really run in parallel.
"""

import http.client
import threading
from urllib.parse import urlencode, urlsplit

from sqlalchemy import func, select

from portal.reports import rollup
from portal.reports import services as reports
from portal.reports.query import ReportQuery
from portal.surveys.models import Response
from portal.web.transaction import unit_of_work
from tests.test_reports_engine import cells_snapshot, chunks_snapshot

N = 30


def test_30_concurrent_answers_in_one_cell_are_all_counted(app, db, live_server, make_invitation, make_contact, make_account, make_survey):
    account = make_account(external_id="CRM-BUSY")
    survey = make_survey("nps")
    invitations = [make_invitation(survey=survey, contact=make_contact(account=account)) for _ in range(N)]
    question_id = survey.questions[0].id
    tokens = [token for _invitation, token in invitations]
    host = urlsplit(live_server)
    start = threading.Barrier(N)
    statuses: list[int] = []
    lock = threading.Lock()

    def answer(token: str, score: int) -> None:
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        body = urlencode({"question": question_id, "answer": str(score)})
        start.wait()
        connection.request("POST", f"/s/{token}", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        status = connection.getresponse().status
        connection.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=answer, args=(token, n % 11)) for n, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [303] * N

    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Response)) == N
    total = reports.report("nps", ReportQuery.last_days(accounts=("CRM-BUSY",)))["total"]
    assert total["responses"] == N
    counted = cells_snapshot(), chunks_snapshot()
    with unit_of_work():
        rollup.rebuild()
    assert (cells_snapshot(), chunks_snapshot()) == counted
