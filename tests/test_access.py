"""Who may open what: every staff route (fragments too) × anonymous and each role.

A new route with a role decorator must be added to ROUTES, or
test_every_protected_route_is_in_the_matrix fails.
"""

import pytest

from portal.auth.models import Role

from tests.access_roles import ADMIN, AM, ANON, EDITOR, HTMX, MANAGER  # noqa: F401

# (endpoint, method, path, htmx, {who: expected status}). "{account}" is an
# account managed by someone else, so account managers hit the record check:
# outside their portfolio an account is not found (404), as a task is.
ROUTES = [
    ("reports.dashboard", "GET", "/staff/", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("customers.accounts", "GET", "/staff/accounts/", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}),
    ("customers.accounts", "GET", "/staff/accounts/?q=a", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}),
    ("customers.account", "GET", "/staff/accounts/{account}", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 404, EDITOR: 403}),
    ("customers.account", "GET", "/staff/accounts/{account}?tickets=40", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 404, EDITOR: 403}),
    ("auth.profile", "GET", "/staff/profile", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("auth.update_profile", "POST", "/staff/profile", False, {ANON: 302, ADMIN: 422, MANAGER: 422, AM: 422, EDITOR: 422}),
    ("auth.change_password", "POST", "/staff/profile/password", False, {ANON: 302, ADMIN: 422, MANAGER: 422, AM: 422, EDITOR: 422}),
    ("mail.outbox", "GET", "/staff/outbox/", False, {ANON: 302, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("mail.outbox", "GET", "/staff/outbox/?status=failed", True, {ANON: 401, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("mail.message", "GET", "/staff/outbox/{message}", False, {ANON: 302, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("mail.message_html", "GET", "/staff/outbox/{message}/html", False, {ANON: 302, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("mail.resend", "POST", "/staff/outbox/{message}/resend", False, {ANON: 302, ADMIN: 303, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("mail.resend", "POST", "/staff/outbox/{message}/resend", True, {ANON: 401, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("courses.staff_index", "GET", "/staff/courses/", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("courses.staff_index", "GET", "/staff/courses/?q=a", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("courses.staff_account", "GET", "/staff/courses/accounts/{account}", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 404, EDITOR: 403}),
    ("courses.staff_account", "GET", "/staff/courses/accounts/{account}", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 404, EDITOR: 403}),
    ("courses.create_link", "POST", "/staff/courses/accounts/{account}/links", False, {ANON: 302, ADMIN: 303, MANAGER: 303, AM: 404, EDITOR: 403}),
    ("courses.create_link", "POST", "/staff/courses/accounts/{account}/links", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 404, EDITOR: 403}),
    ("courses.revoke_link", "POST", "/staff/courses/links/{link}/revoke", False, {ANON: 302, ADMIN: 303, MANAGER: 303, AM: 404, EDITOR: 403}),
    ("courses.revoke_link", "POST", "/staff/courses/links/{link}/revoke", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 404, EDITOR: 403}),
    ("courses.staff_learner", "GET", "/staff/courses/learners/{learner}", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 404, EDITOR: 403}),
    ("courses.staff_learner", "GET", "/staff/courses/learners/{learner}", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 404, EDITOR: 403}),
    ("courses.preview_course", "GET", "/staff/courses/preview/kundenportal-nutzen/", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("courses.preview_course", "GET", "/staff/courses/preview/kundenportal-nutzen/", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("courses.preview_lesson", "GET", "/staff/courses/preview/kundenportal-nutzen/lessons/tickets", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("courses.preview_lesson", "GET", "/staff/courses/preview/kundenportal-nutzen/lessons/tickets", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("courses.preview_file", "GET", "/staff/courses/preview/kundenportal-nutzen/files/none.png", False, {ANON: 302, ADMIN: 404, MANAGER: 404, AM: 404, EDITOR: 404}),
    ("surveys.index", "GET", "/staff/surveys/", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("surveys.index", "GET", "/staff/surveys/", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("surveys.create_survey", "POST", "/staff/surveys/", False, {ANON: 302, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.definition", "GET", "/staff/surveys/{survey}", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("surveys.definition", "GET", "/staff/surveys/{survey}?edit={question}", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("surveys.update_settings", "POST", "/staff/surveys/{survey}/settings", False, {ANON: 302, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.update_settings", "POST", "/staff/surveys/{survey}/settings", True, {ANON: 401, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.update_email_template", "POST", "/staff/surveys/{survey}/email", False, {ANON: 302, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.update_email_template", "POST", "/staff/surveys/{survey}/email", True, {ANON: 401, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.set_active", "POST", "/staff/surveys/{survey}/active", False, {ANON: 302, ADMIN: 400, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.set_active", "POST", "/staff/surveys/{survey}/active", True, {ANON: 401, ADMIN: 400, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.delete_survey", "POST", "/staff/surveys/{survey}/delete", False, {ANON: 302, ADMIN: 303, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.delete_survey", "POST", "/staff/surveys/{survey}/delete", True, {ANON: 401, ADMIN: 204, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.add_question", "POST", "/staff/surveys/{survey}/questions", False, {ANON: 302, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.add_question", "POST", "/staff/surveys/{survey}/questions", True, {ANON: 401, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.update_question", "POST", "/staff/surveys/{survey}/questions/{question}", False, {ANON: 302, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.update_question", "POST", "/staff/surveys/{survey}/questions/{question}", True, {ANON: 401, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.remove_question", "POST", "/staff/surveys/{survey}/questions/{question}/delete", False, {ANON: 302, ADMIN: 303, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.remove_question", "POST", "/staff/surveys/{survey}/questions/{question}/delete", True, {ANON: 401, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.move_question", "POST", "/staff/surveys/{survey}/questions/{question}/move", False, {ANON: 302, ADMIN: 400, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.move_question", "POST", "/staff/surveys/{survey}/questions/{question}/move", True, {ANON: 401, ADMIN: 400, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("surveys.preview_survey_page", "GET", "/staff/surveys/{survey}/preview/page?page_language=en", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("surveys.preview_survey_page", "GET", "/staff/surveys/{survey}/preview/page?step=2", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("surveys.preview_email", "GET", "/staff/surveys/{survey}/preview/email?email_language=en", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("surveys.preview_email", "GET", "/staff/surveys/{survey}/preview/email", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("surveys.preview_email_html", "GET", "/staff/surveys/{survey}/preview/email.html", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
]

# Packages with many routes keep their rows in a module of their own (same row format),
# with a placeholders(account) function that creates the records their paths name.
from tests import access_followups, access_reports, access_settings  # noqa: E402

EXTRA = (access_followups, access_reports, access_settings)
for _module in EXTRA:
    ROUTES += _module.ROUTES

WHO = [ANON, ADMIN, MANAGER, AM, EDITOR]


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(("endpoint", "method", "path", "htmx", "expected"), ROUTES, ids=[f"{r[1]} {r[2]}{' htmx' if r[3] else ''}" for r in ROUTES])
def test_access_matrix(app, login_as, make_account, make_staff, make_message, make_access_link, make_learner, make_survey, who, endpoint, method, path, htmx, expected):
    account = make_account(account_manager=make_staff(AM))
    message = make_message(status="failed")
    link, _token = make_access_link(account)
    learner = make_learner(link)
    survey = make_survey("nps")
    question = survey.questions[0]
    if who == ANON:
        client = app.test_client()
        token = None
    else:
        client = login_as(who)
        token = client.csrf
    extra = {}
    for module in EXTRA:
        extra.update(module.placeholders(account))
    url = path.format(account=account.id, message=message.id, link=link.id, learner=learner.id, survey=survey.id, question=question.id, **extra)
    headers = HTMX if htmx else {}
    if method == "GET":
        response = client.get(url, headers=headers)
    else:
        from tests.conftest import csrf_token

        token = token or csrf_token(client)
        response = client.open(url, method=method, data={"csrf_token": token}, headers=headers)
    assert response.status_code == expected[who], response.get_data(as_text=True)[:500]


def test_every_protected_route_is_in_the_matrix(app):
    covered = {endpoint for endpoint, *_ in ROUTES}
    protected = {name for name, view in app.view_functions.items() if hasattr(view, "allowed_roles")}
    assert protected - covered == set(), "add these routes to the access matrix"


def test_every_staff_url_is_protected(app):
    unprotected = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff") and not hasattr(app.view_functions[rule.endpoint], "allowed_roles")
    ]
    assert unprotected == []


# --- records: an account manager's own portfolio and another's ---------------------------------

from tests import access_portfolio  # noqa: E402


@pytest.fixture
def portfolios(db, make_staff, make_account, make_contact, make_invitation, make_survey):
    """Two account managers' accounts (services SIP trunk and Hosted PBX), each with a
    detractor's commented answer (which makes a task for its manager)."""
    from sqlalchemy import select

    from portal.followups.models import Task
    from portal.surveys import services as surveys

    survey = make_survey("nps")
    records = {}
    for key, service in (("mine", "sip_trunk"), ("theirs", "hosted_pbx")):
        manager = make_staff(AM, name=f"Betreuer {key.title()}")
        account = make_account(account_manager=manager, name=f"Firma {key.title()} GmbH", external_id=f"CRM-{key.upper()}", service_types=[service])
        contact = make_contact(account=account, name=f"Kontakt {key.title()}")
        invitation, _token = make_invitation(survey=survey, contact=contact)
        for position, value in ((1, "2"), (2, f"Kommentar {key.title()}: zu langsam")):
            question = survey.questions[position - 1]
            response = surveys.record_answer(invitation, survey, question, surveys.parse_answer(question, [value]))
        db.session.commit()
        task = db.session.scalar(select(Task).where(Task.response_id == response.id))
        records[key] = {"manager": manager, "account": account, "task": task, "comment": f"Kommentar {key.title()}", "contact": contact.name,
                        "name": account.name, "external_id": account.external_id, "service": {"mine": "SIP trunk", "theirs": "Hosted PBX"}[key]}  # fmt: skip
    return records


@pytest.mark.parametrize("who", [ADMIN, MANAGER, AM])
@pytest.mark.parametrize(("surface", "path", "mark", "expected"), access_portfolio.ROWS, ids=[row[0] for row in access_portfolio.ROWS])
def test_portfolio_matrix(app, login_as, portfolios, who, surface, path, mark, expected):
    """What each role reads of its own portfolio and of another's: figures are
    everyone's, single answers, files and records the portfolio's (README, Roles)."""
    from tests.conftest import login

    if who == AM:
        client = app.test_client()
        assert login(client, portfolios["mine"]["manager"]).status_code == 303
    else:
        client = login_as(who)
    shown = []
    for key in ("mine", "theirs"):
        record = portfolios[key]
        url = path.format(account=record["account"].id, task=record["task"].id, external_id=record["external_id"], other_email=portfolios["theirs"]["manager"].email)
        response = client.get(url, headers=HTMX if "htmx" in surface else {})
        if mark == "status":
            assert response.status_code in (200, 404), (url, response.status_code)
            shown.append(response.status_code == 200)
            continue
        assert response.status_code == 200, (url, response.status_code)
        text = response.get_data(as_text=True)
        value = {"manager": record["manager"].name, "task": record["name"]}.get(mark, record.get(mark, mark))
        shown.append(value in text)
    assert tuple(shown) == expected[who], (surface, who)
