"""The recovery survey: after a follow-up task was resolved, did it work?

Some days after an account manager resolved a follow-up task, its contact
gets the recovery survey (kind ``recovery``, editable like every survey):
"Has your concern been resolved?", a satisfaction score (1–5) and a comment.
Its email names the concern the task was about, in the contact's language:
the ticket's subject, the installation, or else the day of the feedback;
never an empty "(Ticket )".

Its answers measure the loop (the loop report, the task page) and are never
counted as satisfaction: the reports read only :data:`SurveyKind.REPORTED`.

**Recovered** means the customer answered that the concern has been resolved
(the first single choice's ``yes``); when that question was not answered,
a satisfaction of 4 or 5. A follow-up that went out before the recovery
survey existed (the original survey sent again) is judged as it was then:
a higher score than the original, or the top score.

The follow-ups package calls :func:`invite_after_follow_up` and
:func:`outcome`; nothing here knows about tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.customers.models import Contact
from portal.extensions import db
from portal.surveys import defaults, services
from portal.surveys.models import (
    CSAT_SATISFIED_MIN,
    NPS_PROMOTER_MIN,
    Answer,
    Invitation,
    QuestionType,
    Response,
    Survey,
    SurveyKind,
)

#: The top of the CSAT scale: a legacy follow-up answered with it counts as recovered.
CSAT_TOP = 5


def recovery_survey() -> Survey | None:
    """The active recovery survey (the oldest, when several are active). A portal
    that has none yet gets the default one, active; one an admin deactivated
    stays off, and then no recovery surveys are sent."""
    surveys = list(db.session.scalars(select(Survey).where(Survey.kind == SurveyKind.RECOVERY).order_by(Survey.id)))
    if not surveys:
        survey = defaults.recovery_survey()
        db.session.add(survey)
        db.session.flush()
        return survey
    return next((survey for survey in surveys if survey.active), None)


def concern(original: Response, language: str) -> str:
    """What the customer's feedback was about, as a phrase for the email
    ("Ihr Anliegen „Echo bei Gesprächen“", "Ihre Rückmeldung vom 3. November 2026")."""
    invitation = original.invitation
    if invitation is not None and invitation.concern:  # the answer to a recovery survey: the same concern
        return invitation.concern
    with force_locale(language):
        if invitation is not None and invitation.ticket is not None and invitation.ticket.subject:
            return _("your request “%(subject)s”", subject=invitation.ticket.subject)
        if invitation is not None and invitation.project is not None and invitation.project.name:
            return _("your installation “%(name)s”", name=invitation.project.name)
        return _("your feedback of %(date)s", date=format_date(original.created_at.date(), "long"))


def invite_after_follow_up(original: Response, contact: Contact, now: datetime | None = None) -> Invitation | None:
    """Invite the contact of a resolved follow-up task to the recovery survey
    (routine throttling does not apply; the caller checks the opt-out). None
    when the recovery survey is switched off."""
    survey = recovery_survey()
    if survey is None:
        return None
    language = services.contact_language(contact)
    return services.invite(survey, contact, concern=concern(original, language)[:300], now=now).invitation


@dataclass(frozen=True)
class Recovery:
    """The answer to a follow-up, as the task page and the loop report read it."""

    recovered: bool | None  # None: nothing answered yet that tells
    resolved: str | None  # the chosen option's value ("yes", "partly", "no"), None when not answered
    resolved_label: str  # that option's wording in the reader's language
    score: int | None  # satisfaction 1–5
    comment: str | None
    answered_at: datetime


def outcome(original: Response | None, follow_up: Response | None, language: str = "de") -> Recovery | None:
    """How the follow-up turned out; None while it is not answered."""
    if follow_up is None:
        return None
    if follow_up.survey is None or follow_up.survey.kind != SurveyKind.RECOVERY:
        return Recovery(_legacy_recovered(original, follow_up), None, "", follow_up.csat_score, follow_up.comment, follow_up.created_at)
    answer = next(
        (a for a in sorted(follow_up.answers, key=lambda a: a.question.position) if _is_resolved_question(a.question)),
        None,
    )
    resolved = answer.choices[0] if answer is not None and answer.choices else None
    label = ""
    if resolved is not None:
        option = next((o for o in answer.question.options if o.get("value") == resolved), {})
        label = services.localized(option, language) or resolved
    if resolved is not None:
        recovered = resolved == SurveyKind.RESOLVED_YES
    elif follow_up.csat_score is not None:
        recovered = follow_up.csat_score >= CSAT_SATISFIED_MIN
    else:
        recovered = None
    return Recovery(recovered, resolved, label, follow_up.csat_score, follow_up.comment, follow_up.created_at)


def _is_resolved_question(question) -> bool:
    return question is not None and question.type == QuestionType.SINGLE and any(o.get("value") == SurveyKind.RESOLVED_YES for o in question.options or [])


def has_resolved_question(survey: Survey) -> bool:
    """Whether the survey asks "has your concern been resolved?" in the way
    :func:`outcome` reads it (a single choice with the value ``yes``)."""
    return any(_is_resolved_question(q) for q in survey.questions)


def _legacy_recovered(original: Response | None, follow_up: Response) -> bool | None:
    """A follow-up that was the original survey again: a higher score, or now at the top."""
    if original is None:
        return None
    if follow_up.nps_score is not None:
        if follow_up.nps_score >= NPS_PROMOTER_MIN:
            return True
        if original.nps_score is not None:
            return follow_up.nps_score > original.nps_score
    if follow_up.csat_score is not None:
        if follow_up.csat_score >= CSAT_TOP:
            return True
        if original.csat_score is not None:
            return follow_up.csat_score > original.csat_score
    if follow_up.nps_score is None and follow_up.csat_score is None:
        return None
    return False


def follow_up_responses(invitation_ids: list[int]) -> dict[int, Response]:
    """The answers to these follow-up invitations, by invitation id (for the loop report)."""
    if not invitation_ids:
        return {}
    found = db.session.scalars(
        select(Response)
        .where(Response.invitation_id.in_(invitation_ids))
        .options(selectinload(Response.survey), selectinload(Response.answers).selectinload(Answer.question))
    )
    return {response.invitation_id: response for response in found}
