"""A task's title in the reader's language (stored as values, worded when shown), and whose language that is."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.auth.models import StaffUser
from portal.config import SUPPORTED_LOCALES
from portal.followups.models import Task


def default_locale() -> str:
    """The operator's language (emails to nobody in particular, the CRM's titles)."""
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _title_text(values: dict) -> str:
    account = values.get("account", "")
    reason = values.get("reason")
    if reason == "nps":
        return _("Follow up with %(account)s — NPS fell to %(score)s", account=account, score=values.get("score"))
    if reason == "csat":
        return _("Follow up with %(account)s — satisfaction %(score)s of 5", account=account, score=values.get("score"))
    if reason == "drop":
        return _(
            "Follow up with %(account)s — NPS fell from %(previous)s to %(score)s",
            account=account, previous=values.get("previous"), score=values.get("score"),
        )  # fmt: skip
    if reason == "account_drop":
        return _("Follow up with %(account)s — account NPS fell significantly", account=account)
    if reason == "keywords":
        return _("Follow up with %(account)s — comment mentions cancelling", account=account)
    return _("Follow up with %(account)s", account=account)


def task_title(task: Task, language: str | None = None) -> str:
    """The title in the reader's language (the current one when None)."""
    values = task.title_values or {}
    if not values.get("account") and task.account is not None:
        values = {**values, "account": task.account.name}
    if language in SUPPORTED_LOCALES:
        with force_locale(language):
            return _title_text(values)
    return _title_text(values)


def user_language(user: StaffUser | None) -> str:
    preferred = getattr(user, "preferred_language", None)
    return preferred if preferred in SUPPORTED_LOCALES else default_locale()
