"""An account manager works a follow-up task in a real browser: from "My
tasks" to the task, a call logged and the task resolved; with htmx the panel
and the navigation count change in place, without JavaScript the same forms
post and come back. On a phone."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.auth.models import Role
from portal.followups.models import Task, TaskStatus
from tests.conftest import PASSWORD
from tests.test_followups_rules import answered  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def manager_with_task(db, make_staff, make_account, make_contact, answered):  # noqa: F811
    manager = make_staff(Role.ACCOUNT_MANAGER, email="anna@operator.example", name="Anna Keller")
    account = make_account(name="Müller Logistik GmbH", account_manager=manager)
    response = answered(2, "Wir denken ans Kündigen.", contact=make_contact(account=account, name="Lena Vogel"))
    return manager, db.session.scalar(select(Task).where(Task.response_id == response.id))


def sign_in(page, base: str, user) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Follow-up tasks")).to_be_visible()  # account managers land on their tasks


def work_the_task(page, base: str, user) -> None:
    sign_in(page, base, user)
    page.get_by_role("link", name="Follow up with Müller Logistik GmbH").click()
    expect(page.get_by_text("Wir denken ans Kündigen.")).to_be_visible()
    page.get_by_label("What you did").select_option("call")
    page.get_by_label("Notes").fill("Angerufen: Leitung wird morgen getauscht.")
    page.get_by_role("button", name="Log it").click()
    expect(page.locator(".activity-log").get_by_text("Angerufen: Leitung wird morgen getauscht.")).to_be_visible()
    page.get_by_label("New status").select_option("resolved")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("alert")).to_contain_text("Write the outcome")  # resolving needs an outcome
    page.get_by_label("New status").select_option("resolved")
    page.get_by_label("Outcome").fill("Leitung getauscht, Kunde zufrieden.")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("#task-panel .task-status-resolved")).to_be_visible()


def test_working_a_task_with_htmx(page, live_server, manager_with_task, db, csp_violations):
    manager, task = manager_with_task
    work_the_task(page, live_server, manager)
    expect(page.locator("#nav-count-followups-tasks")).to_contain_text("0")  # the navigation count, swapped out-of-band
    db.session.rollback()  # see what the live server committed
    assert db.session.get(Task, task.id).status == TaskStatus.RESOLVED
    assert csp_violations == []


def test_working_a_task_without_javascript(no_js_page, live_server, manager_with_task, db):
    manager, task = manager_with_task
    work_the_task(no_js_page, live_server, manager)
    db.session.rollback()  # see what the live server committed
    assert db.session.get(Task, task.id).status == TaskStatus.RESOLVED


def test_my_tasks_on_a_phone(browser, live_server, manager_with_task):
    manager, _task = manager_with_task
    page = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(page, live_server, manager)
    expect(page.get_by_role("link", name="Follow up with Müller Logistik GmbH")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Reports")).to_be_hidden()  # folded into the menu
    page.get_by_text("Menu").click()
    expect(page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Reports")).to_be_visible()
    page.get_by_role("link", name="Follow up with Müller Logistik GmbH").click()  # the task itself, on the phone
    expect(page.get_by_role("button", name="Log it")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label("What you did").select_option("call")
    page.get_by_label("Notes").fill("Vom Handy aus angerufen.")
    page.get_by_role("button", name="Log it").click()
    expect(page.locator(".activity-log").get_by_text("Vom Handy aus angerufen.")).to_be_visible()
    page.screenshot(path="/tmp/h3_task_phone.png", full_page=True)
    page.close()
