"""On a 390 px phone no staff page is wider than the screen, every table keeps
its column names, and the report's chart text is readable there.

The pages come from the app's url_map (every GET route under /staff that
answers with HTML), so a page added later is measured without anyone editing
this file; a route whose path names a record this file does not know fails
until PATH_VALUES learns it.
"""

from __future__ import annotations

import re

import pytest

from portal.auth.models import Role
from tests.browser.test_accessibility import VIEWPORTS, Visit, _staff_world, _task_id, answer, sign_in
from tests.conftest import login

pytestmark = pytest.mark.browser

PHONE = VIEWPORTS["phone"]
WIDTH = PHONE["viewport"]["width"]
_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


def path_values_of_nothing() -> dict[str, str]:
    """The path variables that name no record: a course of the catalog and its last lesson, a file, a table."""
    from portal.courses import services as courses

    course = courses.get_catalog().published()[0]
    return {"course_slug": course.slug, "lesson_slug": course.lessons[-1].slug, "name": "none.png", "table": "ticket_category"}


def path_values(world) -> dict[str, str]:
    """A real record for every variable a staff path names."""
    return {
        **path_values_of_nothing(),
        "account_id": str(world.account.id),
        "learner_id": str(world.learner.id),
        "message_id": str(world.message.id),
        "survey_id": str(world.survey.id),
        "task_id": str(_task_id(world)),
    }


def staff_pages(app, values: dict[str, str]) -> list[str]:
    rules = sorted((rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff") and "GET" in rule.methods), key=lambda rule: rule.rule)
    unknown = {name for rule in rules for name in rule.arguments if name not in values}
    assert not unknown, f"add a value for {sorted(unknown)} to path_values()"
    return [_VARIABLE.sub(lambda match: values[match.group(1)], rule.rule) for rule in rules]


#: Besides each route's plain page, states that show more: filters chosen, a form with errors.
EXTRA_PAGES = [
    "/staff/reports?interval=month&region=S%C3%BCd",
    "/staff/reports?interval=day",
    "/staff/reports/responses?comments=1",
    "/staff/accounts/?q=nothing-matches-this",
    "/staff/tasks/?view=team",
]


def overflow(page) -> dict:
    """How wide the document is, and the widest elements that stick out (to name the culprit)."""
    return page.evaluate(
        """(limit) => ({
            width: document.documentElement.scrollWidth,
            culprits: [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > limit + 0.5)
                .slice(-5)
                .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} right=${Math.round(el.getBoundingClientRect().right)}`),
        })""",
        WIDTH,
    )


def unlabelled_tables(page) -> list[str]:
    """Tables that show a value without its column's name: the header row is hidden and a cell has no data-label."""
    return page.evaluate(
        """() => [...document.querySelectorAll('table')].filter((table) => {
            const head = table.querySelector('thead');
            const headShown = head && head.getBoundingClientRect().height > 1;
            return !headShown && [...table.querySelectorAll('td')].some((cell) => !cell.dataset.label);
        }).map((table) => table.className + ': ' + (table.querySelector('caption, th') || {}).textContent)"""
    )


def measure(page, base: str, client, paths: list[str]) -> None:
    """Open each path that is a page (not a download, not an email's body) on the phone and
    fail naming every page wider than the screen and every table without its labels."""
    too_wide, unlabelled, measured = [], [], 0
    for path in paths:
        probe = client.get(path)
        if not probe.content_type.startswith("text/html") or probe.status_code >= 300:
            continue  # a download
        if probe.headers.get("Content-Security-Policy", "").startswith("sandbox"):
            continue  # an email's body, shown in a frame of the page that is measured
        page.goto(base + path)
        page.evaluate("document.querySelectorAll('details').forEach((details) => { details.open = true; })")  # what a tap shows counts too
        measured += 1
        result = overflow(page)
        if result["width"] > WIDTH:
            too_wide.append(f"{path}: {result['width']} px ({'; '.join(result['culprits'])})")
        unlabelled += [f"{path}: {table}" for table in unlabelled_tables(page)]
    assert measured >= 24
    assert not too_wide, "\n".join(too_wide)
    assert not unlabelled, "\n".join(unlabelled)


def test_no_staff_page_is_wider_than_a_390_px_phone(audit_browser, live_server, request, app, make_staff, make_invitation):
    context = audit_browser.new_context(**PHONE)
    try:
        page = context.new_page()
        visit = Visit(page=page, base=live_server, lang="de", request=request)
        world = _staff_world(visit)
        sign_in(visit, Role.ADMIN)
        client = app.test_client()  # to tell pages from downloads (CSV, files)
        assert login(client, make_staff(Role.ADMIN)).status_code == 303
        invitation, token = make_invitation(kind="nps", contact=world.account.contacts[0])
        answer(visit, token, invitation.survey, "9", "Inzwischen gut.")  # the task page lists it among the contact's answers
        measure(page, live_server, client, staff_pages(app, path_values(world)) + EXTRA_PAGES)
    finally:
        context.close()


def test_no_page_of_the_demo_is_wider_than_a_390_px_phone(audit_browser, live_server, request, app, db, make_staff):
    """The same on the demo operator (200 accounts, a year of answers, long names), as a new user first sees it."""
    from sqlalchemy import select

    from portal.courses.models import Learner
    from portal.customers.models import Account
    from portal.followups.models import Task
    from portal.mail.models import OutboxMessage
    from portal.surveys.models import Survey

    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    first = lambda model: db.session.scalar(select(model.id).order_by(model.id).limit(1))  # noqa: E731
    values = {**path_values_of_nothing(), "account_id": first(Account), "learner_id": first(Learner), "message_id": first(OutboxMessage),
              "survey_id": first(Survey), "task_id": first(Task)}
    paths = [path for path in staff_pages(app, {name: str(value) for name, value in values.items()}) if "/None" not in path]
    context = audit_browser.new_context(**PHONE)
    try:
        page = context.new_page()
        visit = Visit(page=page, base=live_server, lang="de", request=request)
        sign_in(visit, Role.ADMIN)
        client = app.test_client()
        assert login(client, make_staff(Role.ADMIN)).status_code == 303
        measure(page, live_server, client, paths + EXTRA_PAGES)
    finally:
        context.close()


def test_chart_text_is_at_least_11_px_on_a_phone(audit_browser, live_server, request):
    context = audit_browser.new_context(**PHONE)
    try:
        page = context.new_page()
        visit = Visit(page=page, base=live_server, lang="de", request=request)
        _staff_world(visit)
        sign_in(visit, Role.ADMIN)
        page.goto(live_server + "/staff/reports")
        sizes = page.evaluate(
            """() => [...document.querySelectorAll('.chart-svg text')].map(
                (text) => parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a)"""
        )
        assert sizes and min(sizes) >= 11, sizes
    finally:
        context.close()
