"""Invitation emails: staff-written templates rendered in a sandbox.

Admins write the subject and a Markdown body with placeholders such as
``{{ contact.name }}``. Those templates run in Jinja's SandboxedEnvironment
with plain values only (no models, no app objects), the body then goes
through the one Markdown sanitizer, and our own trusted layout wraps it with
the branded button, the 0–10 score links and the opt-out link.

The values come from the helpdesk and the CRM, that is from customers: a
contact may be called ``[Passwort zurücksetzen](https://evil.example)``. So
whatever a placeholder prints is text. The subject gets it as it is; in the
Markdown it stands in a :class:`~portal.web.markdown.TextSlots` slot and comes
out HTML-escaped in the HTML part, never as a link, an image or emphasis. The
text part is that same HTML as plain text (:func:`~portal.web.markdown.html_to_text`):
no Markdown marks in it, and every value exactly as it is. Only the survey link, which we write
ourselves, goes into the Markdown as it is (:class:`OwnText`), so staff can
link it in any Markdown form.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from flask import render_template
from flask_babel import force_locale
from jinja2 import Template, TemplateError, pass_context
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from portal.mail import services as mail
from portal.surveys.models import Question, QuestionType
from portal.web import theme
from portal.web.markdown import TextSlots, html_to_text


class OwnText(str):
    """A value the portal wrote itself (the survey link): it goes into the
    Markdown as it is, so ``[Survey]({{ survey_link }})`` and
    ``<{{ survey_link }}>`` stay links."""


#: The slots of the HTML rendering under way; None while rendering plain text.
_html_slots: ContextVar[TextSlots | None] = ContextVar("email_html_slots", default=None)


@pass_context  # called at render time only: Jinja folds constants of a plain finalize while compiling
def _printed(_context, value) -> str:
    """What ``{{ … }}`` prints: the value's text, or in the HTML rendering a slot for it."""
    text = str(value)
    slots = _html_slots.get()
    if slots is None or not text or isinstance(value, OwnText):
        return text
    return slots.slot(text)


_sandbox = SandboxedEnvironment(autoescape=False, trim_blocks=True, finalize=_printed)
_TEMPLATE_FAILURES = (TemplateError, ArithmeticError, TypeError, ValueError, MemoryError, RecursionError)

PLACEHOLDERS = {
    "contact.name": "Lena Vogel",
    "contact.first_name": "Lena",
    "account.name": "Müller Logistik GmbH",
    "ticket.id": "HD-500123",
    "ticket.subject": "Echo bei Gesprächen",
    "project.name": "Standort Hamburg",
    "concern": "Ihr Anliegen „Echo bei Gesprächen“",
    "survey_link": "https://portal.example/s/…",
    "brand": "Kundenportal",
}


class EmailTemplateError(ValueError):
    """A staff-written template that cannot be rendered; the message says where."""


@dataclass(frozen=True)
class QuickAnswers:
    """Links under the email's text that open the survey with an answer to its
    first question marked (the page never saves an answer from a link: mail
    scanners fetch links): the 0–10 scores of an NPS question, or the options
    of a single choice with the question's wording."""

    scores: list[tuple[int, str]] | None = None
    question: str = ""
    choices: list[tuple[str, str]] | None = None


def quick_answers(first: Question | None, language: str, link: Callable[[object], str]) -> QuickAnswers:
    """The quick answers to ``first`` in ``language``; ``link(value)`` is the survey link with that value marked."""
    if first is None:
        return QuickAnswers()
    if first.type == QuestionType.NPS:
        return QuickAnswers(scores=[(n, link(n)) for n in range(0, 11)])
    if first.type == QuestionType.SINGLE and first.options:
        def text(texts: dict) -> str:
            return texts.get(language) or texts.get("de") or texts.get("en") or ""

        return QuickAnswers(question=text(first.text or {}), choices=[(text(o) or o["value"], link(o["value"])) for o in first.options])
    return QuickAnswers()


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_staff_template(source: str, values: dict) -> str:
    """Render an admin-written template as plain text; any failure is an EmailTemplateError."""
    return _render(_compile(source), values)


def _compile(source: str) -> Template:
    """The sandbox blocks attribute tricks and huge ranges, but those surface as
    SecurityError, OverflowError and friends, not only as TemplateError."""
    try:
        return _sandbox.from_string(source or "")
    except _TEMPLATE_FAILURES as error:
        raise EmailTemplateError(str(error)) from error


def _render(template: Template, values: dict) -> str:
    try:
        return template.render(**values)
    except _TEMPLATE_FAILURES as error:
        raise EmailTemplateError(str(error)) from error


def _render_html(template: Template, values: dict) -> Markup:
    """The staff's Markdown as sanitized HTML, every printed value as text in it."""
    slots = TextSlots()
    token = _html_slots.set(slots)
    try:
        source = _render(template, values)
    finally:
        _html_slots.reset(token)
    return slots.render(source)


def template_values(
    *, contact_name: str, account_name: str, ticket_id: str | None, ticket_subject: str | None, project_name: str | None, survey_link: str, concern: str | None = None
) -> dict:
    """The placeholders' values; what an invitation lacks is empty (the default
    templates leave out the words around an empty one, e.g. ``(Ticket …)``)."""
    return {
        "contact": {"name": contact_name, "first_name": contact_name.split()[0] if contact_name else ""},
        "account": {"name": account_name},
        "ticket": {"id": ticket_id or "", "subject": ticket_subject or ""},
        "project": {"name": project_name or ""},
        "concern": concern or "",
        "survey_link": OwnText(survey_link),
        "brand": theme.brand().name,
    }


def render_invitation(
    *,
    subject_template: str,
    body_template: str,
    values: dict,
    language: str,
    survey_link: str,
    unsubscribe_link: str,
    quick: QuickAnswers | None = None,
    reminder: bool = False,
) -> RenderedEmail:
    subject = " ".join(render_staff_template(subject_template, values).split())
    body_html = _render_html(_compile(body_template), values)
    context = dict(
        **mail.branding(),
        lang=language,
        body_html=body_html,
        body_text=html_to_text(body_html),
        survey_link=survey_link,
        quick=quick or QuickAnswers(),
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
