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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portal.auth.models import Role
from tests.conftest import PASSWORD, csrf_token
from tests.course_content import write_test_courses

pytestmark = [pytest.mark.browser, pytest.mark.accessibility]

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
def app_config(app_config, tmp_path, brand_color):
    config = {**app_config, "PORTAL_CONTENT_DIR": str(write_test_courses(tmp_path / "content"))}
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


def _staff_world(visit: Visit) -> StaffWorld:
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


def sign_in(visit: Visit, role: str = Role.ADMIN) -> None:
    user = visit.fixture("make_staff")(role, name="Ada Admin")
    page = visit.page
    page.goto(f"{visit.base}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".staff-nav")).to_be_visible()  # signed in: each role lands on its own first page


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


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize(("scenario", "lang"), PAGES)
def test_page_meets_wcag_aa(scenario, lang, viewport, browser, live_server, axe_script, request):
    context = browser.new_context(bypass_csp=True, locale=BROWSER_LOCALES[lang], **VIEWPORTS[viewport])
    try:
        page = context.new_page()
        visit = Visit(page=page, base=live_server, lang=lang, request=request)
        scenario(visit)
        assert page.evaluate("document.documentElement.lang") == (visit.page_lang or lang), "the page speaks another language than expected"
        violations = axe_violations(page, axe_script)
        assert not violations, describe(violations, page.url)
    finally:
        context.close()


# Pages that show every use of the brand colours from /brand.css: the top bar and its
# links, the staff navigation, primary buttons, a chosen answer, links on the page
# background and in notes. Colours do not depend on the viewport.
BRAND_PAGES = [
    pytest.param(CUSTOMER_PAGES["survey-nps-preselected"], "de", id="survey-nps-preselected-de"),
    pytest.param(CUSTOMER_PAGES["survey-validation-error"], "en", id="survey-validation-error-en"),
    pytest.param(LEARNER_PAGES["learner-lesson-done"], "en", id="learner-lesson-done-en"),
    pytest.param(LEARNER_PAGES["learner-quiz-result-htmx"], "en", id="learner-quiz-result-htmx-en"),
    pytest.param(STAFF_PAGES["login-failed"], "en", id="login-failed"),
    pytest.param(STAFF_PAGES["dashboard"], "en", id="dashboard"),
    pytest.param(STAFF_PAGES["survey-editor-saved"], "en", id="survey-editor-saved"),
    pytest.param(STAFF_PAGES["courses-account-new-link"], "en", id="courses-account-new-link"),
]


@pytest.mark.parametrize(
    "brand_color",
    [
        "#ffcc00",  # light: dark text on it, links must be darkened a lot
        "#797979",  # mid-tone: neither white nor near-black text reaches 4.5:1
        "#00a86b",  # dark text on it, and on its darker navigation shade
        "#2a9df4",
        "#e30613",
    ],
)
@pytest.mark.parametrize(("scenario", "lang"), BRAND_PAGES)
def test_any_brand_colour_meets_wcag_aa(scenario, lang, brand_color, browser, live_server, axe_script, request):
    context = browser.new_context(bypass_csp=True, locale=BROWSER_LOCALES[lang], **VIEWPORTS["desktop"])
    try:
        page = context.new_page()
        scenario(Visit(page=page, base=live_server, lang=lang, request=request))
        assert brand_color in page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--brand')")
        violations = axe_violations(page, axe_script)
        assert not violations, describe(violations, page.url)
    finally:
        context.close()
