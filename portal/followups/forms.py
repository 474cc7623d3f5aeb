"""The task list's filters, the task page's three forms, and an alert rule."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.followups.lists import TaskFilters
from portal.followups.models import ActivityKind, AlertRule, Priority, RuleKind, TaskStatus
from portal.web.i18n import lazy_gettext as _l
from portal.web.inputs import FilterForm, PlainText

MAX_TEXT = 5000
#: The status filter's groups (kept in the URL as ``status=active|closed|all``) and the unassigned queue (``assignee=none``).
ACTIVE, CLOSED, ALL, UNASSIGNED = "active", "closed", "all", "none"
STATUS_GROUPS = {ACTIVE: list(TaskStatus.ACTIVE), CLOSED: list(TaskStatus.CLOSED), ALL: []}


class TaskFilterForm(FilterForm):
    """The team view's filters."""

    status = SelectField(
        _l("Status"),
        default=ACTIVE,
        choices=[SelectChoice(ACTIVE, _l("Open work (open, in progress, waiting)")), SelectChoice(CLOSED, _l("Closed (resolved, dismissed)")), SelectChoice(ALL, _l("All statuses"))]
        + [SelectChoice(s, label) for s, label in TaskStatus.LABELS.items()],
    )
    overdue = BooleanField(_l("Overdue only"))
    rule = SelectField(_l("Rule"), validators=[Optional()], choices=[SelectChoice("", _l("All"))] + [SelectChoice(k, label) for k, label in RuleKind.LABELS.items()])
    assignee = SelectField(_l("Assigned to"), validators=[Optional()], validate_choice=True)
    account = IntegerField(_l("Account"), validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])
    page = IntegerField(_l("Page"), validators=[Optional(), NumberRange(min=1, max=1_000_000)])

    def set_assignees(self, users) -> None:
        self.assignee.choices = [SelectChoice("", _l("Anyone")), SelectChoice(UNASSIGNED, _l("Nobody (unassigned)"))] + [
            SelectChoice(str(u.id), u.name) for u in users
        ]

    def filters(self) -> TaskFilters:
        """The team view's filters from the validated form."""
        data = self.data
        status = data.get("status") or ACTIVE
        assignee = data.get("assignee") or ""
        return TaskFilters(
            statuses=STATUS_GROUPS.get(status, [status] if status in TaskStatus.ALL else []),
            overdue=bool(data.get("overdue")),
            rule_kind=data.get("rule") or None,
            unassigned=assignee == UNASSIGNED,
            assignee_id=int(assignee) if assignee.isdigit() else None,
            account_id=data.get("account") or None,
            page=data.get("page") or 1,
        )


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=[SelectChoice(s, label) for s, label in TaskStatus.LABELS.items()], validators=[DataRequired()])
    outcome = TextAreaField(
        _l("Outcome"),
        validators=[Optional(), Length(max=MAX_TEXT), PlainText()],
        description=_l("Required to resolve or dismiss: what was done and what came of it."),
    )
    wait_until = DateField(_l("Waiting until"), validators=[Optional()], description=_l("Required for “waiting”: the day the task is due again."))

    def set_statuses(self, statuses) -> None:
        self.status.choices = [SelectChoice(s, TaskStatus.LABELS[s]) for s in statuses]


class ActivityForm(FlaskForm):
    kind = SelectField(_l("What you did"), choices=[SelectChoice(k, ActivityKind.LABELS[k]) for k in ActivityKind.LOGGED], validators=[DataRequired()])
    body = TextAreaField(_l("Notes"), validators=[DataRequired(), Length(max=MAX_TEXT), PlainText()])


class AssigneeForm(FlaskForm):
    assignee_id = SelectField(_l("Assign to"), validators=[DataRequired()], validate_choice=True)

    def set_assignees(self, users) -> None:
        self.assignee_id.choices = [SelectChoice("", _l("Choose a colleague"))] + [SelectChoice(str(u.id), u.name) for u in users]


class RegionOwnerForm(FlaskForm):
    """Who gets a region's tasks when an account has no active manager."""

    region = SelectField(_l("Region"), validators=[DataRequired()], validate_choice=True)
    user_id = SelectField(_l("Fallback owner"), validators=[Optional()], validate_choice=True)

    def set_choices(self, regions, users) -> None:
        self.region.choices = [SelectChoice(r, r) for r in regions]
        self.user_id.choices = [SelectChoice("", _l("Nobody (remove)"))] + [SelectChoice(str(u.id), u.name) for u in users]


class RuleForm(FlaskForm):
    enabled = BooleanField(_l("Active"))
    threshold = IntegerField(
        _l("Threshold"),
        description=_l("Detractor and low CSAT: a score at or below this value (≤). Score drop: a fall of at least this many points."),
        validators=[Optional(), NumberRange(min=0, max=10)],
    )
    keywords = TextAreaField(_l("Words and phrases, one per line"), validators=[Optional(), Length(max=MAX_TEXT), PlainText()])
    priority = SelectField(_l("Priority"), choices=[SelectChoice(p, label) for p, label in Priority.LABELS.items()])
    due_hours = IntegerField(_l("Due after (hours)"), validators=[DataRequired(), NumberRange(min=1, max=24 * 90)])
    fallback_user_id = SelectField(_l("If the account has no manager, assign to"), validators=[Optional()], validate_choice=True)
    notify_email = BooleanField(_l("Email the assignee"))
    follow_up_days = IntegerField(_l("Follow-up survey after (days; empty: none)"), validators=[Optional(), NumberRange(min=1, max=365)])

    def set_users(self, users) -> None:
        self.fallback_user_id.choices = [SelectChoice("", _l("Nobody"))] + [SelectChoice(str(u.id), u.name) for u in users]

    @classmethod
    def for_rule(cls, rule: AlertRule, users) -> RuleForm:
        """The rule's form filled with its values (a page shows one per rule, hence the prefix)."""
        form = cls(formdata=None, prefix=f"rule{rule.id}", data=_rule_values(rule))
        form.set_users(users)
        return form

    def values(self) -> dict:
        return {
            "enabled": self.enabled.data,
            "threshold": self.threshold.data,
            "keywords": self.keywords.data or "",
            "priority": self.priority.data,
            "due_hours": self.due_hours.data,
            "fallback_user_id": int(self.fallback_user_id.data) if self.fallback_user_id.data else None,
            "notify_email": self.notify_email.data,
            "follow_up_days": self.follow_up_days.data,
        }


def _rule_values(rule: AlertRule) -> dict:
    return {
        "enabled": rule.enabled,
        "threshold": rule.threshold,
        "keywords": "\n".join(rule.keywords or []),
        "priority": rule.priority,
        "due_hours": rule.due_hours,
        "fallback_user_id": str(rule.fallback_user_id) if rule.fallback_user_id else "",
        "notify_email": rule.notify_email,
        "follow_up_days": rule.follow_up_days,
    }
