"""Customer data is text, never markup: in the survey emails a contact's name,
a ticket subject or a project name from the helpdesk or the CRM shows as the
customer wrote it, and never becomes a link, an image or emphasis.

Every case goes the real way: a signed ``ticket.closed`` event in, the outbox
delivered to the test SMTP server, the received message parsed.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import select

from portal.mail import services as mail
from portal.surveys import services as surveys
from portal.surveys.models import Invitation, InvitationStatus
from portal.timeutil import utcnow
from portal.web.markdown import TextSlots
from tests.conftest import post_event, ticket_closed_event

HOSTILE = [
    "[Passwort zurücksetzen](https://evil.example/phish)",
    "![x](https://evil.example/x.png)",
    "<img src=https://evil.example/x.png>",
    '<a href="https://evil.example">x</a>',
    "https://evil.example/phish",
    "www.evil.example",
    "boss@evil.example",
    "<boss@evil.example>",
    "**fett** # Titel",
    "{{ survey_link }}",
]

#: Where each customer-controlled field sits in the event, and its placeholder.
FIELDS = {
    "contact.name": ("contact", "name"),
    "account.name": ("account", "name"),
    "ticket.id": ("ticket", "external_id"),
    "ticket.subject": ("ticket", "subject"),
    "project.name": ("project", "name"),
}

HARMLESS = "Lena Vogel"
HOSTS = {"localhost", "help.operator.example"}  # the survey links and the staff's own link

#: Every placeholder in running text, and in other Markdown places: bold, a code span, a heading, a link address.
SUBJECT = "Ihre Meinung zu {{ ticket.id }}: {{ ticket.subject }} ({{ project.name }}, {{ account.name }}, {{ contact.name }})"
BODY = (
    "Guten Tag {{ contact.name }} (`{{ contact.first_name }}`),\n\n"
    "wir haben Ihr Anliegen **{{ ticket.subject }}** (Ticket {{ ticket.id }}) für {{ account.name }} abgeschlossen.\n\n"
    "## Projekt {{ project.name }}\n\n"
    "**Wichtig:** Fragen beantwortet [unsere Hilfeseite](https://help.operator.example/faq). "
    "[Ticket ansehen](https://help.operator.example/tickets/{{ ticket.id }})\n\n"
    "[Zur Umfrage]({{ survey_link }}) oder <{{ survey_link }}>\n"
)


class _Html(HTMLParser):
    """Elements (tag, attributes) and visible text of an HTML document."""

    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.strong: list[str] = []
        self._text: list[str] = []
        self._in_strong = 0
        self.feed(source)
        self.close()
        self.text = " ".join("".join(self._text).split())

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag == "strong":
            self._in_strong += 1
            self.strong.append("")

    def handle_endtag(self, tag):
        if tag == "strong":
            self._in_strong -= 1

    def handle_data(self, data):
        self._text.append(data)
        if self._in_strong:
            self.strong[-1] += data

    @property
    def tags(self) -> list[str]:
        return [tag for tag, _attrs in self.elements]

    def addresses(self) -> list[str]:
        return [attrs[name] for tag, attrs in self.elements for name in ("href", "src") if name in attrs]


def _event(n: int, value: str, field: str | None) -> dict:
    """A ticket.closed event for an account and contact of their own (so
    throttling never interferes), with ``value`` in ``field`` (None: in every field)."""
    event = ticket_closed_event(n)
    event["account"] = {**event["account"], "external_id": f"CRM-{n}"}
    event["contact"] = {**event["contact"], "external_id": f"CON-{n}", "email": f"kontakt{n}@kunde.example"}
    event["project"] = {"external_id": f"PRJ-{n}", "name": "Standort Hamburg"}
    for name, (part, key) in FIELDS.items():
        if field is None or name == field:
            event[part] = {**event[part], key: value}
    return event


@pytest.fixture
def survey(make_survey):
    return make_survey("post_ticket", delay_hours=0, email_subject={"de": SUBJECT}, email_body={"de": BODY})


@pytest.fixture
def send(client, db, integration, smtp_server):
    """Post an event, deliver the outbox; the received message for that contact."""
    recorder, _port = smtp_server

    def _send(n: int, value: str, field: str | None = None):
        response = post_event(client, integration, _event(n, value, field))
        assert response.json.get("outcome") == "invited", response.json
        assert mail.deliver_due() == 1
        [received] = [m for m in recorder.messages if m["To"] == f"kontakt{n}@kunde.example"]
        return received

    return _send


def _parts(message) -> tuple[str, str, str]:
    return message["Subject"], message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def assert_text_not_markup(message, value: str, baseline) -> None:
    subject, text, html_body = _parts(message)
    page = _Html(html_body)
    # no element made from the value: the same elements as with a harmless value
    assert page.tags == _Html(_parts(baseline)[2]).tags, html_body
    for address in page.addresses():
        assert urlsplit(address).hostname in HOSTS, address
    # the value shows as the customer wrote it (here whole, or as the first name)
    assert value in page.text and value in text, page.text
    assert value in subject
    # the staff's own Markdown still renders
    assert "Wichtig:" in page.strong
    assert ("a", {"href": "https://help.operator.example/faq"}) in page.elements


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", HOSTILE)
def test_a_customer_value_is_text_in_the_invitation(survey, send, field, value):
    baseline = send(1, HARMLESS, field)
    message = send(2, value, field)
    assert_text_not_markup(message, value, baseline)


@pytest.mark.parametrize("value", [*HOSTILE, "HD-1) [Passwort zurücksetzen](https://evil.example/phish", 'HD-1" title="x'])
def test_a_customer_value_in_a_link_address_stays_inside_it(survey, send, value):
    """A value in the address of a link the staff wrote is percent-encoded:
    part of that address, never the end of the link, a new scheme, host or attribute."""
    _subject, _text, html_body = _parts(send(1, value, "ticket.id"))
    page = _Html(html_body)
    assert all(urlsplit(address).hostname in HOSTS for address in page.addresses()), html_body
    [attributes] = [attrs for tag, attrs in page.elements if tag == "a" and "/tickets/" in attrs.get("href", "")]
    assert list(attributes) == ["href"]
    prefix = "https://help.operator.example/tickets/"
    assert attributes["href"].startswith(prefix) and unquote(attributes["href"].removeprefix(prefix)) == value


def test_a_jinja_looking_value_is_data_not_template(survey, send):
    value = "{{ survey_link }}{{ 7 * 7 }}{% for i in range(3) %}x{% endfor %}"
    subject, text, html_body = _parts(send(1, value))
    assert value in subject and value in text and value in _Html(html_body).text
    words = re.sub(r"https?://\S+", "", text)  # a random token in a link may hold "49"
    assert "49" not in words and "xxx" not in words


def test_the_staff_markdown_around_the_values_still_renders(survey, send):
    _subject, text, html_body = _parts(send(1, HARMLESS))
    page = _Html(html_body)
    survey_link = re.search(r"http://localhost/s/[\w-]+", text).group(0)
    assert [attrs["href"] for tag, attrs in page.elements if tag == "a"].count(survey_link) == 3  # ours, [..](..), <..>
    assert "Wichtig:" in page.strong and HARMLESS in page.strong  # **{{ ticket.subject }}**
    assert ("h2", {}) in page.elements and f"Projekt {HARMLESS}" in page.text
    assert ("a", {"href": "https://help.operator.example/tickets/Lena%20Vogel"}) in page.elements
    assert f"Ticket {HARMLESS}" in page.text


@pytest.mark.parametrize("value", HOSTILE)
def test_a_customer_value_is_text_in_the_reminder(db, survey, send, smtp_server, value):
    recorder, _port = smtp_server
    baseline = send(1, HARMLESS)
    send(2, value)
    for invitation in db.session.scalars(select(Invitation)):
        invitation.status = InvitationStatus.SENT
        invitation.sent_at = utcnow() - timedelta(days=survey.reminder_after_days + 1)
    db.session.commit()
    assert surveys.send_reminders() == 2
    db.session.commit()
    assert mail.deliver_due() == 2
    reminders = {m["To"]: m for m in recorder.messages if m["Subject"].startswith("Erinnerung")}
    assert_text_not_markup(reminders["kontakt2@kunde.example"], value, reminders["kontakt1@kunde.example"])
    assert baseline["Subject"] in reminders["kontakt1@kunde.example"]["Subject"]


# --- the pipeline itself ------------------------------------------------------------------------

SLOT_VALUE = '<img src=https://evil.example/x.png> [a](https://evil.example) "quoted" & &lt; **b** # c'


@pytest.mark.parametrize(
    "markdown",
    [
        "Hallo {slot}, schön.",
        "**{slot}**",
        "`{slot}`",
        "```\n{slot}\n```",
        "# {slot}",
        "| a |\n|---|\n| {slot} |",
        "> {slot}",
        "<p title={slot}>{slot}</p>",
        '<img alt="{slot}" src="https://ok.example/a.png"> {slot}',
    ],
)
def test_a_slot_is_text_wherever_staff_put_it(markdown):
    slots = TextSlots()
    rendered = str(slots.render(markdown.format(slot=slots.slot(SLOT_VALUE))))
    page = _Html(rendered)
    assert SLOT_VALUE in page.text, rendered
    assert "a" not in page.tags and page.tags.count("img") == markdown.count("<img"), rendered
    assert all(urlsplit(address).hostname == "ok.example" for address in page.addresses()), rendered


@pytest.mark.parametrize("markdown", ["[x]({slot})", "![y]({slot})", '<a href="{slot}">x</a>', "<a href=/path/{slot}>x</a>", "<{slot}@ok.example>"])
def test_a_slot_in_an_address_is_percent_encoded(markdown):
    slots = TextSlots()
    for value in ("https://evil.example/phish", "javascript:alert(1)", "//evil.example", "x onerror=alert(1)"):
        rendered = str(slots.render(markdown.format(slot=slots.slot(value))))
        for address in _Html(rendered).addresses():
            assert urlsplit(address).scheme in ("", "mailto") and not urlsplit(address).netloc, rendered
            assert value in unquote(address), rendered
        assert all(set(attrs) <= {"href", "src", "alt"} for _tag, attrs in _Html(rendered).elements), rendered


def test_an_id_made_from_a_value_is_dropped_and_the_text_stays():
    slots = TextSlots()
    rendered = str(slots.render(f"## Projekt {slots.slot('Standort <Nord>')}"))
    assert rendered == "<h2>Projekt Standort &lt;Nord&gt;</h2>"


def test_text_printed_again_is_still_text_and_no_slot_reaches_the_page():
    slots = TextSlots()
    first = slots.slot("**erste**")
    second = slots.slot(f"{first.upper()} zweite")  # a macro's output printed again, through an upper filter
    rendered = str(slots.render(f"{first} {second} {first}"))
    assert _Html(rendered).text == "**erste** **erste** zweite **erste**"
    assert "strong" not in rendered and first not in rendered.lower()
