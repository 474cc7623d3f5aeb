"""What every email the portal sends reads like: no empty placeholders in the
default survey emails, a text part that is plain text (no Markdown marks, no
tags, no HTML entities), and the brand's logo in the HTML part."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from portal.mail import services as mail
from portal.surveys import defaults, emails
from portal.surveys.models import LANGUAGES, SurveyKind
from portal.timeutil import utcnow

PORTAL = Path(__file__).resolve().parent.parent / "portal"

#: A placeholder left empty: quotes or brackets with nothing in them, "Ticket )", a space before punctuation.
EMPTY_PLACEHOLDER = re.compile(r"„[ \t]*“|“[ \t]*”|\"[ \t]*\"|\([ \t]*\)|\*\*[ \t]*\*\*|\b[Tt]icket[ \t]*\)|[ \t][,.?!)]|\S[ \t]{2,}\S")
#: Markup that has no place in a text part.
NOT_PLAIN = re.compile(r"\*\*|__|\]\(|</?(?:p|a|strong|em|b|i|br|div|span|ul|ol|li|h[1-6]|img|table|code)\b|&(?:amp|lt|gt|quot|nbsp|#\d+);")

WITH_TICKET = {"ticket_id": "HD-500123", "ticket_subject": "Echo bei Gesprächen", "project_name": "Standort Hamburg", "concern": "Ihr Anliegen „Echo bei Gesprächen“"}
WITHOUT_TICKET = {"ticket_id": None, "ticket_subject": None, "project_name": None, "concern": None}


def _values(context: dict) -> dict:
    return emails.template_values(contact_name="Lena Vogel", account_name="Müller Logistik GmbH", survey_link="https://portal.example/s/abc", **context)


def _invitation(survey, language: str, context: dict, reminder: bool = False) -> emails.RenderedEmail:
    return emails.render_invitation(
        subject_template=survey.email_subject[language],
        body_template=survey.email_body[language],
        values=_values(context),
        language=language,
        survey_link="https://portal.example/s/abc",
        quick=emails.quick_answers(survey.questions[0], language, lambda value: f"https://portal.example/s/abc?score={value}"),
        unsubscribe_link="https://portal.example/u/def",
        reminder=reminder,
    )


def _lines_without_links(text: str) -> str:
    """The text without its URLs and the "0: https://…" score lines, whose layout is ours."""
    return re.sub(r"https?://\S+", "URL", text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("context", [WITH_TICKET, WITHOUT_TICKET], ids=["with-ticket", "without-ticket"])
@pytest.mark.parametrize("survey", defaults.all_default_surveys(), ids=lambda s: s.kind)
def test_default_survey_emails_have_no_empty_placeholders(app, survey, context, language):
    with app.test_request_context():
        rendered = _invitation(survey, language, context)
    body = rendered.text.split("\n\n")[1]  # the staff-written paragraph after the greeting
    for text in (rendered.subject, body, _lines_without_links(rendered.text)):
        assert not EMPTY_PLACEHOLDER.search(text), (survey.kind, language, text)
    assert "Lena Vogel" in rendered.text and "Lena Vogel" in rendered.html
    if context is WITH_TICKET and survey.kind == SurveyKind.POST_TICKET:
        assert "HD-500123" in rendered.subject and "Echo bei Gesprächen" in rendered.text
    if survey.kind == SurveyKind.RECOVERY:
        assert rendered.subject == {"de": "Hat sich Ihr Anliegen erledigt?", "en": "Has your concern been resolved?"}[language]
        assert "Ticket" not in rendered.subject and "ticket" not in rendered.text.lower()
        if context is WITH_TICKET:
            assert "Ihr Anliegen „Echo bei Gesprächen“" in rendered.text


def _email_templates() -> set[str]:
    """Every email the portal can send: a template with a subject, or the survey invitation."""
    found = {path.as_posix().split("/templates/", 1)[1].removesuffix(".subject.txt") for path in PORTAL.glob("*/templates/**/*.subject.txt")}
    return found | {"surveys/email/invitation"}


def _rendered_emails(app) -> dict[str, list[tuple[str, str, str]]]:
    """(subject, text, html) of each email template, in each language, as the portal renders them."""
    now = utcnow()
    task = {
        "id": 7, "title": "Nachfassen bei Müller Logistik GmbH — Zufriedenheit 1 von 5", "account": "Müller Logistik GmbH",
        "contact": "Lena Vogel", "contact_email": "lena.vogel@mueller-logistik.example", "nps": None, "csat": 1,
        "comment": "Dreimal angerufen, nichts passiert.", "rules": ["Niedrige Zufriedenheit"], "priority": "hoch",
        "due_at": now + timedelta(hours=48), "url": "https://portal.example/staff/tasks/7",
    }  # fmt: skip
    course = {"title": "Hosted PBX für Einsteiger", "done": 2, "total": 5}
    found: dict[str, list] = {name: [] for name in _email_templates()}
    with app.test_request_context():
        for language in LANGUAGES:
            for survey in defaults.all_default_surveys():
                for context in (WITH_TICKET, WITHOUT_TICKET):
                    for reminder in (False, True):
                        r = _invitation(survey, language, context, reminder)
                        found["surveys/email/invitation"].append((r.subject, r.text, r.html))
            found["followups/email_task"].append(mail.render_email("followups/email_task", language, name="Anna Keller", task=task))
            found["followups/email_digest"].append(
                mail.render_email("followups/email_digest", language, name="Anna Keller", tasks=[task], count=1, list_url="https://portal.example/staff/tasks/")
            )
            found["followups/email_escalation"].append(
                mail.render_email(
                    "followups/email_escalation", language, name="Marta Schulz", unassigned=[task], overdue=[dict(task, assignee="Anna Keller")],
                    unassigned_url="https://portal.example/staff/tasks/?assignee=none", overdue_url="https://portal.example/staff/tasks/?overdue=y",
                )
            )
            found["courses/email/reminder"].append(
                mail.render_email("courses/email/reminder", language, name="Lena Vogel", url="https://portal.example/c/x", hours=72, courses=[course])
            )
            found["courses/email/sign_in"].append(mail.render_email("courses/email/sign_in", language, name="Lena Vogel", url="https://portal.example/c/x", minutes=15))
    return found


def test_the_text_part_of_every_email_is_plain_text(app):
    rendered = _rendered_emails(app)
    assert all(rendered.values()), f"an email template has no case here: {[name for name, cases in rendered.items() if not cases]}"
    for name, cases in rendered.items():
        for subject, text, html in cases:
            assert not NOT_PLAIN.search(text), (name, text)
            assert not NOT_PLAIN.search(subject), (name, subject)
            assert "<" in html and text.strip()


def test_staff_markdown_becomes_plain_text_and_customer_values_stay_as_written(app):
    body = (
        "Guten Tag **{{ contact.name }}**,\n\n"
        "zu Ihrem Ticket *{{ ticket.subject }}*: [zur Umfrage]({{ survey_link }}) oder <{{ survey_link }}>.\n\n"
        "- schnell\n- einfach\n\n"
        "1. eins\n2. zwei"
    )
    values = emails.template_values(
        contact_name="[Passwort zurücksetzen](https://evil.example)", account_name="A & B GmbH",
        ticket_id="HD-1", ticket_subject="<b>Echo</b> & Rauschen", project_name=None, survey_link="https://portal.example/s/abc",
    )  # fmt: skip
    with app.test_request_context():
        rendered = emails.render_invitation(
            subject_template="Ticket {{ ticket.id }}", body_template=body, values=values, language="de",
            survey_link="https://portal.example/s/abc", unsubscribe_link="https://portal.example/u/def",
        )  # fmt: skip
    text = rendered.text
    assert text.startswith("Guten Tag [Passwort zurücksetzen](https://evil.example),\n\n")  # the name as written, not as a link
    assert "zu Ihrem Ticket <b>Echo</b> & Rauschen: zur Umfrage (https://portal.example/s/abc) oder https://portal.example/s/abc." in text
    assert "- schnell\n- einfach\n\n1. eins\n2. zwei" in text
    assert "**" not in text and "*<b>" not in text
    assert "&lt;b&gt;Echo&lt;/b&gt; &amp; Rauschen" in rendered.html and 'href="https://evil.example"' not in rendered.html


# --- the logo --------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _invitation_html(db, make_invitation, make_survey) -> str:
    from portal.mail.models import OutboxMessage

    invitation, _token = make_invitation(survey=make_survey("nps"))
    return db.session.get(OutboxMessage, invitation.outbox_message_id).html_body


def test_an_uploaded_logo_is_in_the_html_part_by_its_public_address(app, db, make_invitation, make_survey, login_as):
    from portal.settings import services as settings

    settings.update_brand({"company_name": "Rheinnetz Telekom GmbH"}, None, logo=PNG)
    db.session.commit()
    digest = settings.uploaded_logo()[2]
    html = _invitation_html(db, make_invitation, make_survey)  # queued outside a request, as the worker does
    expected = f"{app.config['PORTAL_BASE_URL'].rstrip('/')}/brand/logo?v={digest}"
    assert re.search(rf'<img src="{re.escape(expected)}" alt="Rheinnetz Telekom GmbH" height="32"', html), html[:800]
    logo = app.test_client().get(expected.removeprefix(app.config["PORTAL_BASE_URL"].rstrip("/")))
    assert logo.status_code == 200 and logo.data == PNG  # what the mail client fetches, without signing in


def test_a_logo_address_is_in_the_html_part_and_without_a_logo_the_name_is(app, db, make_invitation, make_survey):
    from portal.settings import services as settings

    assert "<img" not in _invitation_html(db, make_invitation, make_survey)
    settings.update_brand({"company_name": "Rheinnetz", "logo_url": "https://cdn.rheinnetz.example/logo.png"}, None)
    db.session.commit()
    assert '<img src="https://cdn.rheinnetz.example/logo.png" alt="Rheinnetz"' in _invitation_html(db, make_invitation, make_survey)


def test_a_configured_logo_path_becomes_an_absolute_address_in_emails(make_app):
    from portal.web import theme

    app = make_app(PORTAL_BRAND_LOGO_URL="/static/img/logo.png", PORTAL_BASE_URL="https://portal.rheinnetz.example")
    with app.app_context():
        assert theme.brand_from_config().email_logo_url == "https://portal.rheinnetz.example/static/img/logo.png"
    assert theme.absolute_url("//evil.example/x.png", "https://portal.example") == ""
