"""A staff member signs in, live-searches accounts and opens one: with
JavaScript (htmx swapping results under the CSP) and without it."""

import pytest
from playwright.sync_api import expect

from portal.auth.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def staff_and_accounts(make_staff, make_account, make_contact, make_ticket):
    user = make_staff(Role.MANAGER, email="lead@operator.example", name="Lea Leitung")
    for n in range(30):
        make_account(name=f"Firma {n:02d} GmbH", region="Nord")
    target = make_account(name="Müller Logistik GmbH", region="Süd", service_types=["sip_trunk", "connectivity"])
    make_ticket(contact=make_contact(account=target, name="Lena Vogel"), subject="Echo bei Gesprächen")
    return user, target


def sign_in(page, base_url: str, user) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"Hello, {user.name}")).to_be_visible()


def test_live_search_swaps_results_in_place(page, live_server, staff_and_accounts, csp_violations):
    user, target = staff_and_accounts
    sign_in(page, live_server, user)
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Accounts").click()
    expect(page.get_by_text("Accounts 1–25 of 31")).to_be_visible()

    page.evaluate("window.__sameDocument = true")  # survives only if htmx swaps instead of navigating
    page.get_by_label("Search").press_sequentially("Müller", delay=30)
    expect(page.get_by_text("Accounts 1–1 of 1")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True
    assert "q=M%C3%BCller" in page.url or "q=Müller" in page.url  # the URL is shareable

    page.get_by_role("link", name="Müller Logistik GmbH").click()
    expect(page.get_by_role("heading", name="Müller Logistik GmbH", level=1)).to_be_visible()
    expect(page.get_by_text("Echo bei Gesprächen")).to_be_visible()
    assert csp_violations == []


def test_filters_and_paging_work_by_keyboard(page, live_server, staff_and_accounts):
    user, _target = staff_and_accounts
    sign_in(page, live_server, user)
    page.goto(f"{live_server}/staff/accounts/")
    page.get_by_label("Region").select_option("Süd")
    expect(page.get_by_text("Accounts 1–1 of 1")).to_be_visible()
    page.get_by_label("Region").select_option("")
    expect(page.get_by_text("Accounts 1–25 of 31")).to_be_visible()
    page.get_by_role("link", name="Next").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Accounts 26–31 of 31")).to_be_visible()
    page.go_back()  # history restore asks the server for the whole page
    expect(page.get_by_text("Accounts 1–25 of 31")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()


def test_everything_works_without_javascript(no_js_page, live_server, staff_and_accounts):
    page = no_js_page
    user, _target = staff_and_accounts
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/staff/accounts/")
    page.get_by_label("Search").fill("Müller")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("Accounts 1–1 of 1")).to_be_visible()
    page.get_by_role("link", name="Müller Logistik GmbH").click()
    expect(page.get_by_role("heading", name="Müller Logistik GmbH", level=1)).to_be_visible()
    page.get_by_role("button", name="Deutsch").click()
    expect(page.get_by_role("heading", name="Kontakte")).to_be_visible()
    page.get_by_role("button", name="Abmelden").click()
    expect(page).to_have_url(f"{live_server}/login")


def test_the_accounts_page_fits_a_phone(browser, live_server, staff_and_accounts):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    user, _ = staff_and_accounts
    sign_in(page, live_server, user)
    page.goto(f"{live_server}/staff/accounts/")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    page.get_by_label("Search").tap()
    page.get_by_label("Search").fill("Firma 07")
    expect(page.get_by_text("Accounts 1–1 of 1")).to_be_visible()
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_staff_header_on_a_phone_is_one_line_with_a_menu_holding_the_rest(browser, live_server, staff_and_accounts, javascript):
    """Issue 12.4: on a 390 px phone the header is the brand with the languages (DE/EN) on one
    line and a menu below; the navigation, the profile and "Sign out" are in the menu,
    which opens without JavaScript too."""
    user, _target = staff_and_accounts
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"Hello, {user.name}")).to_be_visible()
    page.wait_for_load_state("load")  # measured once every stylesheet and script of the page is in

    brand_line = page.locator(".topbar-inner").bounding_box()
    assert brand_line["height"] <= 64, f"the header wraps: {brand_line['height']} px high"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("button", name="EN")).to_be_visible()  # the languages as codes, beside the brand
    menu = page.get_by_role("navigation", name="Main navigation")
    expect(menu.get_by_role("link", name="Accounts")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()

    menu.get_by_text("Menu: Dashboard").click()
    expect(menu.get_by_role("link", name="Accounts")).to_be_visible()
    expect(menu.get_by_role("link", name=user.name)).to_be_visible()
    menu.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server}/login")
    context.close()


def test_on_a_desk_the_header_keeps_the_names_and_the_menu_items_show_in_a_row(page, live_server, staff_and_accounts):
    user, _target = staff_and_accounts
    sign_in(page, live_server, user)
    expect(page.get_by_role("button", name="English")).to_be_visible()
    expect(page.locator(".account-tools").get_by_role("button", name="Sign out")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="Accounts")).to_be_visible()
    expect(nav.get_by_role("button", name="Sign out")).to_be_hidden()  # the phone's copy stays out of the way
