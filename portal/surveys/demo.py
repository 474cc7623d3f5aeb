"""Demo survey history: two years of events, invitations and responses.

Written straight into the tables in bulk (the live intake path is covered by
the tests) and committed by the caller, ``demo seed``, except where a function
says otherwise; distributions are shaped so reports have something to show:
most accounts are steady, some deteriorate, some improve, comments are German.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text

from portal.customers.models import Account, Contact, Project, Ticket
from portal.extensions import db
from portal.integrations.models import Event, EventOutcome, Integration
from portal.surveys import defaults
from portal.surveys import services as surveys
from portal.surveys.models import Answer, Invitation, InvitationStatus, Question, QuestionType, Response, Survey, SurveyKind, nps_category
from portal.timeutil import utcnow
from portal.web.transaction import unit_of_work

DEMO_INTEGRATION = "Demo-Helpdesk"

COMMENTS = {
    "promoter": (
        "Sehr schneller und kompetenter Support, vielen Dank!",
        "Die Umstellung auf die Cloud-Telefonanlage lief reibungslos.",
        "Unser Ansprechpartner kennt unser Unternehmen und hilft sofort.",
        "Sprachqualität ist top, seit Monaten keine Ausfälle.",
        "Portierung der Rufnummern hat genau zum vereinbarten Termin geklappt.",
    ),
    "passive": (
        "Grundsätzlich zufrieden, aber die Hotline ist morgens schwer erreichbar.",
        "Technik läuft, die Rechnungen sind aber schwer verständlich.",
        "Die Lösung hat gedauert, am Ende hat es aber funktioniert.",
        "Ganz ok. Das Kundenportal könnte übersichtlicher sein.",
    ),
    "detractor": (
        "Wiederholt Gesprächsabbrüche, und niemand meldet sich zurück.",
        "Das Ticket wurde dreimal weitergeleitet, bis jemand zuständig war.",
        "Der Techniker kam ohne Vorankündigung zwei Stunden zu spät.",
        "Seit dem Update haben wir Echo auf allen externen Gesprächen.",
        "Abrechnungsfehler jetzt zum zweiten Mal, das kostet uns viel Zeit.",
        "Zu lange Wartezeiten in der Hotline, so geht es nicht weiter.",
    ),
}


def seed_surveys(rng: random.Random, now: datetime | None = None) -> dict[str, int]:
    """Default surveys (one active per kind) and, once, two years of history."""
    now = now or utcnow()
    created = {"surveys": 0, "invitations": 0, "responses": 0}
    existing_kinds = set(db.session.scalars(select(Survey.kind)))
    for survey in defaults.all_default_surveys():
        if survey.kind not in existing_kinds:
            db.session.add(survey)
            created["surveys"] += 1
    db.session.flush()
    if db.session.scalar(select(func.count(Invitation.id))):
        return created  # history exists: idempotent
    integration = db.session.scalar(select(Integration).where(Integration.name == DEMO_INTEGRATION))
    if integration is None:
        from portal.integrations.services import create_integration

        integration = create_integration(DEMO_INTEGRATION).integration
    history = _History(rng, now, integration)
    history.build()
    created["invitations"], created["responses"] = history.invitations, history.responses
    return created


class _History:
    def __init__(self, rng: random.Random, now: datetime, integration: Integration):
        self.rng, self.now, self.integration = rng, now, integration
        self.surveys = {s.kind: s for s in db.session.scalars(select(Survey))}
        self.questions = {s.kind: list(s.questions) for s in self.surveys.values()}
        self.invitation_rows: list[dict] = []
        self.response_rows: list[dict] = []
        self.answer_rows: list[dict] = []
        self.event_rows: list[dict] = []
        self.invitations = self.responses = 0
        self.next_invitation_id = (db.session.scalar(select(func.max(Invitation.id))) or 0) + 1
        self.next_response_id = (db.session.scalar(select(func.max(Response.id))) or 0) + 1
        accounts = list(db.session.scalars(select(Account).order_by(Account.id)))
        # Mood per account: a base NPS propensity and a drift over the two years.
        self.mood = {}
        for account in accounts:
            roll = rng.random()
            drift = -3.5 if roll < 0.12 else (3.0 if roll < 0.24 else rng.uniform(-0.5, 0.5))
            self.mood[account.id] = (rng.gauss(7.6, 1.0), drift)

    def score(self, account_id: int, when: datetime, scale_max: int = 10) -> int:
        base, drift = self.mood[account_id]
        progress = 1 - (self.now - when).days / 730  # 0 two years ago, 1 today
        value = self.rng.gauss(base + drift * (progress - 0.5), 1.6)
        return int(min(scale_max, max(0, round(value))))

    def build(self) -> None:
        contacts = {c.id: c for c in db.session.scalars(select(Contact))}
        last_invited: dict[int, datetime] = {}
        post_ticket = self.surveys[SurveyKind.POST_TICKET]
        tickets = db.session.execute(
            select(Ticket.id, Ticket.external_id, Ticket.account_id, Ticket.contact_id, Ticket.subject, Ticket.category, Ticket.closed_at)
            .where(Ticket.closed_at.is_not(None), Ticket.contact_id.is_not(None))
            .order_by(Ticket.closed_at)
        ).all()
        for ticket in tickets:
            contact = contacts.get(ticket.contact_id)
            if contact is None:
                continue
            outcome, reason, invitation_id = EventOutcome.INVITED, None, None
            previous = last_invited.get(contact.id)
            if previous and ticket.closed_at - previous < timedelta(days=post_ticket.min_days_since_any):
                outcome, reason = EventOutcome.THROTTLED, "recently_invited"
            else:
                invitation_id = self.invite(post_ticket, contact, ticket.closed_at + timedelta(hours=2), ticket_id=ticket.id)
                last_invited[contact.id] = ticket.closed_at
            self.event_rows.append(
                {
                    "integration_id": self.integration.id,
                    "external_id": f"demo-{ticket.external_id}",
                    "type": "ticket.closed",
                    "occurred_at": ticket.closed_at,
                    "received_at": ticket.closed_at,
                    "payload": {"ticket": {"external_id": ticket.external_id, "subject": ticket.subject, "category": ticket.category}},
                    "outcome": outcome,
                    "reason": reason,
                    "account_id": ticket.account_id,
                    "contact_id": contact.id,
                    "ticket_id": ticket.id,
                    "invitation_id": invitation_id,
                }
            )
        self.installations(contacts)
        nps = self.surveys[SurveyKind.NPS]
        # Every 180 days per contact (the survey's interval), staggered over the
        # contacts as the daily cap spreads a real wave: every quarter has answers.
        for contact in contacts.values():
            first = 540 + self.rng.randint(0, 179)
            for wave in range(4):
                days_ago = first - wave * 180
                if days_ago >= 3:
                    self.invite(nps, contact, self.now - timedelta(days=days_ago, hours=self.rng.randint(0, 23)))
        self.flush()

    def installations(self, contacts: dict[int, Contact]) -> None:
        """About a third of the accounts had an installation project in the two years."""
        survey = self.surveys[SurveyKind.POST_INSTALLATION]
        by_account: dict[int, Contact] = {}
        for contact in contacts.values():
            by_account.setdefault(contact.account_id, contact)
        for account_id, contact in sorted(by_account.items()):
            if self.rng.random() > 0.35:
                continue
            completed_at = self.now - timedelta(days=self.rng.randint(5, 720), hours=self.rng.randint(0, 9))
            site = self.rng.choice(("Hauptsitz", "Filiale Nord", "Lager", "Standort Hamburg", "Niederlassung München", "Praxis"))
            kind = self.rng.choice(("Umstellung auf Cloud-Telefonanlage", "SIP-Trunk-Anbindung", "Glasfaseranschluss", "Teams-Telefonie"))
            project = Project(external_id=f"PRJ-{account_id:05d}", account_id=account_id, name=f"{kind} {site}", completed_at=completed_at)
            db.session.add(project)
            db.session.flush()
            invitation_id = self.invite(survey, contact, completed_at + timedelta(hours=survey.delay_hours), project_id=project.id)
            self.event_rows.append(
                {
                    "integration_id": self.integration.id,
                    "external_id": f"demo-{project.external_id}",
                    "type": "installation.completed",
                    "occurred_at": completed_at,
                    "received_at": completed_at,
                    "payload": {"project": {"external_id": project.external_id, "name": project.name}},
                    "outcome": EventOutcome.INVITED,
                    "reason": None,
                    "account_id": account_id,
                    "contact_id": contact.id,
                    "ticket_id": None,
                    "invitation_id": invitation_id,
                }
            )

    def invite(self, survey: Survey, contact: Contact, sent_at: datetime, ticket_id: int | None = None, project_id: int | None = None) -> int | None:
        if sent_at >= self.now:
            return None
        invitation_id = self.next_invitation_id
        self.next_invitation_id += 1
        answered = self.rng.random() < (0.42 if survey.kind == SurveyKind.NPS else 0.33)
        expired = not answered and sent_at + timedelta(days=survey.expires_after_days) < self.now
        status = InvitationStatus.ANSWERED if answered else (InvitationStatus.EXPIRED if expired else InvitationStatus.SENT)
        answered_at = sent_at + timedelta(hours=self.rng.expovariate(1 / 30)) if answered else None
        if answered_at and answered_at > self.now:
            answered_at = self.now
        self.invitation_rows.append(
            {
                "id": invitation_id,
                "survey_id": survey.id,
                "contact_id": contact.id,
                "account_id": contact.account_id,
                "ticket_id": ticket_id,
                "project_id": project_id,
                "token_hash": secrets.token_hex(32),
                "unsubscribe_token_hash": secrets.token_hex(32),
                "language": contact.language,
                "status": status,
                "created_at": sent_at,
                "sent_at": sent_at,
                "expires_at": sent_at + timedelta(days=survey.expires_after_days),
                "reminded_at": sent_at + timedelta(days=survey.reminder_after_days) if not answered and survey.reminder_after_days else None,
                "answered_at": answered_at,
            }
        )
        self.invitations += 1
        if answered:
            self.respond(survey, contact, invitation_id, ticket_id, answered_at)
        if len(self.invitation_rows) >= 5000:
            self.flush()
        return invitation_id

    def respond(self, survey: Survey, contact: Contact, invitation_id: int, ticket_id: int | None, at: datetime) -> None:
        response_id = self.next_response_id
        self.next_response_id += 1
        nps = csat = comment = None
        complete = self.rng.random() < 0.8
        for question in self.questions[survey.kind]:
            row = {"response_id": response_id, "question_id": question.id, "number": None, "text": None, "choices": None, "skipped": False, "answered_at": at}
            if question.type == QuestionType.NPS:
                nps = row["number"] = self.score(contact.account_id, at)
            elif question.type == QuestionType.CSAT:
                csat = row["number"] = max(1, min(5, round(self.score(contact.account_id, at) / 2)))
            elif question.type == QuestionType.RATING:
                row["number"] = self.rng.randint(question.scale_min or 1, question.scale_max or 5)
            elif question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
                row["choices"] = [self.rng.choice(question.options)["value"]]
            else:
                if not complete or self.rng.random() < 0.45:
                    row["skipped"] = True
                else:
                    category = nps_category(nps if nps is not None else (csat or 3) * 2)
                    comment = row["text"] = self.rng.choice(COMMENTS[category])
            self.answer_rows.append(row)
            if not complete:
                break
        self.response_rows.append(
            {
                "id": response_id,
                "invitation_id": invitation_id,
                "survey_id": survey.id,
                "account_id": contact.account_id,
                "contact_id": contact.id,
                "ticket_id": ticket_id,
                "nps_score": nps,
                "csat_score": csat,
                "comment": comment,
                "created_at": at,
                "updated_at": at,
                "completed_at": at if complete else None,
            }
        )
        self.responses += 1

    def flush(self) -> None:
        for model, rows in ((Invitation, self.invitation_rows), (Response, self.response_rows), (Answer, self.answer_rows), (Event, self.event_rows)):
            if rows:
                db.session.execute(insert(model), rows)
                rows.clear()
        advance_sequences(Invitation, Response)


def advance_sequences(*models) -> None:
    """Rows inserted with explicit ids leave PostgreSQL's sequences behind; catch them up."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        db.session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))")
        )


def demo_survey_link(contact: Contact) -> str:
    """A fresh invitation for the demo printout (the raw token exists only now)."""
    from portal.web.urls import external_url

    with unit_of_work():  # committed before the link is printed
        survey = db.session.scalar(select(Survey).where(Survey.kind == SurveyKind.NPS))
        created = surveys.invite(survey, contact)
    return external_url("surveys.survey_page", token=created.token)


def bulk_responses(count: int, rng: random.Random, now: datetime | None = None, chunk: int = 20000) -> int:
    """Add ``count`` answered NPS invitations spread over two years (for benchmarks)."""
    now = now or utcnow()
    survey = db.session.scalar(select(Survey).where(Survey.kind == SurveyKind.NPS))
    nps_question = db.session.scalar(select(Question).where(Question.survey_id == survey.id, Question.type == QuestionType.NPS))
    contacts = db.session.execute(select(Contact.id, Contact.account_id, Contact.language)).all()
    next_invitation = (db.session.scalar(select(func.max(Invitation.id))) or 0) + 1
    next_response = (db.session.scalar(select(func.max(Response.id))) or 0) + 1
    made = 0
    while made < count:
        n = min(chunk, count - made)
        invitations, responses, answers = [], [], []
        for i in range(n):
            contact_id, account_id, language = contacts[rng.randrange(len(contacts))]
            at = now - timedelta(seconds=rng.randrange(730 * 86400))
            score = min(10, max(0, int(round(rng.gauss(7.5, 2.2)))))
            invitation_id, response_id = next_invitation + i, next_response + i
            invitations.append(
                {
                    "id": invitation_id, "survey_id": survey.id, "contact_id": contact_id, "account_id": account_id,
                    "token_hash": secrets.token_hex(32), "unsubscribe_token_hash": secrets.token_hex(32), "language": language,
                    "status": InvitationStatus.ANSWERED, "created_at": at, "sent_at": at, "expires_at": at + timedelta(days=21), "answered_at": at,
                }
            )  # fmt: skip
            responses.append(
                {
                    "id": response_id, "invitation_id": invitation_id, "survey_id": survey.id, "account_id": account_id,
                    "contact_id": contact_id, "nps_score": score, "created_at": at, "updated_at": at, "completed_at": at,
                }
            )  # fmt: skip
            answers.append({"response_id": response_id, "question_id": nps_question.id, "number": score, "skipped": False, "answered_at": at})
        with unit_of_work():  # a transaction per chunk keeps each one small
            db.session.execute(insert(Invitation), invitations)
            db.session.execute(insert(Response), responses)
            db.session.execute(insert(Answer), answers)
            advance_sequences(Invitation, Response)
        next_invitation += n
        next_response += n
        made += n
    return made
