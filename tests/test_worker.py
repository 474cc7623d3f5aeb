from portal import worker
from portal.customers.models import Account
from portal.extensions import db


def test_worker_runs_each_job_in_its_own_transaction(app, monkeypatch, runner):
    def good() -> int:
        db.session.add(Account(external_id="W-1", name="Worker GmbH"))
        return 1

    def bad() -> int:
        db.session.add(Account(external_id="W-2", name="Broken GmbH"))
        raise RuntimeError("boom")

    monkeypatch.setattr(worker, "JOBS", [worker.Job("good", good), worker.Job("bad", bad)])
    monkeypatch.setattr(worker, "_import_job_modules", lambda: None)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "good: 1" in result.output and "bad: -1" in result.output
    names = set(db.session.scalars(db.select(Account.name)))
    assert names == {"Worker GmbH"}
