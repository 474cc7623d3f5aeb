"""Invitation emails: staff-written templates rendered in a sandbox.

Admins write the subject and a Markdown body with placeholders such as
``{{ contact.name }}``. Those templates run in Jinja's SandboxedEnvironment
with plain values only (no models, no app objects), the body then goes
through the one Markdown sanitizer, and our own trusted layout wraps it with
the branded button, the 0–10 score links and the opt-out link.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from portal.mail import services as mail
from portal.web.markdown import render_markdown

_sandbox = SandboxedEnvironment(autoescape=False, trim_blocks=True)

PLACEHOLDERS = {
    "contact.name": "Lena Vogel",
    "contact.first_name": "Lena",
    "account.name": "Müller Logistik GmbH",
    "ticket.id": "HD-500123",
    "ticket.subject": "Echo bei Gesprächen",
    "project.name": "Standort Hamburg",
    "survey_link": "https://portal.example/s/…",
    "brand": "Kundenportal",
}


class EmailTemplateError(ValueError):
    """A staff-written template that cannot be rendered; the message says where."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_staff_template(source: str, values: dict) -> str:
    """Render an admin-written template; any failure is an EmailTemplateError.

    The sandbox blocks attribute tricks and huge ranges, but those surface as
    SecurityError, OverflowError and friends, not only as TemplateError.
    """
    try:
        return _sandbox.from_string(source or "").render(**values)
    except (TemplateError, ArithmeticError, TypeError, ValueError, MemoryError, RecursionError) as error:
        raise EmailTemplateError(str(error)) from error


def template_values(*, contact_name: str, account_name: str, ticket_id: str | None, ticket_subject: str | None, project_name: str | None, survey_link: str) -> dict:
    return {
        "contact": {"name": contact_name, "first_name": contact_name.split()[0] if contact_name else ""},
        "account": {"name": account_name},
        "ticket": {"id": ticket_id or "", "subject": ticket_subject or ""},
        "project": {"name": project_name or ""},
        "survey_link": survey_link,
        "brand": current_app.config["PORTAL_BRAND_NAME"],
    }


def render_invitation(
    *,
    subject_template: str,
    body_template: str,
    values: dict,
    language: str,
    survey_link: str,
    score_links: list[tuple[int, str]] | None,
    unsubscribe_link: str,
    reminder: bool = False,
) -> RenderedEmail:
    subject = " ".join(render_staff_template(subject_template, values).split())
    body_markdown = render_staff_template(body_template, values)
    body_html: Markup = render_markdown(body_markdown)
    context = dict(
        **mail.branding(),
        lang=language,
        body_html=body_html,
        body_text=body_markdown,
        survey_link=survey_link,
        score_links=score_links,
        unsubscribe_link=unsubscribe_link,
        reminder=reminder,
        language=language,
    )
    with force_locale(language):
        html = render_template("surveys/email/invitation.html", **context)
        text = render_template("surveys/email/invitation.txt", **context)
        if reminder:
            from flask_babel import gettext

            subject = gettext("Reminder: %(subject)s", subject=subject)
    return RenderedEmail(subject=subject[:300], text=text, html=html)
