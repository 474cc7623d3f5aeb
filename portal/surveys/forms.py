"""Forms of the survey editor (staff area).

The public survey pages have no forms here: answers are validated by
services.parse_answer (the questions are data, not a fixed form), and the
opt-out page has no fields but the button.

These forms check types and lengths; the rules that need the survey
(German text required, options unique, reminder before expiry...) live in
definitions.py, whose errors the views put on the same fields.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.customers.models import SERVICE_TYPES, TICKET_CATEGORIES
from portal.surveys import definitions
from portal.surveys.definitions import LIMITS, NPS_CATEGORIES, QuestionInput, SurveySettings, applies
from portal.surveys.models import LANGUAGES, QuestionType, SurveyKind
from portal.web.i18n import lazy_gettext as _l


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _number(label, setting: str, description=None, required: bool = True) -> IntegerField:
    low, high = LIMITS[setting]
    return IntegerField(
        label,
        description=description,
        validators=[InputRequired() if required else Optional(), NumberRange(min=low, max=high)],
        render_kw={"min": low, "max": high, "inputmode": "numeric"},
    )


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def _texts(form: FlaskForm, name: str) -> dict[str, str]:
    return {language: form[f"{name}_{language}"].data or "" for language in LANGUAGES}


class NewSurveyForm(FlaskForm):
    kind = RadioField(_l("Kind"), choices=_choices(SurveyKind.LABELS), validators=[DataRequired()])
    start = RadioField(
        _l("Start from"),
        choices=[SelectChoice("defaults", _l("Our proposal for this kind (questions, texts and email)")), SelectChoice("blank", _l("A blank survey (only the email)"))],
        default="defaults",
        validators=[DataRequired()],
    )
    name = StringField(
        _l("Name"),
        description=_l("For staff only. Leave empty to use the proposal's name."),
        validators=[Optional(), Length(max=definitions.MAX_NAME)],
    )


class SettingsForm(FlaskForm):
    name = StringField(_l("Name (for staff)"), validators=[DataRequired(), Length(max=definitions.MAX_NAME)])
    title_de = StringField(_l("Title (German)"), validators=[DataRequired(), Length(max=definitions.MAX_TITLE)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=definitions.MAX_TITLE)])
    intro_de = TextAreaField(_l("Introduction (German, Markdown)"), validators=[Optional(), Length(max=definitions.MAX_MARKDOWN)], render_kw={"rows": 3})
    intro_en = TextAreaField(_l("Introduction (English, Markdown)"), validators=[Optional(), Length(max=definitions.MAX_MARKDOWN)], render_kw={"rows": 3})
    thank_you_de = TextAreaField(_l("Thank-you text (German, Markdown)"), validators=[Optional(), Length(max=definitions.MAX_MARKDOWN)], render_kw={"rows": 3})
    thank_you_en = TextAreaField(_l("Thank-you text (English, Markdown)"), validators=[Optional(), Length(max=definitions.MAX_MARKDOWN)], render_kw={"rows": 3})

    trigger_categories = CheckboxListField(
        _l("Ticket categories"), choices=_choices(TICKET_CATEGORIES), description=_l("None ticked: tickets of every category.")
    )
    trigger_service_types = CheckboxListField(
        _l("Service types"), choices=_choices(SERVICE_TYPES), description=_l("None ticked: customers with any service.")
    )
    delay_hours = _number(_l("Delay after the event (hours)"), "delay_hours")

    min_days_since_any = _number(_l("Minimum days since the contact's last invitation to any survey"), "min_days_since_any")
    min_days_since_this = _number(_l("Minimum days since the contact's last invitation to this survey"), "min_days_since_this")
    max_per_90_days = _number(_l("At most this many invitations per contact in 90 days"), "max_per_90_days")

    expires_after_days = _number(_l("The link expires after (days)"), "expires_after_days")
    reminder_after_days = _number(
        _l("One reminder after (days)"), "reminder_after_days", description=_l("Leave empty for no reminder."), required=False
    )
    interval_days = _number(_l("Ask each contact every (days)"), "interval_days")
    daily_cap = _number(_l("At most this many invitations a day"), "daily_cap")

    def configure_for(self, kind: str) -> SettingsForm:
        """Drop the fields this kind of survey does not use."""
        for setting in definitions.KIND_SETTINGS:
            if not applies(kind, setting):
                del self[setting]
        return self

    def settings(self) -> SurveySettings:
        def value(name):
            return self[name].data if name in self._fields else None

        return SurveySettings(
            name=self.name.data or "",
            title=_texts(self, "title"),
            intro=_texts(self, "intro"),
            thank_you=_texts(self, "thank_you"),
            min_days_since_any=self.min_days_since_any.data,
            min_days_since_this=self.min_days_since_this.data,
            max_per_90_days=self.max_per_90_days.data,
            expires_after_days=self.expires_after_days.data,
            reminder_after_days=self.reminder_after_days.data,
            trigger_categories=value("trigger_categories"),
            trigger_service_types=value("trigger_service_types"),
            delay_hours=value("delay_hours"),
            interval_days=value("interval_days"),
            daily_cap=value("daily_cap"),
        )

    @classmethod
    def for_survey(cls, survey, formdata=None) -> SettingsForm:
        if formdata is not None:
            return cls(formdata=formdata).configure_for(survey.kind)
        data = {
            "name": survey.name,
            "trigger_categories": survey.trigger_categories or [],
            "trigger_service_types": survey.trigger_service_types or [],
        }
        for name in ("title", "intro", "thank_you"):
            for language in LANGUAGES:
                data[f"{name}_{language}"] = (getattr(survey, name) or {}).get(language, "")
        for setting in LIMITS:
            data[setting] = getattr(survey, setting)
        return cls(formdata=None, data=data).configure_for(survey.kind)


class EmailTemplateForm(FlaskForm):
    subject_de = StringField(_l("Subject (German)"), validators=[DataRequired(), Length(max=definitions.MAX_SUBJECT)])
    body_de = TextAreaField(_l("Text (German, Markdown)"), validators=[DataRequired(), Length(max=definitions.MAX_BODY)], render_kw={"rows": 8})
    subject_en = StringField(_l("Subject (English)"), validators=[Optional(), Length(max=definitions.MAX_SUBJECT)])
    body_en = TextAreaField(_l("Text (English, Markdown)"), validators=[Optional(), Length(max=definitions.MAX_BODY)], render_kw={"rows": 8})

    @classmethod
    def for_survey(cls, survey, formdata=None) -> EmailTemplateForm:
        if formdata is not None:
            return cls(formdata=formdata)
        data = {}
        for language in LANGUAGES:
            data[f"subject_{language}"] = (survey.email_subject or {}).get(language, "")
            data[f"body_{language}"] = (survey.email_body or {}).get(language, "")
        return cls(formdata=None, data=data)

    def templates(self) -> tuple[dict[str, str], dict[str, str]]:
        return _texts(self, "subject"), _texts(self, "body")


def format_options(options: list[dict]) -> str:
    """Options as the editor shows them: one per line, ``value | Deutsch | English``."""
    lines = []
    for option in options or []:
        parts = [option.get("value", ""), option.get("de", "")]
        if option.get("en"):
            parts.append(option["en"])
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def parse_options(text: str) -> list[dict]:
    options = []
    for line in (text or "").splitlines():
        if line.strip():
            parts = [part.strip() for part in line.split("|", 2)] + ["", ""]
            options.append({"value": parts[0], "de": parts[1], "en": parts[2]})
    return options


_short = [Optional(), Length(max=definitions.MAX_QUESTION_TEXT)]
_label = [Optional(), Length(max=definitions.MAX_SCALE_LABEL)]
_scale = [Optional(), NumberRange(min=definitions.RATING_BOUNDS[0], max=definitions.RATING_BOUNDS[1])]


class QuestionForm(FlaskForm):
    """One form for every type of question; the template shows the fields the type uses.

    A new question's type comes from the "add" choice as a hidden field; a
    question's type never changes afterwards.
    """

    type = HiddenField()
    required = BooleanField(_l("An answer is required"))
    text_de = TextAreaField(_l("Question (German)"), validators=_short, render_kw={"rows": 2})
    text_en = TextAreaField(_l("Question (English)"), validators=_short, render_kw={"rows": 2})
    options = TextAreaField(
        _l("Options"),
        description=_l("One per line: value | Deutsch | English. The value is stored with the answer (letters, digits, - _ .)."),
        validators=[Optional(), Length(max=8000)],
        render_kw={"rows": 5},
    )
    scale_min = IntegerField(_l("Lowest value"), validators=_scale, render_kw={"min": 0, "max": 10, "inputmode": "numeric"})
    scale_max = IntegerField(_l("Highest value"), validators=_scale, render_kw={"min": 0, "max": 10, "inputmode": "numeric"})
    low_de = StringField(_l("Label of the lowest value (German)"), validators=_label)
    low_en = StringField(_l("Label of the lowest value (English)"), validators=_label)
    high_de = StringField(_l("Label of the highest value (German)"), validators=_label)
    high_en = StringField(_l("Label of the highest value (English)"), validators=_label)
    promoter_de = TextAreaField(_l("For promoters, 9–10 (German)"), validators=_short, render_kw={"rows": 2})
    promoter_en = TextAreaField(_l("For promoters, 9–10 (English)"), validators=_short, render_kw={"rows": 2})
    passive_de = TextAreaField(_l("For passives, 7–8 (German)"), validators=_short, render_kw={"rows": 2})
    passive_en = TextAreaField(_l("For passives, 7–8 (English)"), validators=_short, render_kw={"rows": 2})
    detractor_de = TextAreaField(_l("For detractors, 0–6 (German)"), validators=_short, render_kw={"rows": 2})
    detractor_en = TextAreaField(_l("For detractors, 0–6 (English)"), validators=_short, render_kw={"rows": 2})

    @classmethod
    def for_question(cls, question, prefix: str) -> QuestionForm:
        data = {
            "type": question.type,
            "required": question.required,
            "options": format_options(question.options),
            "scale_min": question.scale_min,
            "scale_max": question.scale_max,
        }
        for language in LANGUAGES:
            if question.type == QuestionType.NPS_FOLLOW_UP:
                for category in NPS_CATEGORIES:
                    data[f"{category}_{language}"] = (question.text or {}).get(category, {}).get(language, "")
            else:
                data[f"text_{language}"] = (question.text or {}).get(language, "")
            for end in ("low", "high"):
                data[f"{end}_{language}"] = (question.scale_labels or {}).get(end, {}).get(language, "")
        return cls(formdata=None, data=data, prefix=prefix)

    @classmethod
    def blank(cls, type_: str, prefix: str) -> QuestionForm:
        data = {"type": type_, "required": type_ in (QuestionType.NPS, QuestionType.CSAT)}
        if type_ == QuestionType.RATING:
            data.update(scale_min=1, scale_max=5)
        return cls(formdata=None, data=data, prefix=prefix)

    def question_input(self, type_: str) -> QuestionInput:
        if type_ == QuestionType.NPS_FOLLOW_UP:
            text = {category: _texts(self, category) for category in NPS_CATEGORIES}
        else:
            text = _texts(self, "text")
        return QuestionInput(
            type=type_,
            required=bool(self.required.data),
            text=text,
            options=parse_options(self.options.data),
            scale_min=self.scale_min.data,
            scale_max=self.scale_max.data,
            scale_labels={end: _texts(self, end) for end in ("low", "high")},
        )
