"""Who may open the learner pages: every /learn route (fragments too) × who is asking.

Learners are not staff: they are the person a signed cookie names, through
an access link. NONE has no cookie; OTHER is a learner of another account
(whose link opens another course); LEARNER is the right person; REVOKED and
EXPIRED are the right person after staff withdrew the link or it ran out.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.courses import services
from portal.courses.models import Learner
from portal.mail.models import OutboxMessage
from portal.timeutil import utcnow
from portal.web.transaction import run_in_transaction
from tests.conftest import csrf_token

NONE, OTHER, LEARNER, REVOKED, EXPIRED = "no cookie", "other account", "learner", "revoked link", "expired link"
WHO = [NONE, OTHER, LEARNER, REVOKED, EXPIRED]
HTMX = {"HX-Request": "true"}
GONE = {REVOKED: 410, EXPIRED: 410}

# (endpoint, method, path, htmx, form data, {who: status}); the course is the English one the learners read.
ROUTES = [
    ("courses.my_courses", "GET", "/learn/courses/", False, None, {NONE: 403, OTHER: 200, LEARNER: 200, **GONE}),
    ("courses.my_courses", "GET", "/learn/courses/", True, None, {NONE: 403, OTHER: 200, LEARNER: 200, **GONE}),
    ("courses.course", "GET", "/learn/courses/net-basics/", False, None, {NONE: 403, OTHER: 404, LEARNER: 200, **GONE}),
    ("courses.course", "GET", "/learn/courses/net-basics/", True, None, {NONE: 403, OTHER: 404, LEARNER: 200, **GONE}),
    ("courses.lesson", "GET", "/learn/courses/net-basics/lessons/start", False, None, {NONE: 403, OTHER: 404, LEARNER: 200, **GONE}),
    ("courses.lesson", "GET", "/learn/courses/net-basics/lessons/quiz", True, None, {NONE: 403, OTHER: 404, LEARNER: 200, **GONE}),
    ("courses.complete_lesson", "POST", "/learn/courses/net-basics/lessons/start/complete", False, {}, {NONE: 403, OTHER: 404, LEARNER: 303, **GONE}),
    ("courses.complete_lesson", "POST", "/learn/courses/net-basics/lessons/start/complete", True, {}, {NONE: 403, OTHER: 404, LEARNER: 200, **GONE}),
    ("courses.submit_quiz", "POST", "/learn/courses/net-basics/lessons/quiz/quiz", False, {"q0": "1", "q1": "0"}, {NONE: 403, OTHER: 404, LEARNER: 303, **GONE}),
    ("courses.submit_quiz", "POST", "/learn/courses/net-basics/lessons/quiz/quiz", True, {"q0": "1", "q1": "0"}, {NONE: 403, OTHER: 404, LEARNER: 200, **GONE}),
    ("courses.course_completed", "GET", "/learn/courses/net-basics/completed", False, None, {NONE: 403, OTHER: 404, LEARNER: 302, **GONE}),
    ("courses.course_file", "GET", "/learn/courses/net-basics/files/none.png", False, None, {NONE: 403, OTHER: 404, LEARNER: 404, **GONE}),
]
#: Routes for everybody (the access link and the one-time link check their token themselves).
PUBLIC = {"courses.access", "courses.sign_in", "courses.sign_out", "courses.signed_out"}


@pytest.fixture
def app_config(app_config, test_courses_dir):
    return {**app_config, "PORTAL_CONTENT_DIR": str(test_courses_dir)}


@pytest.fixture
def people(db, make_account, make_access_link, make_learner):
    account = make_account(name="Kunde GmbH", service_types=["sip_trunk"])
    link, _ = make_access_link(account)
    learner = make_learner(link, language="en")
    other_link, _ = make_access_link(make_account(name="Andere AG", service_types=["hosted_pbx"]), course_slugs=["pbx-only"])
    other = make_learner(other_link, language="en")
    return {"link": link, "learner": learner, "other": other}


def client_for(who, app, db, people, learner_client):
    if who == NONE:
        return app.test_client()
    if who == OTHER:
        return learner_client(people["other"])
    link = people["link"]
    if who == REVOKED:
        link.revoked_at = utcnow()
    elif who == EXPIRED:
        link.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    return learner_client(people["learner"])


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(("endpoint", "method", "path", "htmx", "data", "expected"), ROUTES, ids=[f"{r[1]} {r[2]}{' htmx' if r[3] else ''}" for r in ROUTES])
def test_learner_access_matrix(app, db, people, learner_client, who, endpoint, method, path, htmx, data, expected):
    client = client_for(who, app, db, people, learner_client)
    headers = HTMX if htmx else {}
    if method == "POST":
        token = csrf_token(client, "/learn/signed-out")
        response = client.post(path, data={"csrf_token": token, **data}, headers=headers)
    else:
        response = client.get(path, headers=headers)
    assert response.status_code == expected[who], response.get_data(as_text=True)[:400]
    body = response.get_data(as_text=True)
    if who in (NONE, OTHER, REVOKED, EXPIRED):
        assert people["learner"].name not in body  # nothing of the right learner leaks
    if htmx and response.status_code != 302:
        assert "<html" not in body


def test_posts_need_the_csrf_token(learner_client, people):
    client = learner_client(people["learner"])
    assert client.post("/learn/courses/net-basics/lessons/start/complete").status_code == 400
    assert client.post("/learn/courses/net-basics/lessons/quiz/quiz", data={"q0": "1", "q1": "0"}).status_code == 400


def test_every_learner_route_is_in_the_matrix(app):
    covered = {endpoint for endpoint, *_ in ROUTES} | PUBLIC
    learner_routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/learn")}
    assert learner_routes - covered == set(), "add these routes to the learner access matrix"


@pytest.mark.parametrize(("state", "expected"), [("active", 200), ("unknown", 404), ("revoked", 410), ("expired", 410)])
def test_the_access_link_itself(app, db, make_account, make_access_link, state, expected):
    link, token = make_access_link(make_account(service_types=["sip_trunk"]))
    if state == "unknown":
        token = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    elif state == "revoked":
        link.revoked_at = utcnow()
    elif state == "expired":
        link.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    for headers in ({}, HTMX):
        response = app.test_client().get(f"/learn/{token}", headers=headers)
        assert response.status_code == expected
        assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["Cache-Control"] == "no-store"


def test_guessing_tokens_is_rate_limited(app, make_account, make_access_link):
    app.config["PORTAL_TOKEN_LIMIT_PER_IP"] = "4 per minute"
    _link, token = make_access_link(make_account(service_types=["sip_trunk"]))
    client = app.test_client()
    assert client.get(f"/learn/{token}").status_code == 200  # known tokens do not count
    for n in range(2):
        assert client.get(f"/learn/guess{n}").status_code == 404
        assert client.get(f"/learn/sign-in/guess{n}").status_code == 404
    assert client.get("/learn/guess-more").status_code == 429
    assert client.get(f"/learn/{token}").status_code == 429  # the address is blocked for a while


# --- who may sign in with which email on an access link (the rule itself, without HTTP) ---------


def sign_in_emails(db, learner) -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.to_address == learner.email))


def learners(db) -> int:
    return db.session.scalar(select(func.count(Learner.id)))


def test_a_new_address_signs_in_as_a_new_learner(db, people):
    link = people["link"]
    outcome = services.identify(link, name=" Jan  Roth ", email=" Jan@Kunde.example ", language="de", remembered=None)
    assert outcome.let_in and not outcome.sent
    assert (outcome.learner.name, outcome.learner.email, outcome.learner.account_id) == ("Jan Roth", "jan@kunde.example", link.account_id)
    assert learners(db) == 3


@pytest.mark.parametrize("remembered", ["nobody", "a colleague", "a learner of another account"])
def test_a_known_address_is_not_enough_to_sign_in_as_that_learner(db, people, make_learner, remembered):
    learner, link = people["learner"], people["link"]
    device = {"nobody": None, "a colleague": make_learner(link), "a learner of another account": people["other"]}[remembered]
    before = learners(db)
    outcome = services.identify(link, name="Mallory", email=learner.email.upper(), language="en", remembered=device)
    assert not outcome.let_in and outcome.learner.id == learner.id
    assert outcome.sent and sign_in_emails(db, learner) == 1  # only the mailbox's owner gets in
    again = services.identify(link, name="Mallory", email=learner.email, language="en", remembered=device)
    assert not again.let_in and not again.sent and sign_in_emails(db, learner) == 1  # no mail bombing
    assert learners(db) == before
    assert not services.may_sign_in_as(learner, device)


def test_the_device_remembered_as_the_learner_signs_in_again(db, people):
    learner, link = people["learner"], people["link"]
    outcome = services.identify(link, name="Anything", email=learner.email, language="en", remembered=learner)
    assert outcome.let_in and outcome.learner.id == learner.id and not outcome.sent
    assert sign_in_emails(db, learner) == 0 and services.may_sign_in_as(learner, learner) and services.may_sign_in_as(None, None)


def test_the_slower_of_two_first_sign_ins_with_one_address_is_run_again(db, people, monkeypatch):
    """The other request created the learner between our look-up and our insert:
    the unique key refuses the insert, run_in_transaction runs the sign-in again,
    and the rule then applies to the learner the faster request made."""
    learner, link = people["learner"], people["link"]
    real_find = services.find_learner
    looked_up = []

    def find_learner_before_the_other_commit(account_id, email):
        looked_up.append(email)
        return None if len(looked_up) == 1 else real_find(account_id, email)

    monkeypatch.setattr(services, "find_learner", find_learner_before_the_other_commit)
    outcome = run_in_transaction(lambda: services.identify(link, name="Lena", email=learner.email, language="en", remembered=None))
    assert len(looked_up) == 2 and outcome.learner.id == learner.id
    assert not outcome.let_in and outcome.sent
    assert learners(db) == 2
