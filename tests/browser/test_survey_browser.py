"""A customer answers a survey in a real browser: by keyboard, by tap, without JavaScript."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.surveys.models import Response

pytestmark = pytest.mark.browser


def stored(db) -> Response:
    db.session.rollback()
    return db.session.scalar(select(Response))


def test_answer_by_keyboard(page, live_server, db, make_invitation, csp_violations):
    invitation, token = make_invitation(kind="nps")
    page.goto(f"{live_server}/s/{token}")
    expect(page.get_by_text("Frage 1 von 2")).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    page.keyboard.press("Tab")  # skip link
    page.get_by_role("radio", name="8", exact=True).focus()
    page.keyboard.press("ArrowRight")  # 8 -> 9
    expect(page.get_by_role("radio", name="9", exact=True)).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Frage 2 von 2")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True  # htmx swapped the step in place
    follow_up = page.get_by_label("Was gefällt Ihnen besonders an uns?", exact=False)
    expect(follow_up).to_be_focused()  # focus moved to the new question
    page.keyboard.type("Schnelle Hilfe bei der Portierung.")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Absenden")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Vielen Dank!")).to_be_visible()
    response = stored(db)
    assert response.nps_score == 9 and response.comment == "Schnelle Hilfe bei der Portierung." and response.completed_at
    assert csp_violations == []


def test_answer_by_tap_on_a_phone(browser, live_server, db, make_invitation):
    context = browser.new_context(viewport={"width": 360, "height": 720}, is_mobile=True, has_touch=True)
    page = context.new_page()
    invitation, token = make_invitation(kind="nps")
    page.goto(f"{live_server}/s/{token}?score=6")
    expect(page.get_by_role("radio", name="6", exact=True)).to_be_checked()  # preselected from the email
    assert stored(db) is None  # …but not saved
    page.get_by_role("radio", name="10").tap()
    page.get_by_role("button", name="Weiter").tap()
    expect(page.get_by_text("Frage 2 von 2")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    box = page.get_by_role("button", name="Absenden").bounding_box()
    assert box["height"] >= 44  # a thumb-sized target
    page.get_by_role("button", name="Absenden").tap()
    expect(page.get_by_role("heading", name="Vielen Dank!")).to_be_visible()
    assert stored(db).nps_score == 10
    context.close()


def test_answer_without_javascript(no_js_page, live_server, db, make_invitation):
    page = no_js_page
    invitation, token = make_invitation(kind="nps")
    page.goto(f"{live_server}/s/{token}")
    page.get_by_role("radio", name="3", exact=True).click()
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Das tut uns leid", exact=False)).to_be_visible()
    page.get_by_role("textbox").fill("Zu viele Ausfälle im Oktober.")
    page.get_by_role("button", name="Absenden").click()
    expect(page.get_by_role("heading", name="Vielen Dank!")).to_be_visible()
    response = stored(db)
    assert response.nps_score == 3 and response.nps_category == "detractor" and response.comment.startswith("Zu viele")


def test_a_missing_required_answer_is_explained(page, live_server, make_invitation):
    invitation, token = make_invitation(kind="nps")
    page.goto(f"{live_server}/s/{token}")
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_role("alert")).to_contain_text("Bitte wählen Sie eine Antwort.")


def test_on_a_phone_the_0_to_10_scale_is_one_row_with_the_labels_under_0_and_10(browser, live_server, make_invitation):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    _invitation, token = make_invitation(kind="nps")
    page.goto(f"{live_server}/s/{token}")
    zero = page.locator(".scale-option").first.bounding_box()
    ten = page.locator(".scale-option").last.bounding_box()
    assert abs(zero["y"] - ten["y"]) < 1  # one row, not 6 + 5
    assert zero["width"] >= 24 and zero["height"] >= 44  # WCAG 2.5.8 and thumb height
    low, high = (page.locator(".scale-ends span").nth(i).bounding_box() for i in (0, 1))
    assert low["y"] > zero["y"] + zero["height"] - 1 and abs(low["x"] - zero["x"]) < 4  # under 0
    assert abs((high["x"] + high["width"]) - (ten["x"] + ten["width"])) < 4  # under 10
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_the_please_choose_message_goes_once_a_score_is_picked(page, live_server, make_invitation):
    _invitation, token = make_invitation(kind="nps")
    page.goto(f"{live_server}/s/{token}")
    page.get_by_role("button", name="Weiter").click()
    message = page.get_by_text("Bitte wählen Sie eine Antwort.")
    expect(message).to_be_visible()
    page.get_by_role("radio", name="7", exact=True).check()
    expect(message).to_be_hidden()


@pytest.mark.parametrize("width", [320, 390])
def test_the_invitation_emails_score_row_fits_a_phone(browser, login_as, make_survey, width):
    """The 0–10 links of an NPS invitation stay one row inside a phone's width (mail apps
    show the HTML as it is: a row wider than the screen scrolls sideways)."""
    from portal.auth.models import Role

    survey = make_survey("nps")
    html = login_as(Role.ADMIN).get(f"/staff/surveys/{survey.id}/preview/email.html?email_language=de").get_data(as_text=True)
    context = browser.new_context(viewport={"width": width, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    page.set_content(html)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    tops = page.locator("table[role=presentation] td a").evaluate_all("links => links.map(a => Math.round(a.getBoundingClientRect().top))")
    assert len(tops) >= 11 and len(set(tops[:11])) == 1, "the eleven scores wrap onto several rows"
    context.close()
