"""Courses as people use them: access links, identifying, signing in on another
device, progress, completion, quizzes, versions, drafts, staff pages, reminders."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.courses import services
from portal.courses.models import CourseAccessLink, Learner, LearnerLoginToken, LessonCompletion, QuizAttempt
from portal.mail.models import OutboxMessage
from portal.timeutil import utcnow
from tests.conftest import csrf_token
from tests.course_content import write_test_courses

HTMX = {"HX-Request": "true"}
# Learners here read English (the test app's language), so they get the English translation.
LESSON = "/learn/courses/net-basics/lessons/start"
QUIZ = "/learn/courses/net-basics/lessons/quiz"
RIGHT = {"q0": "1", "q1": "0"}
WRONG = {"q0": "0", "q1": "1"}


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "PORTAL_CONTENT_DIR": str(write_test_courses(tmp_path / "content"))}


@pytest.fixture
def account(make_account):
    return make_account(name="Müller Logistik GmbH", service_types=["sip_trunk"])


@pytest.fixture
def access(make_access_link, account):
    """(link, raw token) for the SIP-trunk account, all its courses."""
    return make_access_link(account)


@pytest.fixture
def learner(make_learner, access):
    return make_learner(access[0], name="Lena Vogel", email="lena@mueller.example")


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def identify(client, token: str, name: str = "Lena Vogel", email: str = "lena@mueller.example"):
    return client.post(f"/learn/{token}", data={"csrf_token": csrf_token(client, f"/learn/{token}"), "name": name, "email": email})


def post(client, path: str, data: dict | None = None, headers: dict | None = None):
    return client.post(path, data={"csrf_token": csrf_token(client, "/learn/courses/"), **(data or {})}, headers=headers or {})


def reload_catalog(app):
    return app.extensions["courses_catalog"].reload()


def bump_version(app, course_dir: str, file_name: str, version: int) -> None:
    from pathlib import Path

    path = Path(app.config["PORTAL_CONTENT_DIR"]) / course_dir / file_name
    text = path.read_text()
    path.write_text(re.sub(r"^version: \d+$", f"version: {version}", text, count=1, flags=re.M))
    reload_catalog(app)


# --- access links ---------------------------------------------------------------


def test_an_access_link_stores_only_the_hash_and_expires(db, account):
    link, raw = services.create_access_link(account, days=10)
    db.session.commit()
    assert len(raw) >= 43  # 256 bits, url-safe
    assert link.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(db.session.execute(select(CourseAccessLink.__table__)).all())
    assert timedelta(days=9, hours=23) < link.expires_at - utcnow() <= timedelta(days=10)
    assert services.access_url(raw) == f"http://localhost/learn/{raw}"
    assert services.find_access_link(raw).id == link.id and services.find_access_link(raw + "x") is None


@pytest.mark.parametrize("slugs", [["gibt-es-nicht"], ["entwurf"]])
def test_links_only_to_published_courses(account, slugs):
    with pytest.raises(services.CourseError):
        services.create_access_link(account, course_slugs=slugs)


def test_cli_prints_a_working_link(runner, client, account):
    result = runner.invoke(args=["courses", "link", "--account", account.external_id, "--course", "netz-basics", "--days", "5"])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith("http://localhost/learn/")
    response = client.get(url.removeprefix("http://localhost"))
    assert response.status_code == 200 and "Müller Logistik GmbH" in response.get_data(as_text=True)
    link = services.find_access_link(url.rsplit("/", 1)[1])
    assert link.course_slugs == ["netz-basics"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--account", "NOPE"], "No account"), (["--course", "entwurf"], "no published course"), (["--days", "0"], "0")],
)
def test_cli_refuses_bad_input(runner, account, args, message):
    if "--account" not in args:
        args = ["--account", account.external_id, *args]
    result = runner.invoke(args=["courses", "link", *args])
    assert result.exit_code != 0 and message in result.output


def test_the_access_page_asks_who_is_learning(client, access):
    _link, token = access
    response = client.get(f"/learn/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Müller Logistik GmbH" in html and "Network basics" in html  # the English version for an English browser
    assert "Nur Telefonanlage" not in html and "Geheimer Entwurf" not in html  # another service; a draft
    assert '<label for="name">' in html and '<label for="email">' in html
    assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["Cache-Control"] == "no-store"


def test_unknown_revoked_and_expired_links(client, db, access, make_access_link, account):
    link, token = access
    response = client.get("/learn/" + "x" * 43)
    assert response.status_code == 404 and response.headers["Referrer-Policy"] == "no-referrer"
    services.revoke_access_link(link)
    db.session.commit()
    response = client.get(f"/learn/{token}")
    assert response.status_code == 410 and "withdrawn" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    expired, expired_token = make_access_link(account)
    expired.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.get(f"/learn/{expired_token}")
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    form = {"csrf_token": csrf_token(client, "/learn/signed-out"), "name": "x", "email": "x@example.net"}
    assert client.post(f"/learn/{expired_token}", data=form).status_code == 410  # identifying is closed too


# --- identifying ----------------------------------------------------------------------


def test_identifying_creates_a_learner_remembered_by_a_signed_cookie(client, db, access):
    link, token = access
    response = identify(client, token)
    assert response.status_code == 303 and response.location == "/learn/courses/"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("portal_learner="))
    assert "HttpOnly" in cookie and "Path=/learn" in cookie and "SameSite=Lax" in cookie
    learner = db.session.scalar(select(Learner))
    assert (learner.name, learner.email, learner.account_id, learner.access_link_id) == ("Lena Vogel", "lena@mueller.example", link.account_id, link.id)
    html = client.get("/learn/courses/").get_data(as_text=True)
    assert "Network basics" in html and "0 of 2 lessons completed" in html
    assert "Nur Telefonanlage" not in html and "Geheimer Entwurf" not in html
    # the access link again on the same device goes straight to the courses
    again = client.get(f"/learn/{token}")
    assert again.status_code == 302 and again.location == "/learn/courses/"


def test_a_forged_cookie_is_not_a_learner(app, client, learner):
    client.set_cookie("portal_learner", f"{{\"learner\": {learner.id}, \"link\": {learner.access_link_id}}}", path="/learn")
    assert client.get("/learn/courses/").status_code == 403


def test_identifying_needs_a_name_and_a_valid_email(client, db, access):
    _link, token = access
    response = identify(client, token, name="", email="not-an-email")
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert count(db, Learner) == 0


def test_many_people_per_account_each_with_their_own_progress(app, db, access, learner_client):
    _link, token = access
    lena, jan = app.test_client(), app.test_client()
    identify(lena, token, "Lena Vogel", "lena@mueller.example")
    identify(jan, token, "Jan Roth", "jan@mueller.example")
    assert post(lena, LESSON + "/complete").status_code == 303
    assert "1 of 2 lessons completed" in lena.get("/learn/courses/").get_data(as_text=True)
    jan_page = jan.get("/learn/courses/").get_data(as_text=True)
    assert "0 of 2 lessons completed" in jan_page and "Lena" not in jan_page
    assert count(db, Learner) == 2


# --- another device: the one-time email link ------------------------------------------------


def sign_in_link(db, email: str) -> str:
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == email).order_by(OutboxMessage.id.desc())).first()
    assert message is not None, "no email in the outbox"
    url = re.search(r"http://localhost(/learn/sign-in/[\w-]+)", message.text_body).group(1)
    assert url in (message.html_body or "")
    return url


def test_a_known_email_on_another_device_gets_a_one_time_link(app, db, access):
    _link, token = access
    first = app.test_client()
    identify(first, token)
    post(first, LESSON + "/complete")

    other_device = app.test_client()
    response = identify(other_device, token)  # the same email again
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Check your inbox" in html
    assert not any(c.startswith("portal_learner=") for c in response.headers.getlist("Set-Cookie"))
    assert other_device.get("/learn/courses/").status_code == 403  # not let in by knowing the address
    message = db.session.scalar(select(OutboxMessage))
    assert message.kind == "course_sign_in" and message.to_address == "lena@mueller.example" and message.locale == "en"
    assert count(db, Learner) == 1

    url = sign_in_link(db, "lena@mueller.example")
    token_row = db.session.scalar(select(LearnerLoginToken))
    assert token_row.token_hash == hashlib.sha256(url.rsplit("/", 1)[1].encode()).hexdigest()
    for _ in range(2):  # mail scanners open links: a GET changes nothing
        page = other_device.get(url)
        assert page.status_code == 200 and "Welcome back, Lena Vogel" in page.get_data(as_text=True)
        assert page.headers["Referrer-Policy"] == "no-referrer"
    response = other_device.post(url, data={"csrf_token": csrf_token(other_device, url)})
    assert response.status_code == 303 and response.location == "/learn/courses/"
    assert "1 of 2 lessons completed" in other_device.get("/learn/courses/").get_data(as_text=True)

    third = app.test_client()
    assert third.get(url).status_code == 410  # used once, never again
    assert third.post(url, data={"csrf_token": csrf_token(third, "/learn/signed-out")}).status_code == 410


def test_sign_in_links_expire_and_are_not_sent_twice_in_a_row(app, db, access, learner):
    _link, token = access
    device = app.test_client()
    identify(device, token)
    identify(device, token)
    assert count(db, OutboxMessage) == 1  # a second request moments later sends nothing new
    url = sign_in_link(db, learner.email)
    row = db.session.scalar(select(LearnerLoginToken))
    assert row.expires_at - row.created_at == timedelta(minutes=30)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = device.get(url)
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)


def test_sign_out_forgets_the_learner(learner_client, learner):
    client = learner_client(learner)
    response = post(client, "/learn/sign-out")
    assert response.status_code == 303
    assert client.get("/learn/courses/").status_code == 403


# --- reading, completing, progress ---------------------------------------------------------


def test_a_lesson_page_renders_content_and_the_complete_form(learner_client, learner):
    response = learner_client(learner).get(LESSON)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert "<strong>voice channels</strong>" in html and '<a href="quiz#questions">' in html
    assert '<p class="admonition-title">Tip</p>' in html
    assert f'action="{LESSON}/complete"' in html and f'hx-post="{LESSON}/complete"' in html
    assert '<progress id="course--progress-bar" max="2" value="0"' in html
    assert 'name="csrf_token"' in html and "style=" not in html


def test_mark_complete_without_javascript_redirects_and_is_idempotent(db, learner_client, learner):
    client = learner_client(learner)
    for _ in range(3):
        response = post(client, LESSON + "/complete")
        assert response.status_code == 303 and response.location == LESSON + "#lesson--status"
    assert count(db, LessonCompletion) == 1
    html = client.get(LESSON).get_data(as_text=True)
    assert "You completed this lesson" in html and '<progress id="course--progress-bar" max="2" value="1"' in html
    assert "Next lesson: The quiz" in html
    assert html.count('href="/learn/courses/net-basics/lessons/quiz"') == 1, "the next lesson is offered once"


def test_the_next_lesson_is_offered_once_also_after_an_htmx_completion(db, learner_client, learner):
    client = learner_client(learner)
    before = client.get(LESSON).get_data(as_text=True)
    assert 'rel="next"' in before  # not complete yet: the navigation offers the next lesson
    html = post(client, LESSON + "/complete", headers=HTMX).get_data(as_text=True)
    assert "Next lesson: The quiz" in html and 'id="lesson--nav"' in html and 'hx-swap-oob="true"' in html
    assert 'rel="next"' not in html


def test_mark_complete_with_htmx_returns_the_status_and_the_progress_bar(db, learner_client, learner):
    client = learner_client(learner)
    response = post(client, LESSON + "/complete", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "HX-Request" in response.headers["Vary"]
    assert "You completed this lesson" in html and "autofocus" in html
    assert re.search(r'id="course--progress" hx-swap-oob="true"', html)
    assert '<progress id="course--progress-bar" max="2" value="1"' in html
    assert post(client, LESSON + "/complete", headers=HTMX).status_code == 200
    assert count(db, LessonCompletion) == 1


def test_a_quiz_lesson_is_not_completed_by_the_button(db, learner_client, learner):
    assert post(learner_client(learner), QUIZ + "/complete").status_code == 400
    assert count(db, LessonCompletion) == 0


def test_a_failed_quiz_keeps_the_score_and_allows_another_try(db, learner_client, learner):
    client = learner_client(learner)
    response = post(client, QUIZ + "/quiz", WRONG, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Not passed yet: 0 % of your answers are correct, 50 % are needed" in html
    assert "Die 112 erreicht Feuerwehr" in html  # the explanation
    assert 'name="q0"' in html and "Try again" in html
    attempt = db.session.scalar(select(QuizAttempt))
    assert (attempt.score_percent, attempt.passed, attempt.answers) == (0, False, {"0": 0, "1": 1})
    assert count(db, LessonCompletion) == 0


def test_passing_the_quiz_completes_the_lesson_and_the_course(db, learner_client, learner):
    client = learner_client(learner)
    assert client.get("/learn/courses/net-basics/completed").status_code == 302  # not yet
    post(client, LESSON + "/complete")
    response = post(client, QUIZ + "/quiz", {"q0": "1", "q1": "1"})  # 50 %: exactly the pass mark
    assert response.status_code == 303 and response.location == QUIZ + "#quiz--panel"
    assert db.session.scalar(select(QuizAttempt.score_percent)) == 50
    html = client.get(QUIZ).get_data(as_text=True)
    assert "Passed: 50 % of your answers are correct." in html and "Course completed: see your summary" in html
    assert 'name="q0"' not in html  # no form after passing
    done = client.get("/learn/courses/net-basics/completed")
    assert done.status_code == 200 and "Course completed" in done.get_data(as_text=True)
    assert "All 2 lessons completed" in client.get("/learn/courses/").get_data(as_text=True)


def test_passing_with_htmx_swaps_the_quiz_and_moves_the_progress_bar(learner_client, learner):
    client = learner_client(learner)
    response = post(client, QUIZ + "/quiz", RIGHT, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Passed: 100 %" in html and 'hx-swap-oob="true"' in html
    assert '<progress id="course--progress-bar" max="2" value="1"' in html


@pytest.mark.parametrize("answers", [{}, {"q0": "1"}, {"q0": "9", "q1": "0"}, {"q0": "x", "q1": "0"}])
def test_unanswered_or_nonsense_quiz_answers_are_422(db, learner_client, learner, answers):
    client = learner_client(learner)
    for headers in ({}, HTMX):
        response = post(client, QUIZ + "/quiz", answers, headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and "Please answer every question." in html
        assert ("<html" in html) is (headers == {})
    assert count(db, QuizAttempt) == 0


# --- versions ------------------------------------------------------------------------------


def test_a_new_lesson_version_shows_it_changed_and_keeps_the_history(app, db, learner_client, learner):
    client = learner_client(learner)
    post(client, LESSON + "/complete")
    bump_version(app, "net-basics", "01-start.md", 2)
    html = client.get(LESSON).get_data(as_text=True)
    assert "This lesson has changed since you completed it (you completed version 1, this is version 2)" in html
    assert "I have read the new version" in html
    assert "1 lesson was updated since you completed it." in client.get("/learn/courses/").get_data(as_text=True)
    assert "Updated since you completed it" in client.get("/learn/courses/net-basics/").get_data(as_text=True)
    assert "1 of 2 lessons completed" in html  # still counts as done
    post(client, LESSON + "/complete")
    versions = db.session.scalars(select(LessonCompletion.lesson_version).order_by(LessonCompletion.lesson_version)).all()
    assert versions == [1, 2]
    assert "changed since you completed it" not in client.get(LESSON).get_data(as_text=True)


def test_a_quiz_attempt_belongs_to_its_lesson_version(app, db, learner_client, learner):
    client = learner_client(learner)
    post(client, QUIZ + "/quiz", RIGHT)
    bump_version(app, "net-basics", "02-quiz.md", 3)
    html = client.get(QUIZ).get_data(as_text=True)
    assert 'name="q0"' in html and "changed since you completed it" in html  # a fresh quiz for the new version


# --- what learners may see -----------------------------------------------------------------


def test_drafts_other_services_and_unknown_courses_are_404_for_learners(learner_client, learner):
    client = learner_client(learner)
    for path in ("/learn/courses/entwurf/", "/learn/courses/entwurf/lessons/start", "/learn/courses/pbx-only/", "/learn/courses/nope/", "/learn/courses/net-basics/lessons/nope"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "GEHEIMER" not in response.get_data(as_text=True)


def test_a_link_limited_to_some_courses(make_access_link, make_learner, learner_client, account):
    link, _ = make_access_link(account, course_slugs=["pbx-only"])  # outside the account's services: chosen by staff
    client = learner_client(make_learner(link))
    html = client.get("/learn/courses/").get_data(as_text=True)
    assert "Nur Telefonanlage" in html and "Network basics" not in html
    assert client.get("/learn/courses/net-basics/").status_code == 404
    assert client.get("/learn/courses/pbx-only/").status_code == 200


def test_learners_see_the_translation_in_their_language(make_learner, learner_client, access):
    english = learner_client(make_learner(access[0], language="en")).get("/learn/courses/").get_data(as_text=True)
    assert "Network basics" in english and "Netz-Grundlagen" not in english
    german_learner = learner_client(make_learner(access[0], language="de"))
    german = german_learner.get("/learn/courses/").get_data(as_text=True)
    assert "Netz-Grundlagen" in german and "Network basics" not in german
    assert german_learner.get("/learn/courses/netz-basics/lessons/start").status_code == 200
    assert german_learner.get("/learn/courses/net-basics/lessons/start").status_code == 200  # both languages are allowed


def test_learner_pages_speak_the_learners_language(make_learner, learner_client, access):
    client = learner_client(make_learner(access[0], language="de"))
    assert '<html lang="de">' in client.get("/learn/courses/").get_data(as_text=True)


def test_the_brand_leads_learners_to_their_courses_not_to_the_staff_sign_in(make_learner, learner_client, access, client):
    learner_page = learner_client(make_learner(access[0])).get("/learn/courses/net-basics/").get_data(as_text=True)
    assert '<a class="brand" href="/learn/courses/">' in learner_page
    assert '<a class="brand" href="/">' in client.get("/login").get_data(as_text=True)


def test_course_images_are_served_to_learners_only(app, learner_client, learner, client):
    from pathlib import Path

    (Path(app.config["PORTAL_CONTENT_DIR"]) / "net-basics" / "schema.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    reload_catalog(app)
    with learner_client(learner).get("/learn/courses/net-basics/files/schema.png") as response:
        assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
        assert response.headers["Cache-Control"] == "private, max-age=3600"
    assert client.get("/learn/courses/net-basics/files/schema.png").status_code == 403
    assert learner_client(learner).get("/learn/courses/net-basics/files/course.md").status_code == 404


def test_an_access_link_never_reveals_another_accounts_learners_or_progress(app, db, make_account, make_access_link, access, learner, learner_client):
    lena = learner_client(learner)
    post(lena, LESSON + "/complete")
    post(lena, QUIZ + "/quiz", RIGHT)
    other_link, other_token = make_access_link(make_account(name="Andere AG", service_types=["sip_trunk"]))
    stranger = app.test_client()
    response = identify(stranger, other_token, "Eve", learner.email)  # Lena's address, the other company's link
    assert response.status_code == 303  # a new learner of the other account, not Lena
    html = stranger.get("/learn/courses/").get_data(as_text=True)
    assert "0 of 2 lessons completed" in html and "Lena" not in html
    eve = db.session.scalar(select(Learner).where(Learner.account_id == other_link.account_id))
    assert eve.id != learner.id and eve.email == learner.email
    assert "Passed" not in stranger.get(QUIZ).get_data(as_text=True)
    # Lena's cookie with the other company's link is refused
    assert learner_client(learner, other_link).get("/learn/courses/").status_code == 403


# --- staff ------------------------------------------------------------------------------------


@pytest.fixture
def progress_data(learner, learner_client):
    client = learner_client(learner)
    post(client, LESSON + "/complete")
    post(client, QUIZ + "/quiz", WRONG)
    post(client, QUIZ + "/quiz", RIGHT)
    return learner


def test_staff_see_progress_per_account(login_as, account, progress_data):
    html = login_as(Role.MANAGER).get(f"/staff/courses/accounts/{account.id}").get_data(as_text=True)
    assert "Lena Vogel" in html and "lena@mueller.example" in html
    assert '<progress max="2" value="2"' in html and "2/2" in html
    assert "The quiz: 100 %" in html  # the best score


def test_staff_see_each_learner_with_scores_and_history(app, login_as, account, progress_data):
    bump_version(app, "net-basics", "01-start.md", 2)
    html = login_as(Role.ADMIN).get(f"/staff/courses/learners/{progress_data.id}").get_data(as_text=True)
    assert "Lena Vogel" in html and "best 100 % in 2 attempts" in html
    assert "changed since" in html and "v1" in html
    assert "0 % not passed" in html and "100 % passed" in html


def test_account_managers_see_only_their_own_accounts(login_as, make_staff, make_account, make_access_link, make_learner):
    am = login_as(Role.ACCOUNT_MANAGER)
    own = make_account(name="Eigene GmbH", account_manager=am.user)
    foreign = make_account(name="Fremde GmbH", account_manager=make_staff(Role.ACCOUNT_MANAGER))
    own_learner = make_learner(make_access_link(own)[0], name="Olga Eigen")
    foreign_learner = make_learner(make_access_link(foreign)[0], name="Fritz Fremd")
    index = am.get("/staff/courses/").get_data(as_text=True)
    assert "Eigene GmbH" in index and "Fremde GmbH" not in index
    assert am.get(f"/staff/courses/accounts/{own.id}").status_code == 200
    assert am.get(f"/staff/courses/learners/{own_learner.id}").status_code == 200
    assert am.get(f"/staff/courses/accounts/{foreign.id}").status_code == 404
    assert am.get(f"/staff/courses/learners/{foreign_learner.id}").status_code == 404
    assert "Fremde GmbH" not in am.get("/staff/courses/?q=GmbH", headers=HTMX).get_data(as_text=True)


def test_staff_create_a_link_and_see_it_once(db, login_as, account, client):
    manager = login_as(Role.MANAGER)
    response = manager.post(
        f"/staff/courses/accounts/{account.id}/links",
        data={"csrf_token": manager.csrf, "courses": ["net-basics"], "days": "30", "reminder_days": "7"},
    )
    assert response.status_code == 303
    page = manager.get(response.location)
    url = re.search(r'value="(http://localhost/learn/[\w-]+)"', page.get_data(as_text=True)).group(1)
    assert page.headers["Cache-Control"] == "no-store"
    assert url not in manager.get(f"/staff/courses/accounts/{account.id}").get_data(as_text=True)  # shown once
    link = db.session.scalar(select(CourseAccessLink))
    assert (link.course_slugs, link.reminder_days, link.created_by_id) == (["net-basics"], 7, manager.user.id)
    assert client.get(url.removeprefix("http://localhost")).status_code == 200


def test_staff_create_a_link_with_htmx(login_as, account):
    manager = login_as(Role.MANAGER)
    response = manager.post(f"/staff/courses/accounts/{account.id}/links", data={"csrf_token": manager.csrf, "days": "90"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert re.search(r'value="http://localhost/learn/[\w-]+"', html) and "All courses for the account" in html


@pytest.mark.parametrize("data", [{"days": "0"}, {"days": "9999"}, {"days": "x"}, {"days": "30", "courses": ["entwurf"]}, {"days": "30", "reminder_days": "0"}])
def test_invalid_link_forms_are_422(db, login_as, account, data):
    manager = login_as(Role.MANAGER)
    for headers in ({}, HTMX):
        response = manager.post(f"/staff/courses/accounts/{account.id}/links", data={"csrf_token": manager.csrf, **data}, headers=headers)
        assert response.status_code == 422
    assert count(db, CourseAccessLink) == 0


def test_revoking_a_link_ends_access_for_its_learners(db, login_as, access, learner, learner_client):
    link, token = access
    manager = login_as(Role.MANAGER)
    response = manager.post(f"/staff/courses/links/{link.id}/revoke", data={"csrf_token": manager.csrf}, headers=HTMX)
    assert response.status_code == 200 and "revoked" in response.get_data(as_text=True)
    assert db.session.get(CourseAccessLink, link.id).revoked_at is not None
    learner_page = learner_client(learner).get("/learn/courses/")
    assert learner_page.status_code == 410 and "withdrawn" in learner_page.get_data(as_text=True)
    assert manager.post(f"/staff/courses/links/{link.id}/revoke", data={"csrf_token": manager.csrf}).status_code == 303


def test_the_staff_index_lists_courses_and_accounts(login_as, account, progress_data):
    html = login_as(Role.ADMIN).get("/staff/courses/").get_data(as_text=True)
    assert "Network basics" in html and "Geheimer Entwurf" in html and "Draft" in html
    assert "Müller Logistik GmbH" in html
    manager_html = login_as(Role.MANAGER).get("/staff/courses/").get_data(as_text=True)
    assert "Geheimer Entwurf" not in manager_html and "Müller Logistik GmbH" in manager_html
    editor_html = login_as(Role.EDITOR).get("/staff/courses/").get_data(as_text=True)
    assert "Geheimer Entwurf" in editor_html and "Müller Logistik GmbH" not in editor_html and "Progress by account" not in editor_html


def test_staff_find_an_account_without_a_link_yet(login_as, make_account):
    target = make_account(name="Neukunde Zahnarztpraxis GmbH")
    response = login_as(Role.MANAGER).get("/staff/courses/?q=zahnarzt", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert f'href="/staff/courses/accounts/{target.id}"' in html


def test_editors_and_admins_preview_drafts_others_do_not(login_as):
    for role, expected in ((Role.EDITOR, 200), (Role.ADMIN, 200), (Role.MANAGER, 403), (Role.ACCOUNT_MANAGER, 403)):
        client = login_as(role)
        response = client.get("/staff/courses/preview/entwurf/lessons/start")
        assert response.status_code == expected, role
        if expected == 200:
            html = response.get_data(as_text=True)
            assert "GEHEIMER ENTWURF" in html and "Preview of a draft" in html
            assert "(correct)" in html and "Die 112 erreicht" in html  # editors see the answers
        assert client.get("/staff/courses/preview/netz-basics/").status_code == 200


def test_preview_pages_keep_lesson_links_working(login_as):
    html = login_as(Role.EDITOR).get("/staff/courses/preview/netz-basics/").get_data(as_text=True)
    assert '<a href="lessons/start">der ersten Lektion</a>' in html
    assert 'href="/staff/courses/preview/netz-basics/lessons/quiz"' in html


def test_the_staff_navigation_shows_courses(login_as):
    html = login_as(Role.EDITOR).get("/staff/").get_data(as_text=True)
    assert 'href="/staff/courses/"' in html


# --- every fragment URL with and without HX-Request --------------------------------------------


LEARNER_PAGES = ["/learn/courses/", "/learn/courses/net-basics/", LESSON, QUIZ, "/learn/courses/net-basics/completed"]


@pytest.mark.parametrize("path", LEARNER_PAGES)
def test_learner_pages_with_and_without_htmx(learner_client, progress_data, path):
    client = learner_client(progress_data)
    full = client.get(path)
    fragment = client.get(path, headers=HTMX)
    assert full.status_code == fragment.status_code == 200
    assert "<html" in full.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in full.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    boosted = client.get(path, headers={**HTMX, "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


STAFF_PAGES = [
    "/staff/courses/",
    "/staff/courses/?q=müller",
    "/staff/courses/accounts/{account}",
    "/staff/courses/learners/{learner}",
    "/staff/courses/preview/netz-basics/",
    "/staff/courses/preview/netz-basics/lessons/quiz",
]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_pages_with_and_without_htmx(login_as, account, progress_data, path):
    client = login_as(Role.ADMIN)
    url = path.format(account=account.id, learner=progress_data.id)
    full, fragment = client.get(url), client.get(url, headers=HTMX)
    assert full.status_code == fragment.status_code == 200
    assert "<html" in full.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_access_and_sign_in_pages_with_and_without_htmx(app, db, access, learner):
    _link, token = access
    client = app.test_client()
    assert "<html" in client.get(f"/learn/{token}").get_data(as_text=True)
    assert "<html" not in client.get(f"/learn/{token}", headers=HTMX).get_data(as_text=True)
    raw = services.issue_login_token(learner)
    db.session.commit()
    assert "<html" in client.get(f"/learn/sign-in/{raw}").get_data(as_text=True)
    assert "<html" not in client.get(f"/learn/sign-in/{raw}", headers=HTMX).get_data(as_text=True)


# --- reminders ------------------------------------------------------------------------------------


@pytest.fixture
def reminding(make_access_link, make_learner, account):
    link, _ = make_access_link(account, reminder_days=3)
    return link, make_learner


def test_stalled_learners_get_one_reminder_per_pause(db, reminding, learner_client):
    link, make_learner = reminding
    stalled = make_learner(link, name="Sam Stillstand", email="sam@mueller.example", last_active_at=utcnow() - timedelta(days=4))
    make_learner(link, name="Fiona Frisch", last_active_at=utcnow() - timedelta(days=1))  # active recently
    finished = make_learner(link, name="Fertig", last_active_at=utcnow() - timedelta(days=10))
    for lesson_slug in ("start", "quiz"):
        db.session.add(LessonCompletion(learner_id=finished.id, course_slug="net-basics", lesson_slug=lesson_slug, lesson_version=1))
    finished.last_active_at = utcnow() - timedelta(days=10)
    db.session.commit()

    assert services.send_reminders() == 1
    db.session.commit()
    [message] = db.session.scalars(select(OutboxMessage)).all()
    assert message.to_address == "sam@mueller.example" and message.kind == "course_reminder"
    assert "Network basics: 0 of 2 lessons completed" in message.text_body
    assert "/learn/sign-in/" in message.text_body
    assert services.send_reminders() == 0  # only once
    db.session.commit()

    # the reminder's link signs Sam in (valid longer than a sign-in link)
    url = sign_in_link(db, "sam@mueller.example")
    client = learner_client(stalled)
    client.delete_cookie("portal_learner", path="/learn")
    assert client.post(url, data={"csrf_token": csrf_token(client, url)}).status_code == 303
    sam = db.session.get(Learner, stalled.id)
    assert sam.last_active_at > sam.reminded_at  # signing in is activity
    assert services.send_reminders() == 0
    # time passes: he was reminded ten days ago, came back, and has paused for five days now
    sam.reminded_at = utcnow() - timedelta(days=10)
    sam.last_active_at = utcnow() - timedelta(days=5)
    db.session.commit()
    assert services.send_reminders() == 1


def test_no_reminders_without_the_option_or_after_the_link_ended(db, make_access_link, make_learner, account):
    quiet, _ = make_access_link(account)  # reminders off
    make_learner(quiet, last_active_at=utcnow() - timedelta(days=30))
    ended, _ = make_access_link(account, reminder_days=1)
    make_learner(ended, last_active_at=utcnow() - timedelta(days=30))
    services.revoke_access_link(ended)
    db.session.commit()
    assert services.send_reminders() == 0


def test_the_reminder_job_runs_in_the_worker(db, runner, reminding):
    link, make_learner = reminding
    make_learner(link, last_active_at=utcnow() - timedelta(days=4))
    result = runner.invoke(args=["worker", "--once"])
    assert "course_reminders: 1" in result.output, result.output
    assert count(db, OutboxMessage, OutboxMessage.kind == "course_reminder") == 1


# --- the page cache -----------------------------------------------------------------------------


def test_a_lesson_read_again_comes_from_the_cache_until_progress_or_content_changes(app, monkeypatch, learner_client, learner):
    client = learner_client(learner)
    client.get("/learn/signed-out")  # the session gets its CSRF secret first
    first = client.get(LESSON).get_data(as_text=True)

    def no_rendering(*args, **kwargs):
        raise AssertionError("the page should have come from the cache")

    monkeypatch.setattr(services, "progress_for", no_rendering)
    assert client.get(LESSON).get_data(as_text=True) == first
    monkeypatch.undo()

    post(client, LESSON + "/complete")  # progress moves: a new version of the learner's pages
    assert "You completed this lesson" in client.get(LESSON).get_data(as_text=True)
    bump_version(app, "net-basics", "01-start.md", 2)  # content changes: a new catalog
    assert "changed since you completed it" in client.get(LESSON).get_data(as_text=True)


def test_cached_pages_are_never_shared_between_learners_or_languages(make_learner, learner_client, access):
    lena = learner_client(make_learner(access[0], name="Lena Vogel"))
    jan = learner_client(make_learner(access[0], name="Jan Roth"))
    for client in (lena, jan):
        client.get("/learn/signed-out")
    assert "Lena Vogel" in lena.get("/learn/courses/").get_data(as_text=True)
    assert "Jan Roth" in jan.get("/learn/courses/").get_data(as_text=True)
    assert "Lena Vogel" in lena.get("/learn/courses/").get_data(as_text=True)
    full, fragment = lena.get(LESSON), lena.get(LESSON, headers=HTMX)
    assert "<html" in full.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    lena.post("/language", data={"lang": "de", "csrf_token": csrf_token(lena, "/learn/signed-out"), "next": LESSON})
    assert '<html lang="de">' in lena.get(LESSON).get_data(as_text=True)


def test_the_demo_seed_prints_a_working_course_link(runner, client, db):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    url = re.search(r"Course access link \(.+\):\s+(http://localhost/learn/\S+)", result.output).group(1)
    assert client.get(url.removeprefix("http://localhost")).status_code == 200
    assert count(db, CourseAccessLink) == 1
