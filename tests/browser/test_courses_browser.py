"""A customer's team member takes a course in a real browser: open the access
link, identify, read a lesson, mark it complete (the progress bar moves in
place), pass the quiz, reach the completion page. With and without JavaScript,
and on a phone."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.courses.models import LessonCompletion, QuizAttempt

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config, test_courses_dir):
    return {**app_config, "PORTAL_CONTENT_DIR": str(test_courses_dir)}


@pytest.fixture
def access_token(make_account, make_access_link):
    account = make_account(name="Müller Logistik GmbH", service_types=["sip_trunk"])
    _link, token = make_access_link(account)
    return token


def progress_value(page) -> str:
    return page.locator("#course--progress progress").get_attribute("value")


def identify(page, base: str, token: str) -> None:
    page.goto(f"{base}/learn/{token}")
    expect(page.get_by_role("heading", name="Online courses for Müller Logistik GmbH")).to_be_visible()
    page.get_by_label("Your name").fill("Lena Vogel")
    page.get_by_label("Your work email").fill("lena@mueller.example")
    page.get_by_role("button", name="Start learning").click()
    expect(page.get_by_role("heading", name="Your courses")).to_be_visible()
    expect(page.get_by_text("0 of 2 lessons completed")).to_be_visible()


def test_take_a_course_with_htmx(page, live_server, db, access_token, csp_violations):
    identify(page, live_server, access_token)
    page.get_by_role("link", name="Start the course").click()
    expect(page.get_by_role("heading", name="The beginning", level=1)).to_be_visible()
    expect(page.get_by_text("Every call uses one channel.")).to_be_visible()  # the lesson is there to read
    assert progress_value(page) == "0"

    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Mark as complete").click()
    expect(page.get_by_text("You completed this lesson")).to_be_visible()
    expect(page.get_by_text("1 of 2 lessons completed")).to_be_visible()  # the progress bar moved in place
    assert progress_value(page) == "1"
    assert page.evaluate("window.__sameDocument") is True  # swapped by htmx, no page load
    expect(page.get_by_role("link", name="Next lesson: The quiz")).to_be_focused()

    page.get_by_role("link", name="Next lesson: The quiz").click()
    expect(page.get_by_role("heading", name="The quiz", level=1)).to_be_visible()
    # answer by keyboard: focus an option, arrows move within the question
    page.get_by_role("radio", name="110", exact=True).focus()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="112", exact=True)).to_be_checked()
    page.get_by_role("radio", name="Session Initiation Protocol").check()
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Check my answers").click()
    expect(page.get_by_text("Passed: 100 % of your answers are correct.")).to_be_visible()
    expect(page.get_by_text("All 2 lessons completed")).to_be_visible()
    assert progress_value(page) == "2"
    assert page.evaluate("window.__sameDocument") is True

    page.get_by_role("link", name="Course completed: see your summary").click()
    expect(page.get_by_role("heading", name="Course completed")).to_be_visible()
    expect(page.get_by_text("Well done, Lena Vogel")).to_be_visible()
    db.session.rollback()
    assert db.session.scalar(select(func.count(LessonCompletion.id))) == 2
    assert db.session.scalar(select(QuizAttempt.score_percent)) == 100
    assert csp_violations == []


def test_a_failed_quiz_can_be_retaken_in_place(page, live_server, access_token):
    identify(page, live_server, access_token)
    page.goto(f"{live_server}/learn/courses/net-basics/lessons/quiz")
    page.get_by_role("radio", name="110", exact=True).check()
    page.get_by_role("radio", name="Simple Internet Phone").check()
    page.get_by_role("button", name="Check my answers").click()
    expect(page.get_by_text("Not passed yet: 0 %")).to_be_visible()
    expect(page.get_by_text("Die 112 erreicht Feuerwehr und Rettungsdienst.")).to_be_visible()
    page.get_by_role("radio", name="112", exact=True).check()
    page.get_by_role("radio", name="Session Initiation Protocol").check()
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_text("Passed: 100 %")).to_be_visible()


def test_take_a_course_without_javascript(no_js_page, live_server, access_token):
    page = no_js_page
    identify(page, live_server, access_token)
    page.get_by_role("link", name="Start the course").click()
    page.get_by_role("button", name="Mark as complete").click()
    expect(page.get_by_text("You completed this lesson")).to_be_visible()
    expect(page.get_by_text("1 of 2 lessons completed")).to_be_visible()
    page.get_by_role("link", name="Next lesson: The quiz").click()
    page.get_by_role("radio", name="112", exact=True).check()
    page.get_by_role("radio", name="Session Initiation Protocol").check()
    page.get_by_role("button", name="Check my answers").click()
    expect(page.get_by_text("Passed: 100 %")).to_be_visible()
    expect(page.get_by_text("All 2 lessons completed")).to_be_visible()
    page.get_by_role("link", name="Course completed: see your summary").click()
    expect(page.get_by_role("heading", name="Course completed")).to_be_visible()


def test_a_lesson_fits_a_phone_and_is_tappable(browser, live_server, access_token):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    identify(page, live_server, access_token)
    page.goto(f"{live_server}/learn/courses/net-basics/lessons/start")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the lesson scrolls sideways by {overflow}px on a phone"
    button = page.get_by_role("button", name="Mark as complete")
    box = button.bounding_box()
    assert box["height"] >= 44, "tap targets are at least 44px high"
    button.tap()
    expect(page.get_by_text("1 of 2 lessons completed")).to_be_visible()
    page.goto(f"{live_server}/learn/courses/net-basics/lessons/quiz")
    option = page.locator("label.quiz-option").first
    assert option.bounding_box()["height"] >= 44
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    context.close()


def test_a_failed_sign_up_puts_the_focus_on_the_first_field_in_error(page, live_server, access_token):
    page.goto(f"{live_server}/learn/{access_token}")
    page.get_by_label("Your work email").fill("not-an-email")
    page.get_by_role("button", name="Start learning").click()
    expect(page.get_by_text("Please correct the marked fields.")).to_be_visible()
    expect(page.get_by_label("Your name")).to_be_focused()  # not <body>
    page.get_by_label("Your name").fill("Lena Vogel")
    page.get_by_role("button", name="Start learning").click()
    expect(page.get_by_label("Your work email")).to_be_focused()


def test_a_wide_lesson_table_scrolls_on_a_phone_and_keeps_its_words(browser, live_server):
    """A lesson table wider than a phone, styled by the portal's stylesheet."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_content(
        '<link rel="stylesheet" href="' + live_server + '/static/css/portal.css">'
        '<div class="lesson-content"><table><tr><th>Merkmal</th><th>Voraussetzung</th><th>Beschreibung</th><th>Einrichtungsaufwand</th></tr>'
        "<tr><td>Rufnummernportierung</td><td>Kündigungsbestätigung</td><td>Die bisherige Rufnummer bleibt erhalten.</td><td>Mittel</td></tr></table></div>"
    )
    page.wait_for_load_state("networkidle")
    for word in ("Merkmal", "Voraussetzung", "Rufnummernportierung"):
        cell = page.get_by_text(word, exact=True)
        lines = page.evaluate(
            "(e) => { const r = document.createRange(); r.selectNodeContents(e); return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }",
            cell.element_handle(),
        )
        assert lines == 1, f"{word} is broken over {lines} lines"
    table = page.locator("table")
    assert page.evaluate("(t) => t.scrollWidth > t.clientWidth", table.element_handle())  # it scrolls inside the lesson
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
