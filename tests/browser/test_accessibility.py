"""An automated accessibility audit: axe-core checks every page customers,
learners and staff see against WCAG 2.0/2.1 A and AA, on a phone and on a
desktop, in a real Chromium.

axe-core comes from npm (a devDependency in package.json, installed by
``make setup``); it is injected into each page after it loaded. The portal's
Content-Security-Policy forbids inline scripts, so these pages are opened in
a context that bypasses the CSP; the other browser tests check the CSP itself.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portal.auth.models import Role
from portal.web.theme import INK_BACKGROUND, brand_stylesheet, contrast_ratio
from tests.conftest import csrf_token, login

# The audits drive Chromium (marked browser and accessibility); the computed brand-colour
# checks do not.

REPOSITORY = Path(__file__).resolve().parents[2]
AXE = REPOSITORY / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}
BROWSER_LOCALES = {"de": "de-DE", "en": "en-US"}


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.is_file():
        reason = f"NO AXE-CORE FOUND at {AXE}: the accessibility audit did not run. Run `make setup` (npm ci installs axe-core)."
        if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return AXE


@pytest.fixture
def brand_color() -> str | None:
    """The operator's brand colour; None for the default."""
    return None


@pytest.fixture
def app_config(app_config, test_courses_dir, brand_color):
    config = {**app_config, "PORTAL_CONTENT_DIR": str(test_courses_dir)}
    if brand_color:
        config["PORTAL_BRAND_COLOR"] = brand_color
    return config


# --- running axe ------------------------------------------------------------------------


def axe_violations(page: Page, script: Path) -> list[dict]:
    page.add_script_tag(path=str(script))
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return results.violations;
        }""",
        WCAG_TAGS,
    )


def describe(violations: list[dict], url: str) -> str:
    lines = [f"{len(violations)} accessibility violation(s) on {url}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} [{len(violation['nodes'])} element(s)]")
        for node in violation["nodes"][:3]:
            lines.append(f"    at {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


# --- what a scenario can use -------------------------------------------------------------


@dataclass
class Visit:
    """One page to audit: a browser page, the live server, the language and the test's fixtures."""

    page: Page
    base: str
    lang: str
    request: pytest.FixtureRequest
    page_lang: str | None = None  # the language the page should speak, when not the visit's

    def fixture(self, name: str):
        return self.request.getfixturevalue(name)

    def open(self, path: str) -> None:
        """Open ``path`` in the visit's language (customers switch with ?lang=; German is their own)."""
        if self.lang == "en":
            path += ("&" if "?" in path else "?") + "lang=en"
        self.page.goto(self.base + path)

    def client(self):
        return self.fixture("app").test_client()


def answer(visit: Visit, token: str, survey, *values) -> None:
    """Answer the survey's first questions (one value each) the way a plain form does."""
    client = visit.client()
    for question, value in zip(survey.questions, values, strict=False):
        response = client.post(f"/s/{token}", data={"question": question.id, "answer": value})
        assert response.status_code == 303, response.get_data(as_text=True)


def survey_step(kind: str, answers: tuple[str, ...], shows: str) -> Callable[[Visit], None]:
    """The step after ``answers`` of a default survey; ``shows`` picks what proves it is the wanted question type."""

    def scenario(visit: Visit) -> None:
        invitation, token = visit.fixture("make_invitation")(kind=kind)
        answer(visit, token, invitation.survey, *answers)
        visit.open(f"/s/{token}")
        expect(visit.page.locator(f"form.question-form {shows}").first).to_be_visible()

    return scenario


def survey_preselected_score(visit: Visit) -> None:
    _invitation, token = visit.fixture("make_invitation")(kind="nps")
    visit.open(f"/s/{token}?score=8")
    expect(visit.page.get_by_role("radio", name="8", exact=True)).to_be_checked()


def survey_validation_error(visit: Visit) -> None:
    _invitation, token = visit.fixture("make_invitation")(kind="nps")
    visit.open(f"/s/{token}")
    with visit.page.expect_navigation() as navigation:
        visit.page.evaluate("document.querySelector('form.question-form').submit()")  # a plain POST, not htmx
    assert navigation.value.status == 422
    expect(visit.page.get_by_role("alert")).to_be_visible()


def survey_validation_error_in_place(visit: Visit) -> None:
    _invitation, token = visit.fixture("make_invitation")(kind="post_ticket")  # its first question (CSAT) is required
    visit.open(f"/s/{token}")
    visit.page.locator("form.question-form button[type=submit]").click()  # htmx swaps the step with its error
    expect(visit.page.get_by_role("alert")).to_be_visible()


def survey_thanks(visit: Visit) -> None:
    invitation, token = visit.fixture("make_invitation")(kind="nps")
    answer(visit, token, invitation.survey, "9", "Schnelle Hilfe.")
    visit.open(f"/s/{token}")
    expect(visit.page.locator(".thanks")).to_be_visible()


def _unsubscribe_token(visit: Visit) -> str:
    from portal.tokens import new_token

    invitation, _token = visit.fixture("make_invitation")()
    raw, hashed = new_token()
    invitation.unsubscribe_token_hash = hashed
    visit.fixture("db").session.commit()
    return raw


def opt_out_asks(visit: Visit) -> None:
    visit.open(f"/u/{_unsubscribe_token(visit)}")
    expect(visit.page.locator("#unsubscribe form")).to_be_visible()


def opt_out_done(visit: Visit) -> None:
    visit.open(f"/u/{_unsubscribe_token(visit)}")
    visit.page.locator("#unsubscribe button[type=submit]").click()
    # the confirmation swapped into the page speaks the page's language
    done = {"de": "Sie erhalten keine Umfragen mehr", "en": "You will receive no more surveys"}[visit.lang]
    expect(visit.page.get_by_role("heading", level=1)).to_have_text(done)


def unknown_survey_link(visit: Visit) -> None:
    visit.open("/s/this-token-does-not-exist")
    expect(visit.page.locator(".link-problem")).to_be_visible()


def expired_survey_link(visit: Visit) -> None:
    from datetime import timedelta

    from portal.timeutil import utcnow

    invitation, token = visit.fixture("make_invitation")(kind="nps")
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    visit.fixture("db").session.commit()
    visit.open(f"/s/{token}")
    expect(visit.page.locator(".link-problem")).to_be_visible()


CUSTOMER_PAGES: dict[str, Callable[[Visit], None]] = {
    "survey-nps": survey_step("nps", (), ".scale-11"),
    "survey-nps-follow-up": survey_step("nps", ("6",), "textarea"),
    "survey-csat": survey_step("post_ticket", (), ".scale-5"),
    "survey-single-choice": survey_step("post_ticket", ("4",), ".choices input[type=radio]"),
    "survey-free-text": survey_step("post_ticket", ("4", "yes"), "textarea"),
    "survey-rating-scale": survey_step("post_installation", ("5",), ".scale-7 + .scale-ends"),
    "survey-multiple-choice": survey_step("post_installation", ("5", "6"), ".choices input[type=checkbox]"),
    "survey-nps-preselected": survey_preselected_score,
    "survey-validation-error": survey_validation_error,
    "survey-validation-error-htmx": survey_validation_error_in_place,
    "survey-thank-you": survey_thanks,
    "opt-out": opt_out_asks,
    "opt-out-done": opt_out_done,
    "survey-404": unknown_survey_link,
    "survey-410-expired": expired_survey_link,
}


# --- learners -----------------------------------------------------------------------------

COURSE = {"de": "netz-basics", "en": "net-basics"}


def _learner(visit: Visit):
    """A learner of the SIP-trunk account, remembered by this browser (the cookie the access link sets)."""
    from itsdangerous import URLSafeTimedSerializer

    from portal.courses.identity import LEARNER_COOKIE, LEARNER_COOKIE_PATH

    account = visit.fixture("make_account")(name="Müller Logistik GmbH", service_types=["sip_trunk"])
    link, _token = visit.fixture("make_access_link")(account)
    learner = visit.fixture("make_learner")(link, name="Lena Vogel", email="lena@mueller.example", language=visit.lang)
    app = visit.fixture("app")
    value = URLSafeTimedSerializer(app.secret_key, salt="portal.courses.learner").dumps({"learner": learner.id, "link": link.id})
    visit.page.context.add_cookies([{"name": LEARNER_COOKIE, "value": value, "domain": "127.0.0.1", "path": LEARNER_COOKIE_PATH}])
    return learner


def _learner_posts(visit: Visit, learner, *steps: tuple[str, dict]) -> None:
    client = visit.fixture("learner_client")(learner)
    for path, data in steps:
        response = client.post(path, data={"csrf_token": csrf_token(client, "/learn/courses/"), **data})
        assert response.status_code in (200, 303), response.get_data(as_text=True)


def course_access(visit: Visit) -> None:
    account = visit.fixture("make_account")(name="Müller Logistik GmbH", service_types=["sip_trunk"])
    _link, token = visit.fixture("make_access_link")(account)
    visit.page.goto(f"{visit.base}/learn/{token}")
    expect(visit.page.locator(".identify-card form")).to_be_visible()


def course_access_error(visit: Visit) -> None:
    course_access(visit)
    visit.page.locator(".identify-card button[type=submit]").click()
    expect(visit.page.get_by_role("alert")).to_be_visible()


def course_check_email(visit: Visit) -> None:
    learner = _learner(visit)
    visit.page.context.clear_cookies()  # another device
    _link, token = visit.fixture("make_access_link")(learner.account)
    visit.page.goto(f"{visit.base}/learn/{token}")
    visit.page.locator("input[name=name]").fill("Lena Vogel")
    visit.page.locator("input[name=email]").fill(learner.email)
    visit.page.locator(".identify-card button[type=submit]").click()
    expect(visit.page.locator(".learn-message")).to_be_visible()


def course_signed_out(visit: Visit) -> None:
    _learner(visit)
    visit.page.goto(f"{visit.base}/learn/courses/")
    visit.page.locator(".learner-bar button[type=submit]").click()
    expect(visit.page.locator(".learn-message")).to_be_visible()


def quiz_result_in_place(visit: Visit) -> None:
    _learner(visit)
    visit.page.goto(f"{visit.base}/learn/courses/{COURSE[visit.lang]}/lessons/quiz")
    visit.page.locator("input[name=q0][value='1']").check()
    visit.page.locator("input[name=q1][value='1']").check()
    visit.page.locator(".quiz-form button[type=submit]").click()
    expect(visit.page.locator(".quiz-result")).to_be_visible()


def learner_page(path: str, *steps: tuple[str, dict]) -> Callable[[Visit], None]:
    def scenario(visit: Visit) -> None:
        learner = _learner(visit)
        course = COURSE[visit.lang]
        _learner_posts(visit, learner, *((p.format(course=course), data) for p, data in steps))
        response = visit.page.goto(visit.base + path.format(course=course))
        assert response.status == 200

    return scenario


COMPLETE = "/learn/courses/{course}/lessons/start/complete"
QUIZ = "/learn/courses/{course}/lessons/quiz/quiz"
LEARNER_PAGES: dict[str, Callable[[Visit], None]] = {
    "course-access": course_access,
    "course-access-error": course_access_error,
    "course-check-email": course_check_email,
    "course-signed-out": course_signed_out,
    "learner-quiz-result-htmx": quiz_result_in_place,
    "learner-courses": learner_page("/learn/courses/"),
    "learner-course": learner_page("/learn/courses/{course}/"),
    "learner-lesson": learner_page("/learn/courses/{course}/lessons/start"),
    "learner-lesson-done": learner_page("/learn/courses/{course}/lessons/start", (COMPLETE, {})),
    "learner-quiz": learner_page("/learn/courses/{course}/lessons/quiz"),
    "learner-quiz-failed": learner_page("/learn/courses/{course}/lessons/quiz", (QUIZ, {"q0": "0", "q1": "1"})),
    "learner-completed": learner_page("/learn/courses/{course}/completed", (COMPLETE, {}), (QUIZ, {"q0": "1", "q1": "0"})),
}


# --- staff --------------------------------------------------------------------------------


@dataclass
class StaffWorld:
    account: object
    survey: object
    learner: object
    message: object


def _build_staff_world(visit: Visit) -> StaffWorld:
    """Enough data that every staff page shows its tables, lists and figures."""
    from datetime import date, timedelta

    make_account, make_contact, make_ticket = visit.fixture("make_account"), visit.fixture("make_contact"), visit.fixture("make_ticket")
    for n in range(3):
        make_account(name=f"Firma {n} GmbH", region="Süd", contract_renewal_on=date.today() + timedelta(days=30 + n))
    account = make_account(name="Müller Logistik GmbH", service_types=["sip_trunk", "connectivity"])
    contact = make_contact(account=account, name="Lena Vogel")
    make_ticket(contact=contact, subject="Echo bei Gesprächen")
    make_ticket(contact=contact, subject="Rufnummer portieren", closed_at=None)
    for kind in ("post_ticket", "custom"):
        visit.fixture("make_survey")(kind)
    survey = visit.fixture("make_survey")("post_installation")
    invitation, token = visit.fixture("make_invitation")(kind="nps", contact=contact)
    answer(visit, token, invitation.survey, "3", "Zu viele Ausfälle.")
    message = visit.fixture("make_message")(status="sent")
    visit.fixture("make_message")(status="failed", subject="Fehlgeschlagen")
    link, _raw = visit.fixture("make_access_link")(account)
    learner = visit.fixture("make_learner")(link, name="Jan Berg")
    client = visit.fixture("learner_client")(learner)
    client.post(COMPLETE.format(course="net-basics"), data={"csrf_token": csrf_token(client, "/learn/courses/")})
    return StaffWorld(account=account, survey=survey, learner=learner, message=message)



#: The staff world as the first staff page of this worker built it: a copy of its SQLite
#: database and the ids in it (PostgreSQL builds the world for each page).
_STAFF_WORLD_SNAPSHOT: dict = {}


def _staff_world(visit: Visit) -> StaffWorld:
    """The staff world in this test's own database.

    Building it takes about a second of requests and commits, the same for every
    staff page; on SQLite the first page of a worker builds it and keeps a copy of
    the database, and each later page starts from that copy instead of from the
    empty one (before any request: the test has no connection open yet).
    """
    from portal.courses.models import Learner
    from portal.customers.models import Account
    from portal.mail.models import OutboxMessage
    from portal.surveys.models import Survey

    db = visit.fixture("db")
    engine_url = db.engine.url
    if engine_url.get_backend_name() != "sqlite":
        return _build_staff_world(visit)
    database = Path(engine_url.database)
    snapshot = _STAFF_WORLD_SNAPSHOT.get("path")
    if snapshot is None:
        world = _build_staff_world(visit)
        db.session.commit()
        snapshot = database.with_name("staff-world.db")
        with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(snapshot)) as copy:
            source.backup(copy)  # consistent whatever the WAL holds
        _STAFF_WORLD_SNAPSHOT.update(
            path=snapshot, account=world.account.id, survey=world.survey.id, learner=world.learner.id, message=world.message.id
        )
        return world
    db.session.remove()
    db.engine.dispose()
    for leftover in (Path(f"{database}-wal"), Path(f"{database}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(snapshot, database)
    ids = _STAFF_WORLD_SNAPSHOT
    return StaffWorld(
        account=db.session.get(Account, ids["account"]),
        survey=db.session.get(Survey, ids["survey"]),
        learner=db.session.get(Learner, ids["learner"]),
        message=db.session.get(OutboxMessage, ids["message"]),
    )


def sign_in(visit: Visit, role: str = Role.ADMIN) -> None:
    """The browser carries the session of a new staff member of ``role``.

    The sign-in is made over HTTP by a test client and its session cookie
    handed to the browser: the audit is of the page after it, and the sign-in
    page itself is audited as "login" and "login-failed" (test_staff_shell
    signs in through the browser's form).
    """
    user = visit.fixture("make_staff")(role, name="Ada Admin")
    client = visit.client()
    response = login(client, user)
    assert response.status_code == 303, response.get_data(as_text=True)
    cookie = client.get_cookie(visit.fixture("app").config["SESSION_COOKIE_NAME"])
    visit.page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": visit.base}])


def staff_page(path: Callable[[StaffWorld], str] | str, role: str = Role.ADMIN, status: int = 200) -> Callable[[Visit], None]:
    def scenario(visit: Visit) -> None:
        world = _staff_world(visit)
        sign_in(visit, role)
        response = visit.page.goto(visit.base + (path(world) if callable(path) else path))
        assert response.status == status

    return scenario


def staff_action(path: Callable[[StaffWorld], str] | str, act: Callable[[Page], None]) -> Callable[[Visit], None]:
    """A staff page after something was done on it (htmx swaps the result in place)."""

    def scenario(visit: Visit) -> None:
        staff_page(path)(visit)
        act(visit.page)

    return scenario


def staff_email_preview(language: str) -> Callable[[Visit], None]:
    """The invitation email's HTML as customers get it (the editor shows it in a sandboxed frame)."""

    def scenario(visit: Visit) -> None:
        staff_page(lambda w: f"/staff/surveys/{w.survey.id}/preview/email.html?email_language={language}")(visit)
        visit.page_lang = language

    return scenario


def staff_login(visit: Visit) -> None:
    visit.page.goto(f"{visit.base}/login")
    expect(visit.page.get_by_label("Password")).to_be_visible()


def staff_login_failed(visit: Visit) -> None:
    staff_login(visit)
    visit.page.get_by_label("Email").fill("nobody@staff.example")
    visit.page.get_by_label("Password").fill("wrong password")
    visit.page.get_by_role("button", name="Sign in").click()
    expect(visit.page.locator(".has-error, .form-errors, [role=alert]").first).to_be_visible()


def _shows(selector: str) -> Callable[[Page], None]:
    def act(page: Page) -> None:
        expect(page.locator(selector).first).to_be_visible()

    return act


def _submit(selector: str, expected: str) -> Callable[[Page], None]:
    """Submit (the server validates: the browser's own checks are switched off) and wait for the answer."""

    def act(page: Page) -> None:
        page.evaluate("document.querySelectorAll('form').forEach((form) => { form.noValidate = true; })")
        page.locator(selector).click()
        expect(page.locator(expected).first).to_be_visible()

    return act


def _fill_and_submit(fields: dict[str, str], selector: str, expected: str) -> Callable[[Page], None]:
    def act(page: Page) -> None:
        for name, value in fields.items():
            page.locator(name).fill(value)
        _submit(selector, expected)(page)

    return act


def _upload_a_logo(page: Page) -> None:
    """The brand page after a logo was uploaded: the logo in the header, its sample and the remove box."""
    from tests.test_settings_brand import PNG

    page.locator("input[name=logo_file]").set_input_files(files=[{"name": "logo.png", "mimeType": "image/png", "buffer": PNG}])
    page.locator("#brand-settings button[type=submit]").click()
    expect(page.locator("input[name=remove_logo]")).to_be_visible()


def _resolve_without_outcome(page: Page) -> None:
    page.locator("select[name=status]").select_option("resolved")
    _submit("form[action$='/status'] button[type=submit]", "#task-panel [role=alert]")(page)


STAFF_PAGES: dict[str, Callable[[Visit], None]] = {
    "login": staff_login,
    "login-failed": staff_login_failed,
    "dashboard": staff_page("/staff/"),
    "dashboard-editor": staff_page("/staff/", role=Role.EDITOR),
    "dashboard-account-manager": staff_page("/staff/", role=Role.ACCOUNT_MANAGER),
    "accounts": staff_page("/staff/accounts/"),
    "accounts-none-found": staff_page("/staff/accounts/?q=nothing-matches-this"),
    "account": staff_page(lambda w: f"/staff/accounts/{w.account.id}"),
    "surveys": staff_page("/staff/surveys/"),
    "survey-editor": staff_page(lambda w: f"/staff/surveys/{w.survey.id}"),
    "survey-editor-question": staff_page(lambda w: f"/staff/surveys/{w.survey.id}?edit={w.survey.questions[1].id}"),
    "survey-editor-add-rating": staff_action(lambda w: f"/staff/surveys/{w.survey.id}?add=rating", _shows(".question-editor")),
    "survey-editor-add-choice": staff_action(lambda w: f"/staff/surveys/{w.survey.id}?add=single_choice", _shows(".question-editor")),
    "survey-editor-add-follow-up": staff_action(lambda w: f"/staff/surveys/{w.survey.id}?add=nps_follow_up", _shows(".question-editor")),
    "survey-editor-question-error": staff_action(
        lambda w: f"/staff/surveys/{w.survey.id}?add=single_choice",
        _submit(".question-editor button[type=submit]", ".question-editor [role=alert]"),
    ),
    "survey-editor-settings-error": staff_action(
        lambda w: f"/staff/surveys/{w.survey.id}",
        _fill_and_submit({"#survey-settings input[name=name]": ""}, "#survey-settings button[type=submit]", "#survey-settings [role=alert]"),
    ),
    "survey-editor-saved": staff_action(lambda w: f"/staff/surveys/{w.survey.id}", _submit("#survey-email button[type=submit]", "#survey-email [role=status]")),
    "invitation-email-de": staff_email_preview("de"),
    "invitation-email-en": staff_email_preview("en"),
    "outbox": staff_page("/staff/outbox/"),
    "outbox-message": staff_page(lambda w: f"/staff/outbox/{w.message.id}"),
    "courses": staff_page("/staff/courses/"),
    "courses-account": staff_page(lambda w: f"/staff/courses/accounts/{w.account.id}"),
    "courses-account-new-link": staff_action(lambda w: f"/staff/courses/accounts/{w.account.id}", _submit(".link-form button[type=submit]", ".new-link")),
    "courses-account-link-error": staff_action(
        lambda w: f"/staff/courses/accounts/{w.account.id}",
        _fill_and_submit({".link-form input[name=days]": "0"}, ".link-form button[type=submit]", ".link-form [role=alert]"),
    ),
    "courses-learner": staff_page(lambda w: f"/staff/courses/learners/{w.learner.id}"),
    "courses-preview": staff_page("/staff/courses/preview/net-basics/"),
    "courses-preview-quiz": staff_page("/staff/courses/preview/net-basics/lessons/quiz"),
    "profile": staff_page("/staff/profile"),
    "profile-error": staff_action(
        "/staff/profile",
        _fill_and_submit({"input[name=current_password]": "wrong"}, "form[action$='/password'] button[type=submit]", "form[action$='/password'] [role=alert]"),
    ),
    "staff-404": staff_page("/staff/accounts/999999", status=404),
    "reports": staff_page("/staff/reports"),
    "reports-by-month": staff_page("/staff/reports?interval=month&region=S%C3%BCd"),
    "reports-bad-parameter": staff_page("/staff/reports?interval=day", status=400),
    "reports-answers": staff_page("/staff/reports/responses?comments=1"),
    "reports-insights": staff_page("/staff/reports/insights"),
    "tasks-mine": staff_page("/staff/tasks/?view=mine", role=Role.ACCOUNT_MANAGER),
    "tasks-team": staff_page("/staff/tasks/?view=team"),
    "task": staff_page(lambda w: f"/staff/tasks/{_task_id(w)}"),
    "task-status-error": staff_action(
        lambda w: f"/staff/tasks/{_task_id(w)}",
        _resolve_without_outcome,
    ),
    "task-rules": staff_page("/staff/tasks/rules"),
    "task-loop-report": staff_page("/staff/reports/loop"),
    "settings-brand": staff_page("/staff/settings/brand"),
    "settings-brand-logo-uploaded": staff_action("/staff/settings/brand", _upload_a_logo),
    "settings-brand-error": staff_action(
        "/staff/settings/brand",
        _fill_and_submit({"#brand-settings input[name=brand_color]": "blue"}, "#brand-settings button[type=submit]", "#brand-settings [role=alert]"),
    ),
}


def _task_id(world: StaffWorld) -> int:
    """The task the world's detractor answer ("3", "Zu viele Ausfälle.") created."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.followups.models import Task

    return db.session.scalar(select(Task.id).where(Task.account_id == world.account.id))


# --- the audit ------------------------------------------------------------------------------

PAGES = (
    [pytest.param(scenario, lang, id=f"{name}-{lang}") for name, scenario in CUSTOMER_PAGES.items() for lang in ("de", "en")]
    + [pytest.param(scenario, lang, id=f"{name}-{lang}") for name, scenario in LEARNER_PAGES.items() for lang in ("de", "en")]
    + [pytest.param(scenario, "en", id=name) for name, scenario in STAFF_PAGES.items()]
)


@pytest.mark.browser
@pytest.mark.accessibility
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize(("scenario", "lang"), PAGES)
def test_page_meets_wcag_aa(scenario, lang, viewport, audit_browser, live_server, axe_script, request):
    context = audit_browser.new_context(bypass_csp=True, locale=BROWSER_LOCALES[lang], **VIEWPORTS[viewport])
    try:
        page = context.new_page()
        visit = Visit(page=page, base=live_server, lang=lang, request=request)
        scenario(visit)
        assert page.evaluate("document.documentElement.lang") == (visit.page_lang or lang), "the page speaks another language than expected"
        violations = axe_violations(page, axe_script)
        assert not violations, describe(violations, page.url)
    finally:
        context.close()


# --- brand colours ------------------------------------------------------------------------
#
# The operator picks any colour; /brand.css derives the text on it, the darker shade and the
# link ink from it (portal/web/theme.py). Whether every colour stays readable is a matter of
# arithmetic, so it is computed for every colour of the 12-bit cube and a named set below,
# for each pair of colours that portal.css puts one on the other. A representative set of
# pages is then rendered in the named colours and audited in the browser, which checks that
# the stylesheet uses the colours the way the computed pairs assume.

#: Colours that once broke a rule or sit where rules are tight: light, mid-tone, saturated.
NAMED_BRAND_COLORS = [
    "#ffcc00",  # light: dark text on it, links must be darkened a lot
    "#797979",  # mid-tone: neither white nor near-black text reaches 4.5:1
    "#00a86b",  # dark text on it, and on its darker navigation shade
    "#2a9df4",
    "#e30613",
]
#: More colours, each its own case so a failure names it: the portal's default, black and
#: white, greys around the mid-tone, pure and mixed primaries, common telecom brand hues.
BRAND_COLOR_CASES = NAMED_BRAND_COLORS + [
    "#0b5cad", "#000000", "#ffffff", "#111111", "#eeeeee", "#777777", "#767676", "#808080",
    "#5a5a5a", "#a0a0a0", "#ff0000", "#00ff00", "#0000ff", "#ffff00", "#00ffff", "#ff00ff",
    "#e20074", "#ff7900", "#6a1b9a", "#1b5e20", "#004b87", "#c8102e", "#ffd100", "#00b5e2",
    "#8dc63f", "#f58220", "#003366", "#7fffd4", "#f5f5dc", "#2e2e2e",
]
#: Where portal.css puts brand-coloured text on another colour: (text, background, minimum
#: contrast), 4.5:1 for text (WCAG 1.4.3). Focus outlines and chart marks use the same inks
#: on the same backgrounds and need only 3:1 (1.4.11). Page backgrounds are white cards, the
#: page (--page) and the info tint (INK_BACKGROUND), the darkest of them.
LIGHT_BACKGROUNDS = ("#ffffff", "#f4f6f8", INK_BACKGROUND)
BRAND_PAIRS = (
    [("--on-brand", "--brand", 4.5), ("--on-brand", "--brand-strong", 4.5), ("--brand-strong", "--on-brand", 4.5)]
    + [("--brand-ink", background, 4.5) for background in LIGHT_BACKGROUNDS]
    + [("--brand-ink-strong", background, 4.5) for background in LIGHT_BACKGROUNDS]
)


def brand_variables(color: str) -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+): (#[0-9a-f]{6});", brand_stylesheet(color)))


def unreadable_pairs(color: str) -> list[str]:
    values = brand_variables(color)
    problems = []
    for foreground, background, minimum in BRAND_PAIRS:
        ratio = contrast_ratio(values.get(foreground, foreground), values.get(background, background))
        if ratio < minimum:
            problems.append(f"{foreground} on {background}: {ratio:.2f} < {minimum}")
    return problems


@pytest.mark.parametrize("color", BRAND_COLOR_CASES)
def test_brand_colour_pairs_meet_wcag_aa(color):
    assert unreadable_pairs(color) == [], color


def test_every_colour_of_the_12_bit_cube_meets_wcag_aa():
    colors = [f"#{r}{r}{g}{g}{b}{b}" for r in "0123456789abcdef" for g in "0123456789abcdef" for b in "0123456789abcdef"]
    failing = {color: problems for color in colors if (problems := unreadable_pairs(color))}
    assert failing == {}


def test_the_computed_pairs_are_the_ones_portal_css_uses():
    """Every rule that colours text with a brand variable has its background among the computed
    pairs: a new use of the brand colours in portal.css cannot go unchecked."""
    css = (REPOSITORY / "portal" / "web" / "static" / "css" / "portal.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    checked = {(foreground, background) for foreground, background, _minimum in BRAND_PAIRS}
    unchecked = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        text = re.search(r"(?:^|;)\s*color:\s*var\((--(?:brand|on-brand)[\w-]*)", body)
        if not text:
            continue
        background = re.search(r"background(?:-color)?:\s*(?:var\((--[\w-]+)|(#[0-9a-f]{6}))", body)
        backgrounds = [background.group(1) or background.group(2)] if background else list(LIGHT_BACKGROUNDS)
        if text.group(1) == "--on-brand" and not background:
            backgrounds = ["--brand", "--brand-strong"]  # on-brand text sits in the top bar or the staff navigation
        unchecked += [f"{selector.strip()}: {text.group(1)} on {b}" for b in backgrounds if (text.group(1), b) not in checked]
    assert unchecked == []


# Pages that show every use of the brand colours from /brand.css: the top bar and its
# links, the staff navigation, primary buttons, a chosen answer, links on the page
# background and in notes. Colours do not depend on the viewport. Each named colour is
# rendered on two of them, and each of them in at least one colour.
BRAND_PAGES = [
    ("survey-nps-preselected-de", CUSTOMER_PAGES["survey-nps-preselected"], "de"),
    ("dashboard", STAFF_PAGES["dashboard"], "en"),
    ("survey-validation-error-en", CUSTOMER_PAGES["survey-validation-error"], "en"),
    ("survey-editor-saved", STAFF_PAGES["survey-editor-saved"], "en"),
    ("learner-lesson-done-en", LEARNER_PAGES["learner-lesson-done"], "en"),
    ("courses-account-new-link", STAFF_PAGES["courses-account-new-link"], "en"),
    ("learner-quiz-result-htmx-en", LEARNER_PAGES["learner-quiz-result-htmx"], "en"),
    ("login-failed", STAFF_PAGES["login-failed"], "en"),
]
RENDERED_BRAND_CASES = [
    pytest.param(scenario, lang, color, id=f"{name}-{color}")
    for n, color in enumerate(NAMED_BRAND_COLORS)
    for name, scenario, lang in (BRAND_PAGES[(2 * n) % len(BRAND_PAGES)], BRAND_PAGES[(2 * n + 1) % len(BRAND_PAGES)])
]


@pytest.mark.browser
@pytest.mark.accessibility
@pytest.mark.parametrize(("scenario", "lang", "brand_color"), RENDERED_BRAND_CASES)
def test_any_brand_colour_meets_wcag_aa(scenario, lang, brand_color, audit_browser, live_server, axe_script, request):
    context = audit_browser.new_context(bypass_csp=True, locale=BROWSER_LOCALES[lang], **VIEWPORTS["desktop"])
    try:
        page = context.new_page()
        scenario(Visit(page=page, base=live_server, lang=lang, request=request))
        assert brand_color in page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--brand')")
        violations = axe_violations(page, axe_script)
        assert not violations, describe(violations, page.url)
    finally:
        context.close()
