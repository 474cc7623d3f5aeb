"""Account health from every signal and honest significance: the status says why,
too few answers never make an account critical, a cancellation threat does;
the accounts list shows and filters health; the account page lists its tasks;
the reports API compares with the period before."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.auth.models import Role
from portal.followups import evaluation, rules as alert_rules
from portal.followups.models import TaskStatus
from portal.reports import dashboard, services
from portal.timeutil import utcnow
from tests.test_reports_dashboard import answer, rebuild  # noqa: F401 (a fixture)


def test_only_a_csat_1_with_a_cancellation_threat_is_at_risk_not_no_answers(db, login_as, make_account, make_contact, answer):
    account = make_account(name="Kündiger GmbH")
    answer(make_contact(account=account), csat=1, kind="post_ticket", comment="Wir werden den Vertrag kündigen.")
    rebuild(db)

    health = services.account_health(account)
    assert health.status == "critical" and health.at_risk
    assert [r.severity for r in health.reasons] == ["critical", "at_risk"]
    assert "Cancellation words in a comment of" in health.reasons[0].text and "„kündigen“" in health.reasons[0].text
    assert health.reasons[1].text == "1 contact rated their latest support experience 1 or 2 of 5."

    board = dashboard.dashboard_for(login_as(Role.MANAGER).user)
    assert [a.name for a in board.at_risk] == ["Kündiger GmbH"]
    page = login_as(Role.MANAGER).get(f"/staff/accounts/{account.id}").get_data(as_text=True)
    section = page.split('id="health-title"')[1]
    assert "critical" in section and "no answers yet" not in section and "„kündigen“" in section


def test_a_disabled_keyword_rule_is_no_cancellation_signal(db, make_account, make_contact, answer):
    account = make_account()
    answer(make_contact(account=account), nps=8, comment="Wir kündigen.")
    alert_rules.seed_default_rules()
    for rule in alert_rules.rules():
        rule.enabled = rule.kind != "keywords"
    db.session.commit()
    health = services.account_health(account)
    assert health.status == "too_few" and health.label == "too few answers"
    assert health.reasons[-1].text == "Only 1 contact answered the NPS question in the last 90 days; a status needs 30."


def test_one_answer_each_side_is_too_few_answers_not_critical(db, login_as, make_account, make_contact, answer):
    # The case: a promoter 120 days ago, a passive now (NPS 100 → 0, −100 points).
    account = make_account(name="Einzel AG")
    contact = make_contact(account=account)
    answer(contact, nps=10, days_ago=120)
    answer(contact, nps=8, days_ago=5)
    rebuild(db)

    health = services.account_health(account)
    assert health.status == "too_few" and health.change.delta == -100.0 and not health.change.significant
    assert dashboard.dashboard_for(login_as(Role.MANAGER).user).at_risk == []
    section = login_as(Role.MANAGER).get(f"/staff/accounts/{account.id}").get_data(as_text=True).split('id="health-title"')[1]
    assert "too few answers" in section and "critical" not in section.split("<h3>")[0].split("Rule:")[0]
    assert "too few answers to tell" in section and "95 % interval of the change −119.9 to 69.9" in section


def test_thirty_contacts_falling_significantly_are_critical_with_the_interval(db, make_account, make_contact, answer):
    account = make_account()
    contacts = [make_contact(account=account) for _ in range(30)]
    for contact in contacts:
        answer(contact, nps=10, days_ago=120)
        answer(contact, nps=0, days_ago=5)
    health = services.account_health(account)
    assert health.status == "critical" and health.change.significant
    assert [r.text for r in health.reasons] == [
        "Account NPS −100.0 is below 0.",
        "Account NPS fell significantly by 200.0 points (95 % interval of the change −199.1 to −164.5).",
    ]


def test_open_and_overdue_tasks_put_an_account_at_risk_and_the_account_page_lists_them(db, login_as, make_account, make_contact, answer):
    account = make_account(name="Aufgaben AG")
    contact = make_contact(account=account)
    first = evaluation.evaluate_response(answer(contact, nps=3, days_ago=200))  # a detractor long ago: its task is overdue
    second = evaluation.evaluate_response(answer(contact, csat=2, kind="post_ticket", days_ago=150))
    first.due_at = utcnow() - timedelta(days=1)
    second.status = TaskStatus.RESOLVED
    second.closed_at = utcnow() - timedelta(days=100)
    third = evaluation.evaluate_response(answer(make_contact(account=account), nps=4, days_ago=180))
    third.due_at = utcnow() + timedelta(days=2)
    db.session.commit()

    health = services.account_health(account)
    assert health.status == "at_risk"
    assert [r.text for r in health.reasons] == ["2 open follow-up tasks, 1 of them overdue."]

    html = login_as(Role.MANAGER).get(f"/staff/accounts/{account.id}").get_data(as_text=True)
    tasks = html.split('id="account-tasks-title"')[1].split("</section>")[0]
    links = [f'href="/staff/tasks/{t.id}"' for t in (first, third, second)]
    assert all(link in tasks for link in links)
    assert tasks.index(links[0]) < tasks.index(links[1]) < tasks.index(links[2])  # open first, soonest due first
    assert "overdue" in tasks and "resolved" in tasks
    task_page = login_as(Role.MANAGER).get(f"/staff/tasks/{first.id}").get_data(as_text=True)
    assert "at risk" in task_page and "2 open follow-up tasks, 1 of them overdue." in task_page  # the health with its reasons


@pytest.mark.parametrize("status, shown", [("critical", "Kündiger GmbH"), ("too_few", "Ruhig GmbH"), ("unknown", "Leer GmbH")])
def test_the_accounts_list_shows_and_filters_health(db, login_as, make_account, make_contact, answer, status, shown):
    names = {"Kündiger GmbH": None, "Ruhig GmbH": None, "Leer GmbH": None}
    for name in names:
        names[name] = make_account(name=name)
    answer(make_contact(account=names["Kündiger GmbH"]), nps=2, comment="Wir wechseln zu einem anderen Anbieter, Kündigung folgt")
    answer(make_contact(account=names["Ruhig GmbH"]), nps=9)
    client = login_as(Role.MANAGER)
    page = client.get("/staff/accounts/").get_data(as_text=True)
    assert 'name="health"' in page and "<th scope=\"col\">Health</th>" in page
    assert "too few answers" in page and "no answers yet" in page and "critical" in page
    filtered = client.get(f"/staff/accounts/?health={status}").get_data(as_text=True).split('id="account-results"')[1]
    assert [name for name in names if name in filtered] == [shown]
    assert client.get("/staff/accounts/?health=nonsense").status_code == 400


# --- the reports API compares with the period before --------------------------------------------


def auth(integration) -> dict:
    return {"Authorization": f"Bearer {integration.api_token}"}


def test_report_api_compares_each_row_with_the_previous_period(client, db, integration, make_account, make_contact, answer):
    north, south = make_account(region="Nord", external_id="N-1"), make_account(region="Süd", external_id="S-1")
    for _ in range(30):
        answer(make_contact(account=north), nps=10, days_ago=120)
        answer(make_contact(account=north), nps=0, days_ago=5)
    answer(make_contact(account=south), nps=10, days_ago=120)
    answer(make_contact(account=south), nps=8, days_ago=5)
    rebuild(db)

    data = client.get("/api/v1/reports/nps?group_by=region&compare=previous", headers=auth(integration)).json
    rows = {row["group"]: row for row in data["rows"]}
    assert data["compare"]["to"] == data["from"]
    nord = rows["Nord"]
    assert (nord["responses"], nord["nps"]) == (30, -100.0)
    assert nord["previous"] == {"responses": 30, "promoters": 30, "passives": 0, "detractors": 0, "nps": 100.0}
    assert (nord["change"], nord["change_ci_low"], nord["change_ci_high"], nord["significant"]) == (-200.0, -199.1, -164.5, True)
    sued = rows["Süd"]  # one answer a side: an interval, never significance
    assert (sued["change"], sued["change_ci_low"], sued["change_ci_high"], sued["significant"]) == (-100.0, -119.9, 69.9, False)
    assert data["total"]["previous"]["responses"] == 31 and data["total"]["significant"] is True

    plain = client.get("/api/v1/reports/nps?group_by=region", headers=auth(integration)).json
    assert "previous" not in plain["rows"][0] and "change" not in plain["total"]


@pytest.mark.parametrize("query, reason", [
    ("nps?compare=next", "must be previous"),
    ("csat?compare=previous", "works with the metric nps only"),
    ("nps?compare=previous&interval=week", "cannot be combined with interval"),
])  # fmt: skip
def test_report_api_names_a_bad_compare(client, db, integration, query, reason):
    response = client.get(f"/api/v1/reports/{query}", headers=auth(integration))
    assert response.status_code == 400 and response.json["error"] == {"status": 400, "field": "compare", "reason": reason}


def test_health_statuses_have_labels(app):
    assert [value for value, _label in services.health_choices()] == ["critical", "at_risk", "too_few", "healthy", "unknown"]


def test_the_apis_90_day_nps_is_the_account_pages_figure_and_every_nps_names_its_window(client, db, login_as, integration, make_account, make_contact, answer):
    account = make_account(external_id="CRM-WIN", name="Fenster AG")
    old, recent = make_contact(account=account), make_contact(account=account)
    answer(old, nps=2, days_ago=200)  # in the 730 days, not in the 90
    answer(recent, nps=10, days_ago=10)
    data = client.get("/api/v1/accounts/CRM-WIN/satisfaction", headers=auth(integration)).json
    assert (data["nps_90_days"]["nps"], data["nps_90_days"]["responses"]) == (100.0, 1)
    assert (data["nps_730_days"]["nps"], data["nps_730_days"]["responses"]) == (0.0, 2) and data["nps"] == 0.0
    assert [q["responses"] for q in data["trend"]] == [0, 1, 0, 1]  # each period's account NPS, as on the page
    health = services.account_health(account)
    assert health.nps.nps == data["nps_90_days"]["nps"] and health.nps.responses == data["nps_90_days"]["responses"]
    page = login_as(Role.MANAGER).get(f"/staff/accounts/{account.id}").get_data(as_text=True)
    assert "Account NPS, last 90 days: 100.0" in page
