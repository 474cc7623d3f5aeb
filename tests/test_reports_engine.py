"""The report figures: the cells follow every answer, and a report read from
the cells equals the same figures computed from the raw answers.

The independent computation in this file works on plain tuples of the
answers and invitations, with its own period keys (strftime) and grouping.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select
from werkzeug.datastructures import MultiDict

from portal.customers.models import Account, AccountService, Contact, Ticket
from portal.extensions import db as _db
from portal.reports import rollup
from portal.reports import services as reports
from portal.reports.models import COUNT_COLUMNS, ReportCell, ReportChunk
from portal.reports.query import ParameterError, ReportQuery
from portal.signals import message_sent
from portal.surveys.models import Invitation, Response
from portal.web.transaction import unit_of_work

TODAY = date(2026, 11, 20)
REGIONS = ("Nord", "Süd", None)
SERVICES = ("sip_trunk", "hosted_pbx", "ucaas", "connectivity")
CATEGORIES = ("technical", "billing", None)


def auth(integration) -> dict:
    return {"Authorization": f"Bearer {integration.api_token}"}


def cells_snapshot() -> dict:
    rows = _db.session.execute(select(ReportCell)).scalars().all()
    return {(c.day, c.account_id, c.survey_kind, c.ticket_category): tuple(getattr(c, k) for k in COUNT_COLUMNS) for c in rows if any(getattr(c, k) for k in COUNT_COLUMNS)}


def chunks_snapshot() -> dict:
    rows = _db.session.execute(select(ReportChunk)).scalars().all()
    return {(c.start, c.account_id, c.survey_kind, c.ticket_category): tuple(getattr(c, k) for k in COUNT_COLUMNS) for c in rows if any(getattr(c, k) for k in COUNT_COLUMNS)}


# --- the cells follow the answers ---------------------------------------------------------------


def test_an_answer_on_the_survey_page_counts_at_once(client, db, make_invitation, make_contact, make_account, integration):
    account = make_account(external_id="CRM-CELLS")
    invitation, token = make_invitation(kind="nps", contact=make_contact(account=account))
    with unit_of_work():
        message_sent.send(None, message_ids=[invitation.outbox_message_id], sent_at=datetime.utcnow())
    rate = client.get("/api/v1/reports/response-rate?account=CRM-CELLS", headers=auth(integration)).json
    assert rate["total"] == {"sent": 1, "answered": 0, "rate": 0.0}

    question = invitation.survey.questions[0]
    assert client.post(f"/s/{token}", data={"question": question.id, "answer": "3"}).status_code in (200, 303)
    nps = client.get("/api/v1/reports/nps?account=CRM-CELLS", headers=auth(integration)).json
    assert nps["total"]["responses"] == 1 and nps["total"]["detractors"] == 1 and nps["total"]["nps"] == -100.0
    rate = client.get("/api/v1/reports/response-rate?account=CRM-CELLS", headers=auth(integration)).json
    assert rate["total"] == {"sent": 1, "answered": 1, "rate": 100.0}

    # Changing the answer moves the count; it is never counted twice.
    client.post(f"/s/{token}", data={"question": question.id, "answer": "10"})
    nps = client.get("/api/v1/reports/nps?account=CRM-CELLS", headers=auth(integration)).json
    assert (nps["total"]["responses"], nps["total"]["promoters"], nps["total"]["detractors"]) == (1, 1, 0)

    incremental = cells_snapshot(), chunks_snapshot()
    with unit_of_work():
        rollup.rebuild()
    assert (cells_snapshot(), chunks_snapshot()) == incremental


def test_a_rolled_back_answer_leaves_no_count(app, db, make_invitation):
    invitation, _token = make_invitation(kind="nps")
    with pytest.raises(RuntimeError), unit_of_work():
        response = Response(invitation_id=invitation.id, survey_id=invitation.survey_id, account_id=invitation.account_id, contact_id=invitation.contact_id, nps_score=1)
        _db.session.add(response)
        _db.session.flush()
        rollup.mark_response(response)
        raise RuntimeError("the request failed")
    with unit_of_work():
        pass  # a later commit must not recount a cell of the failed transaction
    assert cells_snapshot() == {}


def test_rebuild_since_keeps_older_cells(db, app):
    data = seed_history(random.Random(3), answers=120)
    with unit_of_work():
        rollup.rebuild()
    before = cells_snapshot(), chunks_snapshot()
    with unit_of_work():
        rollup.rebuild(since=TODAY - timedelta(days=40))
    assert (cells_snapshot(), chunks_snapshot()) == before
    assert sum(v[COUNT_COLUMNS.index("answers")] for v in before[0].values()) == len(data["answers"])


# --- chunks -------------------------------------------------------------------------------------


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
def test_a_chunk_lies_in_one_week_one_month_and_holds_its_day(day):
    start, end = rollup.chunk_of(day)
    assert start <= day < end <= start + timedelta(days=7)
    last = end - timedelta(days=1)
    assert start.isocalendar()[:2] == last.isocalendar()[:2] and (start.year, start.month) == (last.year, last.month)
    assert rollup.is_chunk_start(end)


# --- the figures equal an independent computation over the raw answers ----------------------------


def seed_history(rng: random.Random, answers: int = 400) -> dict:
    """Accounts with regions, managers and services; answers and invitations over 200 days."""
    from portal.auth.models import Role, StaffUser

    managers = []
    for i in range(2):
        user = StaffUser(email=f"am{i}@operator.example", name=f"AM {i}", password_hash="x", role=Role.ACCOUNT_MANAGER)
        _db.session.add(user)
        managers.append(user)
    _db.session.flush()
    from portal.surveys import defaults

    surveys = {kind: builder() for kind, builder in (("nps", defaults.nps_survey), ("post_ticket", defaults.post_ticket_survey))}
    _db.session.add_all(surveys.values())
    accounts, contacts = [], []
    for i in range(6):
        account = Account(external_id=f"ACC-{i}", name=f"Kunde {i}", region=REGIONS[i % 3], account_manager_id=managers[i % 2].id if i < 5 else None)
        account.services = [AccountService(service_type=s) for s in rng.sample(SERVICES, rng.randint(0, 2))]
        _db.session.add(account)
        _db.session.flush()
        accounts.append(account)
        for j in range(2):
            contact = Contact(account_id=account.id, email=f"c{i}-{j}@kunde.example", name=f"C {i}-{j}")
            _db.session.add(contact)
            contacts.append(contact)
    _db.session.flush()
    rows, invitations = [], []
    for n in range(answers):
        contact = rng.choice(contacts)
        kind = rng.choice(("nps", "post_ticket"))
        category = rng.choice(CATEGORIES) if kind == "post_ticket" else None
        ticket_id = None
        if category:
            ticket = Ticket(external_id=f"T-{n}", account_id=contact.account_id, subject="x", category=category, opened_at=datetime(2026, 1, 1))
            _db.session.add(ticket)
            _db.session.flush()
            ticket_id = ticket.id
        sent = datetime.combine(TODAY, datetime.min.time()) - timedelta(minutes=rng.randrange(200 * 24 * 60))
        answered = sent + timedelta(minutes=rng.randrange(3 * 24 * 60)) if rng.random() < 0.7 else None
        invitation = Invitation(
            survey_id=surveys[kind].id, contact_id=contact.id, account_id=contact.account_id, ticket_id=ticket_id,
            token_hash=f"{n:064d}", unsubscribe_token_hash=f"u{n:063d}", language="de", status="sent",
            created_at=sent, sent_at=sent, expires_at=sent + timedelta(days=14), answered_at=answered,
        )  # fmt: skip
        _db.session.add(invitation)
        _db.session.flush()
        invitations.append((sent, contact.account_id, kind, category or "", answered is not None))
        if answered:
            nps = rng.randint(0, 10) if rng.random() < 0.9 else None
            csat = rng.randint(1, 5) if kind == "post_ticket" and rng.random() < 0.8 else None
            comment = rng.choice((None, "", "gut", "schlecht"))
            _db.session.add(
                Response(invitation_id=invitation.id, survey_id=surveys[kind].id, account_id=contact.account_id, contact_id=contact.id,
                         ticket_id=ticket_id, nps_score=nps, csat_score=csat, comment=comment, created_at=answered)
            )  # fmt: skip
            rows.append((answered, contact.account_id, kind, category or "", nps, csat))
    _db.session.commit()
    directory = {
        a.id: {"region": a.region, "manager": a.account_manager.email if a.account_manager else None, "services": sorted(a.service_types), "external_id": a.external_id}
        for a in accounts
    }
    return History({"answers": rows, "invitations": invitations, "accounts": directory})


class History(dict):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"<History {len(self['answers'])} answers>"


def expected_report(data: dict, metric: str, query: ReportQuery) -> dict:
    """The same report, computed from the raw rows without the cells."""
    accounts = data["accounts"]

    def admitted(account_id, kind, category) -> bool:
        info = accounts[account_id]
        return (
            (not query.regions or info["region"] in query.regions)
            and (not query.service_types or set(info["services"]) & set(query.service_types))
            and (not query.account_managers or info["manager"] in query.account_managers)
            and (not query.accounts or info["external_id"] in query.accounts)
            and (not query.survey_kinds or kind in query.survey_kinds)
            and (not query.ticket_categories or category in query.ticket_categories)
        )

    def period(moment: datetime) -> str | None:
        if query.interval == "week":
            return moment.strftime("%G-W%V")
        if query.interval == "month":
            return moment.strftime("%Y-%m")
        if query.interval == "quarter":
            return f"{moment.year}-Q{(moment.month + 2) // 3}"
        return None

    def groups(account_id, kind, category) -> list:
        info = accounts[account_id]
        return {
            None: [None],
            "region": [info["region"]],
            "account_manager": [info["manager"]],
            "account": [info["external_id"]],
            "service_type": info["services"],
            "survey_kind": [kind],
            "ticket_category": [category or None],
        }[query.group_by]

    def inside(moment: datetime) -> bool:
        return query.start <= moment.date() < query.end

    buckets: dict = defaultdict(list)
    total: list = []
    if metric == "response-rate":
        for sent, account_id, kind, category, answered in data["invitations"]:
            if inside(sent) and admitted(account_id, kind, category):
                total.append(answered)
                for group in groups(account_id, kind, category):
                    buckets[(period(sent), group)].append(answered)
    else:
        for moment, account_id, kind, category, nps, csat in data["answers"]:
            score = csat if metric == "csat" or (metric == "distribution" and query.scale == "csat") else nps
            if inside(moment) and admitted(account_id, kind, category) and score is not None:
                total.append(score)
                for group in groups(account_id, kind, category):
                    buckets[(period(moment), group)].append(score)

    def figures(values: list) -> dict:
        n = len(values)
        if metric == "response-rate":
            answered = sum(values)
            return {"sent": n, "answered": answered, "rate": round(100 * answered / n, 1) if n else None}
        if metric == "distribution":
            counts = Counter(values)
            scale = range(0, 11) if query.scale == "nps" else range(1, 6)
            return {"responses": n, "counts": {str(s): counts.get(s, 0) for s in scale}}
        if metric == "csat":
            satisfied = sum(1 for v in values if v >= 4)
            return {"responses": n, "satisfied": satisfied, "csat": round(100 * satisfied / n, 1) if n else None, "mean": round(sum(values) / n, 2) if n else None}
        promoters, detractors = sum(1 for v in values if v >= 9), sum(1 for v in values if v <= 6)
        return {"responses": n, "promoters": promoters, "passives": n - promoters - detractors, "detractors": detractors, "nps": round(100 * (promoters - detractors) / n, 1) if n else None}

    rows = {key: figures(values) for key, values in buckets.items() if values}
    return {"rows": rows, "total": figures(total)}


def compare(actual: dict, expected: dict, metric: str) -> None:
    keep = {"nps": ("responses", "promoters", "passives", "detractors", "nps")}.get(metric)

    def trim(figures: dict) -> dict:
        return {k: v for k, v in figures.items() if keep is None or k in keep}

    got = {(row["period"], row["group"]): trim({k: v for k, v in row.items() if k not in ("period", "group")}) for row in actual["rows"]}
    got = {key: value for key, value in got.items() if value.get("responses", value.get("sent"))}
    assert got == {key: trim(value) for key, value in expected["rows"].items()}
    assert trim(actual["total"]) == trim(expected["total"])


def counted_history(seed: int, answers: int = 400) -> dict:
    """:func:`seed_history` with its figure cells counted, as the reports read them."""
    data = seed_history(random.Random(seed), answers=answers)
    with unit_of_work():
        rollup.rebuild()
    return data


@pytest.fixture
def history(app, db):
    return counted_history(11)


query_strategy = st.fixed_dictionaries(
    {
        "from": st.integers(0, 210),
        "days": st.integers(1, 220),
        "interval": st.sampled_from([None, "week", "month", "quarter"]),
        "group_by": st.sampled_from([None, "region", "service_type", "account_manager", "ticket_category", "survey_kind", "account"]),
        "region": st.lists(st.sampled_from(["Nord", "Süd", "Ost"]), max_size=2),
        "service_type": st.lists(st.sampled_from(SERVICES), max_size=2),
        "account_manager": st.lists(st.sampled_from(["am0@operator.example", "am1@operator.example"]), max_size=1),
        "ticket_category": st.lists(st.sampled_from(["technical", "billing", ""]), max_size=2),
        "survey_kind": st.lists(st.sampled_from(["nps", "post_ticket"]), max_size=1),
        "scale": st.sampled_from(["nps", "csat"]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=query_strategy, metric=st.sampled_from(["nps", "csat", "response-rate", "distribution"]))
def test_reports_equal_a_computation_from_the_raw_answers(history, params, metric):
    start = TODAY - timedelta(days=params["from"])
    args = MultiDict([("from", start.isoformat()), ("to", (start + timedelta(days=params["days"])).isoformat()), ("scale", params["scale"])])
    for name in ("interval", "group_by"):
        if params[name]:
            args.add(name, params[name])
    for name in ("region", "service_type", "account_manager", "ticket_category", "survey_kind"):
        for value in params[name]:
            args.add(name, value)
    query = ReportQuery.from_args(args)
    compare(reports.report(metric, query), expected_report(history, metric, query), metric)


def test_segments_mark_significant_changes(history):
    query = ReportQuery.from_args(MultiDict({"from": (TODAY - timedelta(days=90)).isoformat(), "to": TODAY.isoformat()}))
    overview = reports.overview(query)
    expected = expected_report(history, "nps", query.but(interval=None, group_by=None))["total"]
    assert overview.total.nps.responses == expected["responses"] and overview.total.nps.nps == expected["nps"]
    for segment in overview.segments["region"]:
        now = expected_report(history, "nps", query.but(group_by="region"))["rows"][(None, segment.group)]
        assert segment.now.responses == now["responses"] and segment.now.nps == now["nps"]
        before = expected_report(history, "nps", query.previous().but(group_by="region"))["rows"].get((None, segment.group), {"responses": 0})
        assert segment.before.responses == before["responses"]
    assert sum(count for _score, count in overview.distribution) == expected["responses"]


# --- the API ---------------------------------------------------------------------------------------


def test_report_api_answers_with_periods_groups_and_totals(client, history, integration):
    response = client.get(
        f"/api/v1/reports/nps?from=2026-06-01&to={TODAY.isoformat()}&interval=month&group_by=region", headers=auth(integration)
    )
    assert response.status_code == 200
    data = response.json
    assert data["metric"] == "nps" and data["from"] == "2026-06-01" and data["to"] == TODAY.isoformat()
    assert {row["period"] for row in data["rows"]} <= {f"2026-{m:02d}" for m in range(6, 12)}
    assert {row["group"] for row in data["rows"]} <= {"Nord", "Süd", None}
    assert set(data["total"]) == {"responses", "promoters", "passives", "detractors", "nps", "ci_low", "ci_high", "small_sample"}
    week = client.get("/api/v1/reports/csat?interval=week&from=2026-11-02&to=2026-11-16", headers=auth(integration)).json
    assert all(row["period"] in ("2026-W45", "2026-W46") for row in week["rows"])
    quarter = client.get("/api/v1/reports/response-rate?interval=quarter&from=2026-01-01&to=2026-12-31", headers=auth(integration)).json
    assert {row["period"] for row in quarter["rows"]} <= {"2026-Q2", "2026-Q3", "2026-Q4"}
    distribution = client.get("/api/v1/reports/distribution?scale=csat&from=2026-01-01", headers=auth(integration)).json
    assert set(distribution["total"]["counts"]) == {"1", "2", "3", "4", "5"}


def test_report_api_defaults_to_the_last_90_days(client, db, integration):
    data = client.get("/api/v1/reports/nps", headers=auth(integration)).json
    end = date.fromisoformat(data["to"])
    assert (end - date.fromisoformat(data["from"])).days == 90 and end == datetime.utcnow().date() + timedelta(days=1)
    assert data["rows"] == [] and data["total"]["responses"] == 0 and data["total"]["nps"] is None


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("from=2026-13-01", "from"),
        ("from=yesterday", "from"),
        ("to=2026-11-31", "to"),
        ("from=2026-11-10&to=2026-11-01", "to"),
        ("from=2026-11-10&to=2026-11-10", "to"),
        ("interval=day", "interval"),
        ("interval=week&interval=month", "interval"),
        ("group_by=colour", "group_by"),
        ("scale=stars", "scale"),
        ("from=1900-01-01&to=2026-01-01", "from"),
        ("region=" + "x" * 300, "region"),
    ],
)
def test_report_api_names_the_bad_parameter(client, db, integration, query, parameter):
    response = client.get(f"/api/v1/reports/nps?{query}", headers=auth(integration))
    assert response.status_code == 400
    assert response.json["error"]["field"] == parameter


def test_report_api_needs_the_bearer_token_and_a_known_metric(client, db, integration):
    assert client.get("/api/v1/reports/nps").status_code == 401
    assert client.get("/api/v1/reports/nps", headers={"Authorization": "Bearer nope"}).status_code == 401
    unknown = client.get("/api/v1/reports/ces", headers=auth(integration))
    assert unknown.status_code == 404 and unknown.json["error"]["field"] == "metric"


def test_a_query_round_trips_through_its_arguments():
    query = ReportQuery.from_args(MultiDict([("from", "2026-01-01"), ("to", "2026-02-01"), ("region", "Nord"), ("region", "Süd"), ("interval", "week")]))
    assert ReportQuery.from_args(MultiDict(query.args())) == query
    assert query.previous().end == query.start and query.previous().days == query.days
    with pytest.raises(ParameterError):
        ReportQuery.from_args(MultiDict({"to": "2026-01-01", "from": "2026-02-01"}))


def test_account_nps_counts_each_contacts_latest_answer(db, make_contact, make_account):
    account = make_account()
    first, second = make_contact(account=account), make_contact(account=account)
    from portal.surveys import defaults

    survey = defaults.nps_survey()
    _db.session.add(survey)
    _db.session.flush()
    for n, (contact, score, day) in enumerate(((first, 0, 1), (first, 10, 5), (second, 3, 2), (second, 8, 40))):
        at = datetime(2026, 11, 1) + timedelta(days=day)
        invitation_id = _db.session.execute(
            insert(Invitation).values(survey_id=survey.id, contact_id=contact.id, account_id=account.id, token_hash=f"a{n:063d}", unsubscribe_token_hash=f"b{n:063d}",
                                      language="de", status="answered", created_at=at, expires_at=at, answered_at=at)
        ).inserted_primary_key[0]  # fmt: skip
        _db.session.add(Response(invitation_id=invitation_id, survey_id=survey.id, account_id=account.id, contact_id=contact.id, nps_score=score, created_at=at))
    _db.session.commit()
    figures = reports.account_nps(account.id, datetime(2026, 11, 1), datetime(2026, 11, 20))
    assert (figures.responses, figures.promoters, figures.detractors) == (2, 1, 1)  # 10 (latest of first) and 3 (second's latest in the period)
    assert reports.accounts_nps(None, datetime(2026, 11, 1), datetime(2026, 11, 20))[account.id] == figures
    assert _db.session.scalar(select(func.count()).select_from(Response)) == 4


def test_the_worker_counts_the_cells_of_a_database_upgraded_with_answers(app, db):
    from portal.worker import run_jobs_once

    seed_history(random.Random(5), answers=40)  # written in bulk: no cells yet
    assert cells_snapshot() == {}
    assert run_jobs_once()["reports-count-missing-cells"] > 0
    counted = cells_snapshot()
    assert counted and run_jobs_once()["reports-count-missing-cells"] == 0
    assert cells_snapshot() == counted
