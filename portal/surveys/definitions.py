"""Editing survey definitions: what admins change in the staff area, and
what the editor page shows (counts, warnings, the page and email previews).

Every change is validated completely before anything is assigned, so a
rejected change leaves the survey exactly as it was; the request commits a
change that succeeded and rolls back one refused (portal/web/transaction.py).
Invalid input raises :class:`DefinitionError`, whose ``errors`` map form field
names to messages; the views put them next to the fields.

Rules kept here (issue 3):

- customer-facing texts in German (required) and English (optional, but the
  editor warns when it is missing: English contacts then read German);
- email templates must render in the same sandbox the invitations use, with
  sample values; unknown placeholders and unsafe attribute access are errors;
- questions are ordered 1..n without gaps, whatever is added, removed or moved;
- choices need at least two options with unique values, a rating scale lies
  within 0..10 with min < max, an NPS follow-up has a wording per category;
- a survey that has sent invitations cannot be deleted (its responses are in
  the reports), only deactivated; a question with answers cannot be removed.

No request and no templates here: functions take and return plain values and models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.customers.models import SERVICE_TYPES, TICKET_CATEGORIES
from portal.extensions import db
from portal.surveys import defaults, emails, recovery
from portal.surveys.models import LANGUAGES, Answer, Invitation, Question, QuestionType, Response, Survey, SurveyKind
from portal.surveys.services import localized

#: NPS categories, in the order the editor shows them.
NPS_CATEGORIES = ("promoter", "passive", "detractor")
CHOICE_TYPES = (QuestionType.SINGLE, QuestionType.MULTIPLE)
#: A rating scale lies within these bounds (0 to 10, like NPS).
RATING_BOUNDS = (0, 10)

MAX_NAME = 120
MAX_TITLE = 200
MAX_MARKDOWN = 5000
MAX_SUBJECT = 300
MAX_BODY = 10000
MAX_QUESTION_TEXT = 500
MAX_OPTIONS = 20
MAX_OPTION_VALUE = 60
MAX_OPTION_LABEL = 200
MAX_SCALE_LABEL = 60
_OPTION_VALUE = re.compile(r"^[A-Za-z0-9_.-]+$")

#: Ranges of the numeric settings: (lowest, highest). The forms use the same.
LIMITS = {
    "delay_hours": (0, 720),
    "min_days_since_any": (0, 365),
    "min_days_since_this": (0, 730),
    "max_per_90_days": (1, 90),
    "expires_after_days": (1, 90),
    "reminder_after_days": (1, 89),
    "interval_days": (7, 730),
    "daily_cap": (1, 100_000),
}

#: Settings that only some kinds use; the others apply to every kind.
KIND_SETTINGS = {
    "trigger_categories": (SurveyKind.POST_TICKET,),
    "trigger_service_types": (SurveyKind.POST_TICKET, SurveyKind.POST_INSTALLATION, SurveyKind.NPS),
    "delay_hours": (SurveyKind.POST_TICKET, SurveyKind.POST_INSTALLATION),
    "interval_days": (SurveyKind.NPS,),
    "daily_cap": (SurveyKind.NPS,),
}

_DEFAULT_BUILDERS = {
    SurveyKind.POST_TICKET: defaults.post_ticket_survey,
    SurveyKind.POST_INSTALLATION: defaults.post_installation_survey,
    SurveyKind.NPS: defaults.nps_survey,
    SurveyKind.CUSTOM: defaults.custom_survey,
    SurveyKind.RECOVERY: defaults.recovery_survey,
}

#: Where the sample email points (it is never sent).
SAMPLE_SURVEY_LINK = emails.PLACEHOLDERS["survey_link"]
SAMPLE_UNSUBSCRIBE_LINK = "https://portal.example/u/…"


class DefinitionError(ValueError):
    """A change that cannot be made. ``errors`` maps field names to messages;
    the key ``""`` holds messages about the whole form or survey."""

    def __init__(self, errors: dict[str, list[str]] | str):
        if isinstance(errors, str):
            errors = {"": [errors]}
        self.errors = errors
        super().__init__(" ".join(message for messages in errors.values() for message in messages))


class _Errors(dict):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self:
            raise DefinitionError(dict(self))


def applies(kind: str, setting: str) -> bool:
    """Whether a survey of ``kind`` uses ``setting`` (a trigger condition, a wave size...)."""
    return kind in KIND_SETTINGS.get(setting, SurveyKind.ALL)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveySummary:
    survey: Survey
    questions: int
    invitations: int
    responses: int


def list_surveys() -> list[SurveySummary]:
    """Every survey with its question, invitation and response counts, active ones first."""
    surveys = db.session.scalars(
        select(Survey).options(selectinload(Survey.questions)).order_by(Survey.active.desc(), Survey.kind, Survey.name, Survey.id)
    ).all()
    invitations = dict(db.session.execute(select(Invitation.survey_id, func.count(Invitation.id)).group_by(Invitation.survey_id)).all())
    responses = dict(db.session.execute(select(Response.survey_id, func.count(Response.id)).group_by(Response.survey_id)).all())
    return [SurveySummary(s, len(s.questions), invitations.get(s.id, 0), responses.get(s.id, 0)) for s in surveys]


def get_survey(survey_id: int) -> Survey | None:
    return db.session.scalars(select(Survey).where(Survey.id == survey_id).options(selectinload(Survey.questions))).first()


def get_question(survey: Survey, question_id: int) -> Question | None:
    return next((q for q in survey.questions if q.id == question_id), None)


def invitation_count(survey: Survey) -> int:
    return db.session.scalar(select(func.count(Invitation.id)).where(Invitation.survey_id == survey.id)) or 0


def answered_question_ids(survey: Survey) -> set[int]:
    """Questions of this survey that customers have answered (they cannot be removed)."""
    ids = [q.id for q in survey.questions if q.id is not None]
    if not ids:
        return set()
    return set(db.session.scalars(select(Answer.question_id).where(Answer.question_id.in_(ids)).distinct()))


# --- creating, activating, deleting ------------------------------------------------------------


def create_survey(kind: str, *, name: str = "", from_defaults: bool = True) -> Survey:
    """A new, inactive survey of ``kind``: the default survey of that kind
    (questions, texts, email, rules) or a blank one with the default email."""
    if kind not in SurveyKind.ALL:
        raise DefinitionError({"kind": [_("Choose a kind of survey.")]})
    name = " ".join((name or "").split())
    if len(name) > MAX_NAME:
        raise DefinitionError({"name": [_("At most %(n)d characters.", n=MAX_NAME)]})
    if from_defaults:
        survey = _DEFAULT_BUILDERS[kind]()
    else:
        survey = Survey(
            name=str(SurveyKind.LABELS[kind]),
            kind=kind,
            title={},  # the admin writes it: activation asks for a German title
            intro={},
            thank_you=dict(defaults.THANK_YOU),
            email_subject=dict(defaults.EMAIL_SUBJECT[kind]),
            email_body=dict(defaults.EMAIL_BODY[kind]),
            trigger_categories=[],
            trigger_service_types=[],
            questions=[],
        )
        if kind == SurveyKind.NPS:
            survey.interval_days, survey.daily_cap = 180, 100
    survey.active = False  # an admin activates it after checking it
    if name:
        survey.name = name
    db.session.add(survey)
    db.session.flush()
    return survey


def activation_problems(survey: Survey) -> list[str]:
    """Why the survey cannot be activated (empty: it can)."""
    problems = []
    if not survey.questions:
        problems.append(_("Add at least one question."))
    if not (survey.title or {}).get("de"):
        problems.append(_("Give the survey a German title."))
    if not (survey.email_subject or {}).get("de") or not (survey.email_body or {}).get("de"):
        problems.append(_("Write the German invitation email."))
    else:
        sources = [texts.get(language) for texts in (survey.email_subject, survey.email_body) for language in LANGUAGES]
        if any(source and template_problem(source) for source in sources):
            problems.append(_("The invitation email does not render; correct it first."))
    return problems


def set_active(survey: Survey, active: bool) -> None:
    if active:
        problems = activation_problems(survey)
        if problems:
            raise DefinitionError({"": problems})
    survey.active = active


def delete_survey(survey: Survey) -> None:
    """Only a survey that never invited anybody; otherwise deactivate it."""
    if invitation_count(survey):
        raise DefinitionError(_("This survey has sent invitations, so it cannot be deleted. Deactivate it instead."))
    db.session.delete(survey)
    db.session.flush()


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveySettings:
    """Everything on the settings form. ``None`` for a setting the survey's
    kind does not use leaves it unchanged."""

    name: str
    title: dict[str, str]
    intro: dict[str, str]
    thank_you: dict[str, str]
    min_days_since_any: int
    min_days_since_this: int
    max_per_90_days: int
    expires_after_days: int
    reminder_after_days: int | None  # None: no reminder
    trigger_categories: list[str] | None = None
    trigger_service_types: list[str] | None = None
    delay_hours: int | None = None
    interval_days: int | None = None
    daily_cap: int | None = None


def update_settings(survey: Survey, settings: SurveySettings) -> None:
    errors = _Errors()
    name = " ".join((settings.name or "").split())
    if not name:
        errors.add("name", _("Give the survey a name."))
    elif len(name) > MAX_NAME:
        errors.add("name", _("At most %(n)d characters.", n=MAX_NAME))
    title = _texts(settings.title, "title", MAX_TITLE, errors, required=True)
    intro = _texts(settings.intro, "intro", MAX_MARKDOWN, errors)
    thank_you = _texts(settings.thank_you, "thank_you", MAX_MARKDOWN, errors)

    numbers = {
        "min_days_since_any": settings.min_days_since_any,
        "min_days_since_this": settings.min_days_since_this,
        "max_per_90_days": settings.max_per_90_days,
        "expires_after_days": settings.expires_after_days,
    }
    for setting in ("delay_hours", "interval_days", "daily_cap"):
        if applies(survey.kind, setting):
            numbers[setting] = getattr(settings, setting)
    for setting, value in numbers.items():
        _check_range(setting, value, errors, required=True)
    reminder = settings.reminder_after_days
    _check_range("reminder_after_days", reminder, errors, required=False)
    if reminder is not None and isinstance(settings.expires_after_days, int) and reminder >= settings.expires_after_days:
        errors.add("reminder_after_days", _("The reminder must go out before the invitation expires (after %(n)d days).", n=settings.expires_after_days))

    lists = {}
    if applies(survey.kind, "trigger_categories"):
        lists["trigger_categories"] = _choices(settings.trigger_categories, TICKET_CATEGORIES, "trigger_categories", errors)
    if applies(survey.kind, "trigger_service_types"):
        lists["trigger_service_types"] = _choices(settings.trigger_service_types, SERVICE_TYPES, "trigger_service_types", errors)
    errors.raise_if_any()

    survey.name = name
    survey.title, survey.intro, survey.thank_you = title, intro, thank_you
    for setting, value in {**numbers, **lists}.items():
        setattr(survey, setting, value)
    survey.reminder_after_days = reminder


def _texts(texts: dict | None, name: str, limit: int, errors: _Errors, required: bool = False) -> dict:
    """Per-language texts, stripped; empty languages are left out."""
    cleaned = {}
    for language in LANGUAGES:
        value = ((texts or {}).get(language) or "").strip()
        if len(value) > limit:
            errors.add(f"{name}_{language}", _("At most %(n)d characters.", n=limit))
        if value:
            cleaned[language] = value
    if required and "de" not in cleaned:
        errors.add(f"{name}_de", _("The German text is required."))
    return cleaned


def _check_range(setting: str, value, errors: _Errors, required: bool) -> None:
    low, high = LIMITS[setting]
    if value is None:
        if required:
            errors.add(setting, _("Enter a number."))
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors.add(setting, _("Enter a number from %(low)d to %(high)d.", low=low, high=high))


def _choices(values: list[str] | None, allowed: dict, name: str, errors: _Errors) -> list[str]:
    values = list(dict.fromkeys(values or []))
    if any(v not in allowed for v in values):
        errors.add(name, _("Choose from the values shown."))
    return [v for v in allowed if v in values]  # in the catalogue's order


# --- the invitation email -----------------------------------------------------------------------

#: Renders like the invitations' sandbox, but an unknown placeholder or an
#: unsafe attribute is an error instead of silently empty text.
_strict_sandbox = SandboxedEnvironment(autoescape=False, trim_blocks=True, undefined=StrictUndefined)


def sample_values() -> dict:
    """The values a preview and the validation render with (emails.PLACEHOLDERS, our brand)."""
    p = emails.PLACEHOLDERS
    return emails.template_values(
        contact_name=p["contact.name"],
        account_name=p["account.name"],
        ticket_id=p["ticket.id"],
        ticket_subject=p["ticket.subject"],
        project_name=p["project.name"],
        survey_link=SAMPLE_SURVEY_LINK,
        concern=p["concern"],
    )


def template_problem(source: str) -> str | None:
    """Why a staff-written email template cannot be used, or None.

    It is rendered with sample values twice: through the invitations' own
    renderer (whose EmailTemplateError is the answer), and strictly, so a
    misspelt placeholder or ``{{ contact.__class__ }}`` — which the sandbox
    renders as empty text — is reported too.
    """
    values = sample_values()
    try:
        emails.render_staff_template(source, values)
        _strict_sandbox.from_string(source or "").render(**values)
    except emails.EmailTemplateError as error:
        return _describe_template_error(error.__cause__ or error, source or "")
    except TemplateError as error:
        return _describe_template_error(error, source or "")
    except Exception:  # noqa: BLE001 - e.g. the sandbox's OverflowError for huge ranges
        return _("The template cannot be rendered: it asks for too much work (a loop or a number that is too large).")
    return None


_MISSING_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'")
_UNDEFINED_NAME = re.compile(r"'([^']+)' is undefined")
_UNKNOWN_TAG = re.compile(r"unknown tag '([^']+)'")
_UNEXPECTED = re.compile(r"unexpected '([^']+)'")


def _describe_template_error(error: BaseException, source: str) -> str:
    """What is wrong, in the reader's language, with the line and the placeholder:
    Jinja's own messages are English and talk about dict objects."""
    detail = str(getattr(error, "message", None) or error)
    if isinstance(error, TemplateSyntaxError):
        line = error.lineno or 1
        if "unexpected end of template" in detail.lower():
            for opening, closing in (("if", "endif"), ("for", "endfor")):
                if f"'{closing}'" in detail:
                    return _("Line %(line)d: {%% %(opening)s %%} is not closed: add {%% %(closing)s %%}.", line=line, opening=opening, closing=closing)
            return _("Line %(line)d: a placeholder {{ … }} or an instruction {%% … %%} is not closed before the end of the text.", line=line)
        if match := _UNKNOWN_TAG.search(detail):
            return _("Line %(line)d: {%% %(tag)s %%} is not an instruction templates know (use if, else, endif, for, endfor).", line=line, tag=match.group(1))
        if match := _UNEXPECTED.search(detail):
            return _("Line %(line)d: “%(text)s” does not belong here; write placeholders as {{ contact.name }}.", line=line, text=match.group(1))
        return _("Line %(line)d: the placeholders are not written correctly; write them as {{ contact.name }}.", line=line)
    if isinstance(error, SecurityError):
        return _("Not allowed in an email template: only the placeholders listed can be used, without anything after them.")
    if isinstance(error, UndefinedError):
        name = _placeholder_named(detail, source)
        line = _line_of(name, source)
        return _("Line %(line)d: the placeholder {{ %(name)s }} does not exist. Use only the placeholders listed.", line=line, name=name)
    if not isinstance(error, TemplateError):  # the sandbox's OverflowError and friends
        return _("The template cannot be rendered: it asks for too much work (a loop or a number that is too large).")
    return _("The template cannot be rendered; check its placeholders.")


def _placeholder_named(detail: str, source: str) -> str:
    """The placeholder as the staff wrote it (``ticket.subjekt``), from Jinja's message."""
    if match := _MISSING_ATTRIBUTE.search(detail):
        attribute = match.group(1)
        written = re.search(r"([A-Za-z_][\w.]*\." + re.escape(attribute) + r")\b", source)
        return written.group(1) if written else attribute
    if match := _UNDEFINED_NAME.search(detail):
        return match.group(1)
    return "…"


def _line_of(name: str, source: str) -> int:
    for number, line in enumerate(source.splitlines(), start=1):
        if name in line:
            return number
    return 1


def update_email_template(survey: Survey, subject: dict[str, str], body: dict[str, str]) -> None:
    errors = _Errors()
    subjects = _texts(subject, "subject", MAX_SUBJECT, errors, required=True)
    bodies = _texts(body, "body", MAX_BODY, errors, required=True)
    for language in LANGUAGES:
        if language in subjects and language not in bodies:
            errors.add(f"body_{language}", _("Write the body too, or leave the subject empty."))
        if language in bodies and language not in subjects:
            errors.add(f"subject_{language}", _("Write the subject too, or leave the body empty."))
    for name, texts in (("subject", subjects), ("body", bodies)):
        for language, source in texts.items():
            if f"{name}_{language}" not in errors:
                problem = template_problem(source)
                if problem:
                    errors.add(f"{name}_{language}", problem)
    errors.raise_if_any()
    survey.email_subject, survey.email_body = subjects, bodies


def preview_email(survey: Survey, language: str) -> emails.RenderedEmail:
    """The invitation as a contact speaking ``language`` would get it, with
    sample values. Raises EmailTemplateError for a template that does not render."""
    first = survey.questions[0] if survey.questions else None
    return emails.render_invitation(
        subject_template=localized(survey.email_subject, language),
        body_template=localized(survey.email_body, language),
        values=sample_values(),
        language=language,
        survey_link=SAMPLE_SURVEY_LINK,
        quick=emails.quick_answers(first, language, lambda value: f"{SAMPLE_SURVEY_LINK}?score={value}"),
        unsubscribe_link=SAMPLE_UNSUBSCRIBE_LINK,
    )


# --- questions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionInput:
    """A question as the editor submits it.

    ``text`` is ``{"de": ..., "en": ...}``, or for an NPS follow-up
    ``{"promoter": {"de":..., "en":...}, "passive": {...}, "detractor": {...}}``.
    ``options`` are ``[{"value": ..., "de": ..., "en": ...}]``; ``scale_labels``
    ``{"low": {"de":..., "en":...}, "high": {...}}``.
    """

    type: str
    required: bool = False
    text: dict = field(default_factory=dict)
    options: list[dict] = field(default_factory=list)
    scale_min: int | None = None
    scale_max: int | None = None
    scale_labels: dict = field(default_factory=dict)


def _clean_question(data: QuestionInput, survey: Survey, question: Question | None) -> dict:
    """Validated column values for a question, or DefinitionError."""
    errors = _Errors()
    kind = data.type
    if kind not in QuestionType.ALL:
        raise DefinitionError({"type": [_("Choose a type of question.")]})
    others = [q for q in survey.questions if q is not question]
    if kind in (QuestionType.NPS, QuestionType.CSAT, QuestionType.NPS_FOLLOW_UP) and any(q.type == kind for q in others):
        errors.add("", _("A survey can have only one question of the type “%(type)s”.", type=QuestionType.LABELS[kind]))
    if survey.kind == SurveyKind.RECOVERY and kind in (QuestionType.NPS, QuestionType.NPS_FOLLOW_UP):
        errors.add("type", _("A recovery survey asks whether the concern was resolved, not for a recommendation: add NPS questions to an NPS survey."))
    if kind == QuestionType.NPS_FOLLOW_UP and not any(q.type == QuestionType.NPS for q in others):
        errors.add("", _("Add the NPS question first: the follow-up depends on its score."))

    values = {"type": kind, "required": bool(data.required), "options": [], "scale_min": None, "scale_max": None, "scale_labels": {}}
    if kind == QuestionType.NPS_FOLLOW_UP:
        values["text"] = {
            category: _texts((data.text or {}).get(category), category, MAX_QUESTION_TEXT, errors, required=True) for category in NPS_CATEGORIES
        }
    else:
        values["text"] = _texts(data.text, "text", MAX_QUESTION_TEXT, errors, required=True)

    if kind in CHOICE_TYPES:
        values["options"] = _clean_options(data.options, errors)
    if kind == QuestionType.RATING:
        low, high = RATING_BOUNDS
        for name in ("scale_min", "scale_max"):
            value = getattr(data, name)
            if value is None:
                errors.add(name, _("Enter a number."))
            elif not low <= value <= high:
                errors.add(name, _("Enter a number from %(low)d to %(high)d.", low=low, high=high))
        if "scale_min" not in errors and "scale_max" not in errors and data.scale_min >= data.scale_max:
            errors.add("scale_max", _("The highest value must be greater than the lowest."))
        values["scale_min"], values["scale_max"] = data.scale_min, data.scale_max
        labels = {}
        for end in ("low", "high"):
            texts = _texts((data.scale_labels or {}).get(end), end, MAX_SCALE_LABEL, errors)
            if texts:
                labels[end] = texts
        values["scale_labels"] = labels
    errors.raise_if_any()
    return values


def _clean_options(options: list[dict], errors: _Errors) -> list[dict]:
    cleaned, seen = [], set()
    for number, option in enumerate(options or [], start=1):
        value = (option.get("value") or "").strip()
        german = (option.get("de") or "").strip()
        english = (option.get("en") or "").strip()
        if not value or not german:
            errors.add("options", _("Line %(n)d: write a value and a German label, separated by “|”.", n=number))
            continue
        if len(value) > MAX_OPTION_VALUE or not _OPTION_VALUE.match(value):
            errors.add("options", _("Line %(n)d: a value uses only letters, digits, “-”, “_” and “.” (at most %(max)d).", n=number, max=MAX_OPTION_VALUE))
        if len(german) > MAX_OPTION_LABEL or len(english) > MAX_OPTION_LABEL:
            errors.add("options", _("Line %(n)d: a label has at most %(max)d characters.", n=number, max=MAX_OPTION_LABEL))
        if value in seen:
            errors.add("options", _("Line %(n)d: the value “%(value)s” is used twice.", n=number, value=value))
        seen.add(value)
        cleaned.append({"value": value, "de": german, **({"en": english} if english else {})})
    if len(options or []) < 2:
        errors.add("options", _("A choice question needs at least two options."))
    if len(options or []) > MAX_OPTIONS:
        errors.add("options", _("At most %(n)d options.", n=MAX_OPTIONS))
    return cleaned


def add_question(survey: Survey, data: QuestionInput) -> Question:
    """Append a question at the end."""
    values = _clean_question(data, survey, None)
    question = Question(position=len(survey.questions) + 1, **values)
    survey.questions.append(question)
    _renumber(survey)
    db.session.flush()
    return question


def update_question(question: Question, data: QuestionInput) -> None:
    """Change a question's wording, options or scale. Its type stays: answers
    already given were given to that type."""
    if data.type != question.type:
        raise DefinitionError({"type": [_("The type of a question cannot be changed. Add a new question instead.")]})
    values = _clean_question(data, question.survey, question)
    for name, value in values.items():
        setattr(question, name, value)
    db.session.flush()


def remove_question(question: Question) -> None:
    survey = question.survey
    if question.id in answered_question_ids(survey):
        raise DefinitionError(_("Customers have answered this question, so it cannot be removed."))
    survey.questions.remove(question)  # delete-orphan deletes the row
    _renumber(survey)
    db.session.flush()


def move_question(question: Question, position: int) -> None:
    """Move to ``position`` (1-based, clamped); the others close up."""
    survey = question.survey
    questions = list(survey.questions)
    questions.remove(question)
    position = min(max(position, 1), len(questions) + 1)
    questions.insert(position - 1, question)
    for number, each in enumerate(questions, start=1):
        each.position = number
    survey.questions.sort(key=lambda q: q.position)  # same members: no orphans, no events
    db.session.flush()


def _renumber(survey: Survey) -> None:
    for number, question in enumerate(survey.questions, start=1):
        question.position = number


# --- what the editor points out ----------------------------------------------------------------


def missing_english(question: Question) -> bool:
    if question.type == QuestionType.NPS_FOLLOW_UP:
        if any(not (question.text or {}).get(c, {}).get("en") for c in NPS_CATEGORIES):
            return True
    elif not (question.text or {}).get("en"):
        return True
    if any(not o.get("en") for o in question.options or []):
        return True
    return any(not texts.get("en") for texts in (question.scale_labels or {}).values())


def survey_warnings(survey: Survey) -> list[str]:
    """Things worth fixing that do not stop the survey from working."""
    warnings = []
    missing = [
        label
        for label, texts in (
            (_("title"), survey.title),
            (_("introduction"), survey.intro),
            (_("thank-you text"), survey.thank_you),
            (_("email subject"), survey.email_subject),
            (_("email body"), survey.email_body),
        )
        if (texts or {}).get("de") and not (texts or {}).get("en")
    ]
    if missing:
        warnings.append(_("No English %(parts)s: English-speaking contacts will read German.", parts=", ".join(missing)))
    untranslated = [q.position for q in survey.questions if missing_english(q)]
    if untranslated:
        warnings.append(
            ngettext(
                "Question %(numbers)s lacks English text: English-speaking contacts will read German.",
                "Questions %(numbers)s lack English text: English-speaking contacts will read German.",
                len(untranslated),
                numbers=", ".join(map(str, untranslated)),
            )
        )
    types = [q.type for q in survey.questions]
    if QuestionType.NPS_FOLLOW_UP in types and QuestionType.NPS in types and types.index(QuestionType.NPS_FOLLOW_UP) < types.index(QuestionType.NPS):
        warnings.append(_("The NPS follow-up comes before the NPS question; move it after it."))
    if QuestionType.NPS_FOLLOW_UP in types and QuestionType.NPS not in types:
        warnings.append(_("The NPS follow-up has no NPS question to follow."))
    if survey.kind == SurveyKind.RECOVERY and not recovery.has_resolved_question(survey):
        warnings.append(
            _("No single-choice question has the value “%(value)s”: the loop report then judges recovery by the satisfaction score alone (4 or 5).", value=SurveyKind.RESOLVED_YES)
        )
    if survey.questions and not any(q.required for q in survey.questions):
        warnings.append(_("No question is required: a customer can finish the survey without answering anything."))
    return warnings


# --- the survey page preview ------------------------------------------------------------------


@dataclass(frozen=True)
class PagePreview:
    """One step of the public survey page, as a contact would see it."""

    language: str
    question: Question | None  # None: the thank-you step
    position: int  # 1-based; total + 1 for the thank-you step
    total: int
    question_text: str
    category: str  # the NPS category the follow-up wording is shown for
    finished: bool
    thank_you: str
    untranslated: bool  # English requested, German shown


def preview_page(survey: Survey, language: str = "de", position: int | None = None, category: str = "detractor") -> PagePreview:
    """The step at ``position`` (default: the first question; past the last
    question: the thank-you step), in ``language``."""
    language = language if language in LANGUAGES else "de"
    category = category if category in NPS_CATEGORIES else "detractor"
    questions = survey.questions
    total = len(questions)
    position = 1 if position is None else min(max(position, 1), total + 1)
    if position > total:
        thank_you = localized(survey.thank_you, language)
        return PagePreview(
            language, None, total + 1, total, "", category, True, thank_you,
            untranslated=language != "de" and bool((survey.thank_you or {}).get("de")) and not (survey.thank_you or {}).get(language),
        )  # fmt: skip
    question = questions[position - 1]
    texts = (question.text or {}).get(category) if question.type == QuestionType.NPS_FOLLOW_UP else question.text
    return PagePreview(
        language, question, position, total, localized(texts, language), category, False, "",
        untranslated=language != "de" and missing_english(question),
    )  # fmt: skip


# --- the editor page ------------------------------------------------------------------------------


def language_or_german(value: str | None) -> str:
    """A preview language from the query string: one we have, else German."""
    return value if value in LANGUAGES else "de"


def email_preview_or_problem(survey: Survey, language: str) -> tuple[emails.RenderedEmail | None, str | None]:
    """The sample invitation, or why its template does not render: the
    editor shows the problem where the preview would be."""
    try:
        return preview_email(survey, language), None
    except emails.EmailTemplateError as error:
        return None, str(error)


@dataclass(frozen=True)
class EditorState:
    """What the editor page shows about a survey besides its forms: counts,
    warnings, why it cannot be activated, and the two previews."""

    invitations: int
    answered: set[int]
    warnings: list[str]
    problems: list[str]  # empty for an active survey
    page: PagePreview
    email: emails.RenderedEmail | None
    email_problem: str | None
    email_language: str
    has_follow_up: bool


def editor_state(survey: Survey, page_language: str | None, position: int | None, category: str, email_language: str | None) -> EditorState:
    """The editor's view of ``survey``, with the previews in the languages
    (and at the step, for the NPS category) the user chose."""
    email_language = language_or_german(email_language)
    email, email_problem = email_preview_or_problem(survey, email_language)
    return EditorState(
        invitations=invitation_count(survey),
        answered=answered_question_ids(survey),
        warnings=survey_warnings(survey),
        problems=activation_problems(survey) if not survey.active else [],
        page=preview_page(survey, language_or_german(page_language), position, category),
        email=email,
        email_problem=email_problem,
        email_language=email_language,
        has_follow_up=any(q.type == QuestionType.NPS_FOLLOW_UP for q in survey.questions),
    )
