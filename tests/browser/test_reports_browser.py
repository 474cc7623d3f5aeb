"""A manager filters a report in a real browser: with htmx the results swap in
place and the URL is pushed (back and forward restore the views); without
JavaScript the same GET form gives the same report. On a phone too."""

import random
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.auth.models import Role
from portal.reports import rollup
from portal.web.transaction import unit_of_work
from tests.browser.test_staff_shell import sign_in
from tests.test_reports_engine import TODAY, seed_history

pytestmark = pytest.mark.browser
PERIOD = f"from={(TODAY - timedelta(days=180)).isoformat()}&to={TODAY.isoformat()}"


def multi_select(page, field: str):
    """A filter's multi-select (a <details> of checkboxes), by the name its summary shows."""
    return page.locator(".multi-select").filter(has=page.locator(".multi-label", has_text=re.compile(f"^{re.escape(field)}$")))


def choose(page, field: str, *options: str) -> None:
    """Tick options in a filter's multi-select, opening it first."""
    select = multi_select(page, field)
    if select.get_attribute("open") is None:
        select.locator("summary").click()
    for option in options:
        select.get_by_label(option, exact=True).check()


def chosen(page, field: str) -> list[str]:
    return multi_select(page, field).locator("input:checked").evaluate_all("(inputs) => inputs.map((input) => input.value)")


@pytest.fixture
def manager(db, make_staff):
    seed_history(random.Random(3), answers=250)
    with unit_of_work():
        rollup.rebuild()
    return make_staff(Role.MANAGER, email="lead@operator.example", name="Lea Leitung")


def test_filtering_swaps_the_report_and_pushes_the_url(page, live_server, manager, csp_violations):
    sign_in(page, live_server, manager)
    page.goto(f"{live_server}/staff/reports?{PERIOD}")
    expect(page.get_by_role("heading", name="NPS over time")).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    choose(page, "Region", "Nord")
    page.get_by_label("Over time by").select_option("month")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"region=Nord.*|.*interval=month.*region=Nord"))
    expect(page.get_by_text("filtered", exact=False).first).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True  # swapped by htmx
    assert "interval=month" in page.url
    page.go_back()
    expect(page).not_to_have_url(re.compile("region=Nord"))
    expect(page.get_by_role("heading", name="NPS over time")).to_be_visible()
    expect(multi_select(page, "Region").locator("input:checked")).to_have_count(0)  # the whole previous view, its form too
    expect(page.locator("#report-results [role=status]").first).not_to_contain_text("filtered")
    page.go_forward()
    expect(page).to_have_url(re.compile("region=Nord"))
    expect(multi_select(page, "Region").locator("input:checked")).to_have_count(1)
    assert chosen(page, "Region") == ["Nord"]
    assert csp_violations == []


def test_filtering_without_javascript(no_js_page, live_server, manager):
    page = no_js_page
    sign_in(page, live_server, manager)
    page.goto(f"{live_server}/staff/reports?{PERIOD}")
    choose(page, "Region", "Süd")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile("region=S%C3%BCd"))
    expect(page.get_by_role("heading", name="NPS by segment")).to_be_visible()
    page.get_by_role("link", name="Süd").first.click()  # the answers behind the segment
    expect(page.get_by_role("heading", name="Answers and comments")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_filtering_on_a_phone(browser, live_server, manager, javascript):
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=javascript)
    page = context.new_page()
    sign_in(page, live_server, manager)
    page.goto(f"{live_server}/staff/reports?{PERIOD}")
    expect(page.get_by_role("heading", name="NPS over time")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    before = page.locator("#chart-nps-title").locator("..").inner_html()
    page.get_by_label("Over time by").select_option("week")  # 180 days read by month unless asked
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile("interval=week"))
    expect(page.locator("#report-results table").first).to_contain_text(re.compile(r"W\d+ 2026"))  # weeks as people write them
    assert page.locator("#chart-nps-title").locator("..").inner_html() != before  # the chart was redrawn by week
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.go_back()
    expect(page).not_to_have_url(re.compile("interval=week"))
    expect(page.locator("#report-results table").first).not_to_contain_text("-W")
    if javascript:  # htmx fetches the whole page again; without JavaScript the browser keeps what was picked in the form
        expect(page.get_by_label("Over time by")).to_have_value("month")
    page.get_by_role("link", name="Last 30 days").click()  # a preset keeps the filters, changes the dates
    expect(page).to_have_url(re.compile("from="))
    expect(page.get_by_role("link", name="Last 30 days")).to_have_attribute("aria-current", "true")
    context.close()


def test_a_long_list_narrows_as_one_types_and_names_the_choice(page, live_server, manager, make_account, csp_violations):
    """The account filter (one checkbox per account) with a text box that narrows it:
    case and accents do not matter; what is ticked is named on the closed list and sent
    as the same account=<external id> parameter."""
    from portal.customers.models import Account
    from portal.extensions import db

    db.session.get(Account, db.session.scalar(db.select(Account.id).where(Account.external_id == "ACC-3"))).name = "Müller Logistik"
    db.session.commit()
    for n in range(10):
        make_account(name=f"Firma {n} GmbH", external_id=f"EXTRA-{n}")
    sign_in(page, live_server, manager)
    page.goto(f"{live_server}/staff/reports?{PERIOD}")
    accounts = multi_select(page, "Account")
    expect(accounts.locator(".multi-chosen")).to_have_text("all")
    accounts.locator("summary").click()
    every = accounts.locator("li:visible").count()
    accounts.get_by_role("searchbox").fill("MULLER")
    accounts.get_by_role("searchbox").press("Enter")  # narrows only: nothing is sent yet
    expect(accounts.locator("li:visible")).to_have_count(1)
    assert "account=" not in page.url
    assert every > 1
    accounts.get_by_label("Müller Logistik").check()
    expect(accounts.locator(".multi-chosen")).to_have_text("Müller Logistik")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile("account=ACC-3"))
    expect(page.get_by_text("filtered", exact=False).first).to_be_visible()
    assert csp_violations == []


def test_without_javascript_the_lists_have_no_dead_text_box(no_js_page, live_server, manager):
    page = no_js_page
    sign_in(page, live_server, manager)
    page.goto(f"{live_server}/staff/reports?{PERIOD}&account=ACC-2")
    accounts = multi_select(page, "Account")
    expect(accounts.locator(".multi-chosen")).to_have_text("Kunde 2")
    accounts.locator("summary").click()
    expect(accounts.get_by_role("searchbox")).to_have_count(0)
    assert accounts.locator("input:checked").evaluate_all("(inputs) => inputs.map((input) => input.value)") == ["ACC-2"]
    assert accounts.locator("li").first.inner_text().strip() == "Kunde 2"  # the chosen first
