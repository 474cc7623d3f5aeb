from portal import worker
from portal.customers.models import Account
from portal.extensions import db
from portal.mail import services as mail
from portal.mail.models import OutboxMessage


def _only(monkeypatch, *jobs: worker.Job) -> None:
    monkeypatch.setattr(worker, "JOBS", list(jobs))
    monkeypatch.setattr(worker, "_import_job_modules", lambda: None)


def test_worker_runs_each_job_in_its_own_transaction(app, monkeypatch, runner):
    calls = {"good": 0, "bad": 0}

    def good() -> int:
        calls["good"] += 1
        if calls["good"] > 1:
            return 0
        db.session.add(Account(external_id="W-1", name="Worker GmbH"))
        return 1

    def bad() -> int:
        calls["bad"] += 1
        db.session.add(Account(external_id="W-2", name="Broken GmbH"))
        raise RuntimeError("boom")

    _only(monkeypatch, worker.Job("good", good), worker.Job("bad", bad))
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "good: 1" in result.output and "bad: -1" in result.output
    names = set(db.session.scalars(db.select(Account.name)))
    assert names == {"Worker GmbH"}
    assert calls == {"good": 2, "bad": 1}  # a second pass found nothing; the failing job was not run again


def test_once_works_until_nothing_is_due(db, runner, smtp_server, make_message):
    """What cron runs sends every queued message, not one batch of 50."""
    recorder, _port = smtp_server
    count = mail.BATCH_SIZE * 2 + 7
    for n in range(count):
        make_message(to=f"kunde{n}@customer.example")
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert f"send_mail: {count}" in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")) == 0
    assert len(recorder.messages) == count


def test_max_seconds_starts_no_new_pass_after_the_bound(app, monkeypatch, runner):
    passes = []

    def endless() -> int:
        passes.append(1)
        return 1

    _only(monkeypatch, worker.Job("endless", endless))
    result = runner.invoke(args=["worker", "--once", "--max-seconds", "0"])
    assert result.exit_code == 0, result.output
    assert "endless: 1" in result.output and len(passes) == 1

    ticks = iter(range(100))
    with app.app_context():
        totals = worker.run_until_idle(max_seconds=3, clock=lambda: next(ticks))
    assert totals == {"endless": 3}  # passes started at 1 s and 2 s after the first


def test_max_seconds_must_not_be_negative(runner):
    result = runner.invoke(args=["worker", "--once", "--max-seconds", "-1"])
    assert result.exit_code != 0 and "max-seconds" in result.output
