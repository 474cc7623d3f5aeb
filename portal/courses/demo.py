"""The demo's course access link (``flask --app portal demo seed``)."""

from __future__ import annotations

from sqlalchemy import select

from portal.courses import services
from portal.courses.models import CourseAccessLink
from portal.customers.models import Account
from portal.extensions import db

#: The URL made by the last seed in this process (the raw token exists only then).
last_link_url: str | None = None


def seed_course_access(production: bool = False) -> str | None:
    """An access link for the first demo account.

    In development every seed makes a fresh link and returns its URL: only the
    token's hash is stored, so an older link's URL cannot be shown again. In
    production a link is made only if the account has none, and not shown.
    """
    global last_link_url
    account = db.session.scalar(select(Account).order_by(Account.id).limit(1))
    if account is None:
        return None
    if production:
        if db.session.scalar(select(CourseAccessLink.id).where(CourseAccessLink.account_id == account.id).limit(1)) is None:
            services.create_access_link(account, reminder_days=7)
        return None
    _link, raw = services.create_access_link(account, reminder_days=7)
    last_link_url = services.access_url(raw)
    return last_link_url


def course_link_lines() -> list[str]:
    if not last_link_url:
        return []
    account = db.session.scalar(select(Account).order_by(Account.id).limit(1))
    return [f"Course access link ({account.name if account else 'demo account'}):", f"  {last_link_url}"]
