"""What a browser (or someone posing as one) can send never ends in a 500:
oversized bodies, numbers no integer type holds, NUL bytes, bytes that are
not UTF-8. Each gets the normal error page (or a form error), in the user's
language, and nothing is written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.auth.models import Role, StaffUser
from portal.courses.models import Learner, QuizAttempt
from portal.customers.models import Contact
from portal.surveys.models import Answer, Invitation, Response
from portal.tokens import new_token
from portal.web.inputs import MAX_INT, parse_int
from tests.conftest import PASSWORD, csrf_token, ticket_closed_event

HTMX = {"HX-Request": "true"}
GERMAN = {"Accept-Language": "de"}
OVERSIZED = "x" * (3 * 1024 * 1024)  # over MAX_CONTENT_LENGTH (2 MB)
HUGE = "99999999999999999999"
QUIZ = "/learn/courses/net-basics/lessons/quiz"


@pytest.fixture
def app_config(app_config, test_courses_dir):
    return {**app_config, "PORTAL_CONTENT_DIR": str(test_courses_dir)}


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def assert_error_page(response, status: int, title: str, htmx: bool = False) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:500]
    assert 'class="error-box"' in html and title in html
    assert ("<html" in html) is not htmx


# --- bodies over the size limit -----------------------------------------------------


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body built in memory (the test client would spool
    a large one to a temporary file that nobody closes when the app refuses it)."""
    boundary = "portal-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in fields.items()]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("kind", ["body", "field"])
def test_an_oversized_survey_answer_is_a_413_page_and_records_nothing(client, db, make_invitation, htmx, kind):
    invitation, token = make_invitation(kind="nps")
    question = invitation.survey.questions[0]
    headers = {**GERMAN, **(HTMX if htmx else {})}
    if kind == "body":
        response = client.post(f"/s/{token}", data={"question": question.id, "answer": "9", "comment": OVERSIZED}, headers=headers)
    else:  # under the body limit, but one field over MAX_FORM_MEMORY_SIZE
        body, content_type = multipart({"question": str(question.id), "answer": "9", "comment": "x" * (600 * 1024)})
        response = client.post(f"/s/{token}", data=body, content_type=content_type, headers=headers)
    assert_error_page(response, 413, "Datenmenge zu groß", htmx)
    assert response.headers["Cache-Control"] == "no-store"  # still a secret-link page
    assert count(db, Response) == count(db, Answer) == 0


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_an_oversized_opt_out_is_a_413_page_and_changes_nothing(client, db, make_invitation, htmx):
    invitation, _token = make_invitation()
    raw, db.session.get(Invitation, invitation.id).unsubscribe_token_hash = new_token()
    response = client.post(f"/u/{raw}", data={"confirm": OVERSIZED}, headers={**GERMAN, **(HTMX if htmx else {})})
    assert_error_page(response, 413, "Datenmenge zu groß", htmx)
    assert db.session.get(Contact, invitation.contact_id).survey_opt_out is False


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_an_oversized_course_sign_up_is_a_413_page_and_creates_no_learner(client, db, make_access_link, htmx):
    _link, token = make_access_link()
    data = {"csrf_token": csrf_token(client, f"/learn/{token}"), "name": OVERSIZED, "email": "lena@mueller.example"}
    response = client.post(f"/learn/{token}", data=data, headers={**GERMAN, **(HTMX if htmx else {})})
    assert_error_page(response, 413, "Datenmenge zu groß", htmx)
    assert count(db, Learner) == 0


def test_a_body_cut_short_is_a_400_page(client, db, make_invitation):
    invitation, token = make_invitation(kind="nps")
    data = f"question={invitation.survey.questions[0].id}&answer=9"
    response = client.post(f"/s/{token}", data=data, content_type="application/x-www-form-urlencoded", environ_overrides={"CONTENT_LENGTH": "1000"})
    assert_error_page(response, 400, "The request could not be processed")
    assert count(db, Response) == 0


# --- numbers --------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["9" * 5000, "²", HUGE])
def test_a_nonsense_question_number_in_an_answer_is_a_400_page(client, db, make_invitation, make_contact, question):
    _invitation, token = make_invitation(kind="nps", contact=make_contact(language="en"))
    response = client.post(f"/s/{token}", data={"question": question, "answer": "9"})
    assert_error_page(response, 400, "The request could not be processed")
    assert count(db, Response) == 0


def test_ids_past_the_database_integer_are_a_404_page(login_as, make_account):
    admin = login_as(Role.ADMIN)
    for path in [
        f"/staff/accounts/{HUGE}",
        f"/staff/accounts/{2**31}",
        f"/staff/accounts/{2**63}",
        f"/staff/outbox/{HUGE}",
        f"/staff/courses/learners/{HUGE}",
        f"/staff/courses/accounts/{HUGE}",
        f"/staff/surveys/{HUGE}/preview/page",
        "/staff/accounts/١",  # other scripts' digits are not ids either
    ]:
        assert_error_page(admin.get(path), 404, "Page not found")
    assert admin.get(f"/staff/accounts/{MAX_INT}").status_code == 404  # the largest id reaches the view: no such account
    assert admin.get(f"/staff/accounts/{make_account().id}").status_code == 200


@pytest.mark.parametrize("position", ["9" * 5000, HUGE, "²"])
def test_a_nonsense_move_target_is_a_400(login_as, db, make_survey, position):
    admin = login_as(Role.ADMIN)
    survey = make_survey("nps")
    first = survey.questions[0]
    response = admin.post(f"/staff/surveys/{survey.id}/questions/{first.id}/move", data={"csrf_token": admin.csrf, "position": position})
    assert_error_page(response, 400, "The request could not be processed")
    assert first.position == 1


@pytest.mark.parametrize("answer", ["9" * 5000, "²", "١"])
def test_nonsense_quiz_answers_are_unanswered_questions(db, make_account, make_access_link, make_learner, learner_client, answer):
    link, _token = make_access_link(make_account(service_types=["sip_trunk"]))
    client = learner_client(make_learner(link))
    data = {"csrf_token": csrf_token(client, "/learn/courses/"), "q0": answer, "q1": "0"}
    response = client.post(QUIZ + "/quiz", data=data)
    assert response.status_code == 422 and "Please answer every question." in response.get_data(as_text=True)
    assert count(db, QuizAttempt) == 0


@given(st.one_of(st.text(), st.from_regex(r"\A[0-9]{1,12}\Z"), st.none()))
def test_parse_int_never_fails_and_stays_in_range(value):
    number = parse_int(value, low=1, high=MAX_INT)
    assert number is None or 1 <= number <= MAX_INT
    if number is not None:
        assert str(number) == value.lstrip("0")


# --- text the database cannot store, and bytes that are not text ------------------------------


def test_nul_in_the_login_form_is_a_400_page_and_signs_nobody_in(client, db, make_staff):
    user = make_staff(Role.ADMIN, email="admin@staff.example")
    for email, password in [("admin@staff.example\x00", PASSWORD), ("admin@staff.example", PASSWORD + "\x00")]:
        response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}, headers=GERMAN)
        assert_error_page(response, 400, "Die Anfrage konnte nicht verarbeitet werden")
    assert db.session.get(StaffUser, user.id).last_login_at is None
    assert client.get("/staff/").status_code == 302  # still signed out


def test_control_characters_in_a_learner_name_are_a_field_error(client, db, make_access_link):
    _link, token = make_access_link()
    for name in ["Lena\x00Vogel", "Lena\x1bVogel", "Lena\x7fVogel"]:
        data = {"csrf_token": csrf_token(client, f"/learn/{token}"), "name": name, "email": "lena@mueller.example"}
        for headers in ({}, HTMX):
            response = client.post(f"/learn/{token}", data=data, headers=headers)
            html = response.get_data(as_text=True)
            assert response.status_code == 422 and "This contains characters that are not allowed." in html
            assert 'name="name"' in html and ("<html" in html) is (headers == {})
    assert count(db, Learner) == 0
    # Spacing pasted from a spreadsheet is only spacing: kept as one space.
    data = {"csrf_token": csrf_token(client, f"/learn/{token}"), "name": "Lena\tVogel", "email": "lena@mueller.example"}
    assert client.post(f"/learn/{token}", data=data).status_code == 303
    assert db.session.scalar(select(Learner.name)) == "Lena Vogel"


def test_nul_in_a_learner_email_is_a_field_error(client, db, make_access_link):
    _link, token = make_access_link()
    data = {"csrf_token": csrf_token(client, f"/learn/{token}"), "name": "Lena Vogel", "email": "lena@mueller.example\x00"}
    response = client.post(f"/learn/{token}", data=data)
    assert response.status_code == 422 and "This contains characters that are not allowed." in response.get_data(as_text=True)
    assert count(db, Learner) == 0


@pytest.mark.parametrize("path", ["/staff/accounts/?q=M%00ller", "/staff/courses/?q=%00", "/staff/outbox/?status=%00", "/staff/?lang=%00"])
def test_nul_in_a_search_or_filter_is_a_400_page(login_as, path):
    admin = login_as(Role.ADMIN)
    assert_error_page(admin.get(path), 400, "The request could not be processed")
    assert_error_page(admin.get(path, headers=HTMX), 400, "The request could not be processed", htmx=True)


def test_nul_in_a_survey_link_is_a_400_page_that_saves_nothing(client, db, make_invitation, make_contact):
    invitation, token = make_invitation(kind="nps", contact=make_contact(language="en"))
    question = invitation.survey.questions[0]
    assert_error_page(client.get(f"/s/{token}?lang=%00"), 400, "The request could not be processed")
    response = client.post(f"/s/{token}?lang=%00", data={"question": question.id, "answer": "9"})
    assert_error_page(response, 400, "The request could not be processed")
    assert count(db, Response) == 0


def test_a_query_string_that_is_not_utf8_is_a_400_page(client, login_as):
    for who in (client, login_as(Role.ADMIN)):
        response = who.get("/staff/accounts/", environ_overrides={"QUERY_STRING": "q=M\xfcller"})  # a raw latin-1 byte
        assert_error_page(response, 400, "The request could not be processed")


# --- redirects, methods, pagers --------------------------------------------------------------


@pytest.mark.parametrize("target", ["//[", "/\r\nSet-Cookie: x=1", "/\t/evil.example", "/staff/\x7f"])
def test_a_broken_next_after_sign_in_goes_to_the_dashboard(client, make_staff, target):
    user = make_staff(Role.ADMIN)
    data = {"email": user.email, "password": PASSWORD, "next": target, "csrf_token": csrf_token(client)}
    response = client.post("/login", data=data)
    assert response.status_code == 303 and response.location == "/staff/"


def test_head_and_options_of_the_login_page(client):
    assert client.head("/login").status_code == 200
    assert client.options("/login").status_code == 200


def test_a_pager_ignores_query_names_url_for_keeps_for_itself(login_as, make_message):
    for _ in range(51):
        make_message(status="failed")
    admin = login_as(Role.ADMIN)
    response = admin.get("/staff/outbox/?_scheme=javascript&_external=1&endpoint=auth.login&_anchor=x&status=failed")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/staff/outbox/?status=failed&amp;page=2"' in html


def test_a_webhook_sent_with_a_form_content_type_still_has_its_raw_body(client, integration):
    """curl -d sends application/x-www-form-urlencoded: checking the form must
    not use up the body the signature is computed over."""
    import json

    from portal.integrations.services import sign

    body = json.dumps(ticket_closed_event()).encode()
    headers = {"Portal-Key": integration.integration.key_id, "Portal-Signature": sign(integration.signing_secret, body)}
    response = client.post("/api/v1/events", data=body, content_type="application/x-www-form-urlencoded", headers=headers)
    assert response.status_code == 202, response.get_data(as_text=True)


def test_an_event_is_json_whatever_its_content_type_says(client, integration):
    """The body is read as JSON for any Content-Type (README): text that looks
    like a percent-encoded NUL in a form is only text in JSON."""
    import json

    from portal.integrations.services import sign

    for n, content_type in enumerate(("application/x-www-form-urlencoded", "text/plain", "application/json")):
        event = ticket_closed_event(f"ct-{n}")
        event["ticket"]["subject"] = "Auslastung 100%00 seit Montag"
        body = json.dumps(event).encode()
        headers = {"Portal-Key": integration.integration.key_id, "Portal-Signature": sign(integration.signing_secret, body)}
        response = client.post("/api/v1/events", data=body, content_type=content_type, headers=headers)
        assert response.status_code == 202, (content_type, response.get_data(as_text=True))


# --- the staff surfaces: calendar edges, blank filters, odd hosts (issue 18) ---------------------

CALENDAR_EDGES = ["from=9999-12-31", "to=0001-01-01", "from=9999-12-01&to=9999-12-31", "from=0001-01-01&to=0001-02-01", "from=2026-W47-1", "to=20261201"]


@pytest.mark.parametrize("period", CALENDAR_EDGES)
@pytest.mark.parametrize("path", ["/staff/reports", "/staff/reports/responses", "/staff/reports/insights"])
def test_a_date_at_the_calendars_edge_is_a_form_error_on_the_reports_pages(login_as, path, period):
    manager = login_as(Role.MANAGER)
    for headers in ({}, HTMX):
        response = manager.get(f"{path}?{period}", headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and 'role="alert"' in html and "in the years 2000 to 2100" in html, html[:300]


@pytest.mark.parametrize("period", CALENDAR_EDGES)
@pytest.mark.parametrize("path", ["/staff/reports/export.csv?view=series", "/staff/reports/responses.csv?x=1", "/staff/reports/insights/ticket_category.csv?x=1"])
def test_a_date_at_the_calendars_edge_is_a_400_page_for_an_export(login_as, path, period):
    assert_error_page(login_as(Role.MANAGER).get(f"{path}&{period}"), 400, "This export cannot be made")


@pytest.mark.parametrize("period", CALENDAR_EDGES)
def test_a_date_at_the_calendars_edge_is_a_400_naming_it_in_the_reports_api(client, db, integration, period):
    response = client.get(f"/api/v1/reports/nps?{period}", headers={"Authorization": f"Bearer {integration.api_token}"})
    assert response.status_code == 400
    error = response.json["error"]
    assert error["field"] in ("from", "to") and error["reason"] == "must be a date like 2026-11-01 in the years 2000 to 2100"


@pytest.mark.parametrize("period", ["from=9999-12-31&to=9999-12-31", "from=0001-01-01&to=0001-01-02", "from=2026-W47-1", "to=20261201", "from=2026-12-01&to=2026-11-01"])
def test_a_bad_period_on_the_loop_report_is_a_form_error_keeping_what_was_entered(login_as, period):
    manager = login_as(Role.MANAGER)
    response = manager.get(f"/staff/reports/loop?{period}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="period-error"' in html and 'aria-invalid="true"' in html
    entered = dict(pair.split("=") for pair in period.split("&"))
    assert all(f'value="{value}"' in html for value in entered.values())
    german = manager.get(f"/staff/reports/loop?{period}", headers={**HTMX, **GERMAN})
    assert german.status_code == 400 and "Jahren 2000 bis 2100" in german.get_data(as_text=True)


def test_the_answers_behind_a_month_at_the_calendars_end_are_a_400(login_as):
    response = login_as(Role.MANAGER).get("/staff/reports/responses?period=9999-12")
    assert response.status_code == 400 and "period: must be like 2026-11" in response.get_data(as_text=True)


@pytest.mark.parametrize(("path", "blank"), [("/staff/tasks/?view=team", "assignee"), ("/staff/accounts/", "manager"), ("/staff/accounts/", "region"), ("/staff/courses/", "q")])
def test_a_blank_filter_is_no_filter(login_as, make_account, path, blank):
    make_account(name="Sichtbar GmbH")
    admin = login_as(Role.ADMIN)
    separator = "&" if "?" in path else "?"
    unfiltered = admin.get(path)
    for value in ("%20", "%20%20", "%09"):
        response = admin.get(f"{path}{separator}{blank}={value}")
        assert response.status_code == 200, (blank, value)
        assert ("Sichtbar GmbH" in response.get_data(as_text=True)) is ("Sichtbar GmbH" in unfiltered.get_data(as_text=True))


@pytest.mark.parametrize("host", ["a" * 64 + ".example", "a..b", "example:99999", "exa mple", "[::1"])
def test_a_host_header_that_is_no_host_name_is_a_plain_400(client, login_as, host):
    for who in (client, login_as(Role.ADMIN)):
        for path in ("/", "/staff/", "/no-such-page", "/api/v1/reports/nps"):
            response = who.get(path, headers={"Host": host})
            assert response.status_code == 400 and response.mimetype == "text/plain"
            assert "Host" in response.get_data(as_text=True)


def test_broken_punycode_in_the_host_is_a_400_over_a_real_socket(live_server):
    """Werkzeug's test client itself fails on such a host, so this one goes over HTTP."""
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(live_server)
    for host, expected in (("xn--zz.example", 400), ("a" * 64, 400), ("xn--mnchen-3ya.de", 200), ("localhost", 200)):
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        connection.putrequest("GET", "/login", skip_host=True)
        connection.putheader("Host", host)
        connection.endheaders()
        assert connection.getresponse().status == expected, host
        connection.close()


def test_staff_pages_and_exports_are_never_stored(login_as, client):
    manager = login_as(Role.MANAGER)
    for path in ("/staff/", "/staff/reports", "/staff/reports/export.csv?view=series", "/staff/reports/responses.csv", "/staff/accounts/", "/staff/tasks/", "/staff/no-such-page"):
        assert manager.get(path).headers["Cache-Control"] == "no-store", path
    assert manager.get("/staff/reports", headers=HTMX).headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "private, no-cache"


@pytest.mark.parametrize(
    ("host", "usable"),
    [("kundenportal.example.net", True), ("127.0.0.1:5000", True), ("[::1]:8080", True), ("xn--mnchen-3ya.de", True), ("my_host", True), ("a" * 63 + ".example", True),
     ("a" * 64 + ".example", False), ("xn--zz.example", False), ("example:65536", False), ("-", False), ("a..b", False), ("", False), ("münchen.de", False), ("a b", False)],
)  # fmt: skip
def test_usable_host(host, usable):
    from portal.web.inputs import usable_host

    assert usable_host(host) is usable


@pytest.mark.parametrize("text", ["2026-11-01", "2000-01-01", "2100-12-31"])
def test_parse_day_takes_dates_of_the_years_2000_to_2100(text):
    from portal.timeutil import parse_day

    assert parse_day(text).isoformat() == text


@pytest.mark.parametrize("text", ["1999-12-31", "2101-01-01", "0001-01-01", "9999-12-31", "20261101", "2026-W47-1", "2026-02-30", " 2026-11-01", "٢٠٢٦-١١-٠١", ""])
def test_parse_day_refuses_everything_else(text):
    from portal.timeutil import parse_day

    with pytest.raises(ValueError):
        parse_day(text)
