"""CSV exports at the same moment, over real HTTP: none fails and every one
is in the export log.

An export reads, then logs itself. On SQLite the read is a plain BEGIN; a
write in that transaction after another writer committed gets "database is
locked" at once (the snapshot is stale, no busy timeout helps). The log is
therefore written in a transaction of its own that queues like every other
writer (``portal.web.transaction.begin_writing``).
"""

import http.client
import threading
from urllib.parse import urlsplit

from sqlalchemy import func, select

from portal.auth.models import Role
from portal.reports.models import ExportLog
from tests.test_reports_engine import counted_history

N = 8
PATHS = ("/staff/reports/export.csv?view=series", "/staff/reports/responses.csv", "/staff/reports/export.csv?view=segments", "/staff/reports/insights/ticket_category.csv")


def test_concurrent_exports_all_succeed_and_are_all_logged(app, db, live_server, login_as):
    counted_history(5, answers=60)
    client = login_as(Role.MANAGER)
    cookie = "; ".join(f"{c.key}={c.value}" for c in [client.get_cookie(app.config["SESSION_COOKIE_NAME"])])
    host = urlsplit(live_server)
    start = threading.Barrier(N)
    statuses: list[int] = []
    lock = threading.Lock()

    def export(path: str) -> None:
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        start.wait()
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        response.read()
        connection.close()
        with lock:
            statuses.append(response.status)

    for _round in range(3):
        statuses.clear()
        threads = [threading.Thread(target=export, args=(PATHS[n % len(PATHS)],)) for n in range(N)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert statuses == [200] * N
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ExportLog)) == 3 * N
