from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, SearchField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.courses.services import DEFAULT_LINK_DAYS, MAX_LINK_DAYS
from portal.web.i18n import lazy_gettext as _l
from portal.web.inputs import FilterForm, PlainText


class IdentifyForm(FlaskForm):
    """Who is taking the course: name and email, remembered on this device."""

    name = StringField(_l("Your name"), validators=[DataRequired(), PlainText(), Length(max=200)], render_kw={"autocomplete": "name"})
    email = EmailField(
        _l("Your work email"),
        validators=[DataRequired(), PlainText(), Email(), Length(max=254)],
        description=_l("We use it only to bring you back to your progress on another device."),
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AccessLinkForm(FlaskForm):
    courses = CheckboxListField(
        _l("Courses"),
        description=_l("Leave all unticked for every course that fits the account's services."),
        validators=[Optional()],
    )
    days = IntegerField(
        _l("Valid for (days)"),
        default=DEFAULT_LINK_DAYS,
        validators=[DataRequired(), NumberRange(min=1, max=MAX_LINK_DAYS)],
    )
    reminder_days = IntegerField(
        _l("Remind learners after (days without progress)"),
        description=_l("Optional. Learners who pause this long get one reminder email."),
        validators=[Optional(), NumberRange(min=1, max=365)],
    )


class AccountSearchForm(FilterForm):
    q = SearchField(_l("Find an account"), validators=[Optional(), Length(max=100)], render_kw={"placeholder": _l("Name or customer number")})
