"""The closed loop: the rule engine, the task workflow, the lists, the
follow-up survey, the digest and the loop report.

No request, no templates (emails come from emails.py), no commits: functions
flush, and the request, job or CLI command around them commits
(portal/web/transaction.py).

- **One task per response.** ``Task.response_id`` is unique: of two answers
  of one response at once the slower one fails on the constraint and the
  survey view's ``run_in_transaction`` runs it again, when it finds the task.
- **One active account-drop task per account.** ``Task.open_drop_account_id``
  is unique and set while the task is active; a lost race is caught in a
  savepoint, so the answer that caused the check still stands.
- **Keywords** match case- and umlaut-insensitively (``ä``/``ae`` alike), at the
  start of a word; long single words (8 letters or more once normalised) also
  inside compounds ("Vertragskündigung" has "Kündigung").
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, case, exists, false, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from portal.auth.models import Role, StaffUser
from portal.config import SUPPORTED_LOCALES
from portal.customers import services as customers
from portal.customers.models import Account, Contact, Ticket
from portal.extensions import db
from portal.followups.models import (
    Activity,
    ActivityKind,
    AlertRule,
    Priority,
    RuleChange,
    RuleKind,
    Task,
    TaskRule,
    TaskStatus,
)
from portal.pagination import Page, paginate
from portal.reports import metrics
from portal.surveys import recovery
from portal.surveys import services as surveys
from portal.surveys.models import Answer, Invitation, Response
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l
from portal.web.urls import external_url

TASKS_PER_PAGE = 25
MAX_TEXT = 5000
#: Account NPS compares the last QUARTER against the one before.
QUARTER = timedelta(days=90)
#: After an account-drop task, no new one for the same account for this long (a dismissed
#: drop would otherwise come back with the next answer, the trend being still the same).
DROP_COOLDOWN = timedelta(days=30)
#: The digest of overdue tasks goes out at the first worker run after this hour (UTC).
DIGEST_HOUR = 6
_ADVISORY_SEED_LOCK = 471101


class WorkflowError(ValueError):
    """A change the workflow does not allow; ``code`` names why."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# --- the rules -----------------------------------------------------------------------------

DEFAULT_KEYWORDS = [
    "kündigen", "Kündigung", "kündige", "gekündigt", "Vertrag beenden", "Anbieter wechseln", "Wechsel zu",
    "cancel", "terminate the contract", "switch provider",
]  # fmt: skip

DEFAULT_RULES: tuple[dict, ...] = (
    {"kind": RuleKind.DETRACTOR, "threshold": 6, "priority": Priority.HIGH, "due_hours": 48, "follow_up_days": 14},
    {"kind": RuleKind.LOW_CSAT, "threshold": 2, "priority": Priority.HIGH, "due_hours": 48, "follow_up_days": 14},
    {"kind": RuleKind.SCORE_DROP, "threshold": 3, "priority": Priority.NORMAL, "due_hours": 72, "follow_up_days": 14},
    {"kind": RuleKind.ACCOUNT_DROP, "threshold": None, "priority": Priority.URGENT, "due_hours": 72, "follow_up_days": None},
    {"kind": RuleKind.KEYWORDS, "threshold": None, "keywords": DEFAULT_KEYWORDS, "priority": Priority.URGENT, "due_hours": 24, "follow_up_days": 14},
)

#: Which reason names the task when several rules matched (first wins).
_REASON_ORDER = (RuleKind.KEYWORDS, RuleKind.SCORE_DROP, RuleKind.DETRACTOR, RuleKind.LOW_CSAT, RuleKind.ACCOUNT_DROP)


def _default_locale() -> str:
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def seed_default_rules() -> int:
    """Create the default rule of each kind that has no rule yet; how many were created.

    Safe to run at once in several transactions: on PostgreSQL they queue on an
    advisory lock, on SQLite writers are serialised anyway."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_SEED_LOCK})
    existing = set(db.session.scalars(select(AlertRule.kind)))
    made = []
    with force_locale(_default_locale()):
        for values in DEFAULT_RULES:
            if values["kind"] in existing:
                continue
            rule = AlertRule(name=str(RuleKind.LABELS[values["kind"]]), enabled=True, notify_email=True, **values)
            if "keywords" not in values:
                rule.keywords = []
            db.session.add(rule)
            made.append(rule)
    if made:
        db.session.flush()
        for rule in made:  # an explicit None gave way to the column's default on insert
            rule.follow_up_days = next(v for v in DEFAULT_RULES if v["kind"] == rule.kind)["follow_up_days"]
        db.session.flush()
    return len(made)


def _ensure_rules() -> None:
    if db.session.scalar(select(AlertRule.id).limit(1)) is None:
        seed_default_rules()


def rules() -> list[AlertRule]:
    """Every rule, in the order of the defaults; a fresh database gets the defaults first."""
    _ensure_rules()
    order = case({kind: n for n, kind in enumerate(RuleKind.ALL)}, value=AlertRule.kind, else_=99)
    return list(db.session.scalars(select(AlertRule).options(selectinload(AlertRule.fallback_user)).order_by(order, AlertRule.id)))


def get_rule(rule_id: int) -> AlertRule | None:
    return db.session.get(AlertRule, rule_id)


RULE_FIELDS = ("name", "enabled", "threshold", "keywords", "priority", "due_hours", "fallback_user_id", "notify_email", "follow_up_days")
#: The allowed thresholds per kind.
THRESHOLD_RANGES = {RuleKind.DETRACTOR: (0, 10), RuleKind.LOW_CSAT: (1, 5), RuleKind.SCORE_DROP: (1, 10)}


def clean_keywords(values: Iterable[str] | str) -> list[str]:
    """One keyword per line (or a list): stripped, empty lines and repeats dropped."""
    if isinstance(values, str):
        values = values.splitlines()
    seen, keywords = set(), []
    for value in values:
        word = " ".join(str(value).split())[:100]
        if word and normalise(word) not in seen:
            seen.add(normalise(word))
            keywords.append(word)
    return keywords


def update_rule(rule: AlertRule, user: StaffUser | None, values: dict) -> RuleChange | None:
    """Change a rule; one audit record with {field: [old, new]} when something changed, else None.

    Raises WorkflowError for a value the rule cannot take."""
    new: dict[str, Any] = {}
    for name in RULE_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name == "name":
            value = " ".join(str(value or "").split())[:120]
            if not value:
                raise WorkflowError("name_required")
        elif name in ("enabled", "notify_email"):
            value = bool(value)
        elif name == "threshold":
            if rule.kind not in THRESHOLD_RANGES:
                continue
            low, high = THRESHOLD_RANGES[rule.kind]
            if value is None or not low <= int(value) <= high:
                raise WorkflowError("threshold_out_of_range")
            value = int(value)
        elif name == "keywords":
            if rule.kind != RuleKind.KEYWORDS:
                continue
            value = clean_keywords(value or [])
            if not value:
                raise WorkflowError("keywords_required")
        elif name == "priority":
            if value not in Priority.ALL:
                raise WorkflowError("unknown_priority")
        elif name == "due_hours":
            if value is None or not 1 <= int(value) <= 24 * 90:
                raise WorkflowError("due_hours_out_of_range")
            value = int(value)
        elif name == "follow_up_days":
            if value in (None, ""):
                value = None
            elif not 1 <= int(value) <= 365:
                raise WorkflowError("follow_up_days_out_of_range")
            else:
                value = int(value)
        elif name == "fallback_user_id":
            if value in (None, "", 0):
                value = None
            else:
                value = int(value)
                if not any(u.id == value for u in assignable_users()):
                    raise WorkflowError("invalid_assignee")
        new[name] = value
    changes = {}
    for name, value in new.items():
        old = getattr(rule, name)
        if old != value:
            changes[name] = [list(old) if isinstance(old, list) else old, value]
            setattr(rule, name, value)
    if not changes:
        return None
    change = RuleChange(rule_id=rule.id, user_id=user.id if user else None, changes=changes, created_at=utcnow())
    db.session.add(change)
    db.session.flush()
    return change


def rule_changes(limit: int = 50) -> list[RuleChange]:
    return list(
        db.session.scalars(
            select(RuleChange).options(selectinload(RuleChange.user)).order_by(RuleChange.created_at.desc(), RuleChange.id.desc()).limit(limit)
        )
    )


# --- the rule engine (pure) ---------------------------------------------------------------

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
#: Single-word keywords this long (normalised) also match inside compound words.
INFIX_MIN_LENGTH = 8


def normalise(value: str) -> str:
    """Casefolded, umlauts written out (ä → ae ...), whitespace collapsed: "Kündigung" and "KUENDIGUNG" alike."""
    value = unicodedata.normalize("NFC", value or "").casefold().translate(_UMLAUTS)
    return " ".join(value.split())


def keyword_pattern(keyword: str) -> re.Pattern | None:
    word = normalise(keyword)
    if not word:
        return None
    body = r"\s+".join(re.escape(part) for part in word.split(" "))
    prefix = "" if " " not in word and len(word) >= INFIX_MIN_LENGTH else r"(?<!\w)"
    return re.compile(prefix + body)


def matching_keywords(keywords: Iterable[str], texts: Iterable[str | None]) -> list[str]:
    """The keywords found in the texts (case- and umlaut-insensitive)."""
    haystack = "\n".join(normalise(t) for t in texts if t)
    if not haystack:
        return []
    found = []
    for keyword in keywords:
        pattern = keyword_pattern(keyword)
        if pattern is not None and pattern.search(haystack):
            found.append(keyword)
    return found


def response_texts(response: Response) -> list[str]:
    texts = [response.comment] if response.comment else []
    texts += [a.text for a in response.answers if a.text and a.text != response.comment]
    return texts


def matches(rule: AlertRule, response: Response, previous_score: int | None = None, texts: list[str] | None = None) -> bool:
    """Does this answer meet the rule? (Account drops are checked on the account: never here.)"""
    nps, csat = response.nps_score, response.csat_score
    if rule.kind == RuleKind.DETRACTOR:
        return nps is not None and nps <= (rule.threshold if rule.threshold is not None else 6)
    if rule.kind == RuleKind.LOW_CSAT:
        return csat is not None and csat <= (rule.threshold if rule.threshold is not None else 2)
    if rule.kind == RuleKind.SCORE_DROP:
        return nps is not None and previous_score is not None and previous_score - nps >= (rule.threshold or 3)
    if rule.kind == RuleKind.KEYWORDS:
        return bool(matching_keywords(rule.keywords or [], texts if texts is not None else response_texts(response)))
    return False


#: Each period needs this many answers (contacts) before a fall can count: with one
#: answer on each side both periods are "unanimous", and the z-test calls any change certain.
MIN_ACCOUNT_ANSWERS = 3


def is_significant_drop(before: metrics.NpsFigures, now: metrics.NpsFigures) -> bool:
    """The account NPS fell, and the z-test of the reports says the fall is real at 95 %
    (with at least MIN_ACCOUNT_ANSWERS answers in each period)."""
    if before.responses < MIN_ACCOUNT_ANSWERS or now.responses < MIN_ACCOUNT_ANSWERS:
        return False
    change = metrics.nps_change(before, now)
    return change.significant and change.delta is not None and change.delta < 0


# --- evaluating an answer -------------------------------------------------------------------


def previous_nps(response: Response) -> int | None:
    """The contact's NPS answer before this response, or None."""
    return db.session.scalar(
        select(Response.nps_score)
        .where(
            Response.contact_id == response.contact_id,
            Response.id != response.id,
            Response.nps_score.is_not(None),
            or_(Response.created_at < response.created_at, (Response.created_at == response.created_at) & (Response.id < response.id)),
        )
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(1)
    )


def _enabled_rules() -> list[AlertRule]:
    _ensure_rules()
    return list(db.session.scalars(select(AlertRule).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)))


def _assignee_for(account: Account, rules_: list[AlertRule]) -> StaffUser | None:
    manager = account.account_manager
    if manager is not None and manager.active and manager.role in Role.CUSTOMER_FACING:
        return manager
    for rule in rules_:
        fallback = rule.fallback_user
        if fallback is not None and fallback.active and fallback.role in Role.CUSTOMER_FACING:
            return fallback
    return None


def _title_values(account: Account, kinds: list[str], response: Response | None, previous: int | None, keywords: list[str]) -> dict:
    reason_kind = next(kind for kind in _REASON_ORDER if kind in kinds)
    values: dict[str, Any] = {"account": account.name}
    if reason_kind == RuleKind.KEYWORDS:
        values.update(reason="keywords", keywords=keywords)
    elif reason_kind == RuleKind.SCORE_DROP:
        values.update(reason="drop", score=response.nps_score, previous=previous)
    elif reason_kind == RuleKind.DETRACTOR:
        values.update(reason="nps", score=response.nps_score)
    elif reason_kind == RuleKind.LOW_CSAT:
        values.update(reason="csat", score=response.csat_score)
    else:
        values.update(reason="account_drop")
    if response is not None:
        values.setdefault("score", response.nps_score if response.nps_score is not None else response.csat_score)
    return values


def _highest(priorities: Iterable[str]) -> str:
    return max(priorities, key=lambda p: Priority.RANK.get(p, 0), default=Priority.NORMAL)


def evaluate_response(response: Response, now: datetime | None = None) -> Task | None:
    """Run every enabled rule against a response (after each answer step): create
    or update THE task of this response, and check the account for a significant
    NPS fall. The response's task (or None when no rule matched).

    Safe to run again: the task is found by its response. Two first tasks at once
    fail on the unique response_id, and ``run_in_transaction`` runs the answer again."""
    from portal.followups import emails

    now = now or utcnow()
    all_rules = _enabled_rules()
    previous = previous_nps(response) if response.nps_score is not None else None
    texts = response_texts(response)
    matched = [rule for rule in all_rules if rule.kind != RuleKind.ACCOUNT_DROP and matches(rule, response, previous, texts)]
    task = db.session.scalar(select(Task).where(Task.response_id == response.id).execution_options(populate_existing=True))
    if matched:
        keywords = sorted({k for rule in matched if rule.kind == RuleKind.KEYWORDS for k in matching_keywords(rule.keywords, texts)})
        if task is None:
            task = _create_task(response, matched, previous, keywords, now)
        else:
            _update_task(task, response, matched, previous, keywords, now)
            emails.refresh_task_notification(task, now)
    elif task is not None:
        emails.refresh_task_notification(task, now)
    drop_rule = next((rule for rule in all_rules if rule.kind == RuleKind.ACCOUNT_DROP), None)
    if drop_rule is not None and response.nps_score is not None:  # only NPS answers move the account's NPS
        check_account_drop(response.account, now, rule=drop_rule)
    return task


def _create_task(response: Response, matched: list[AlertRule], previous: int | None, keywords: list[str], now: datetime, notify: bool = True) -> Task:
    from portal.followups import emails

    account = response.account
    kinds = [rule.kind for rule in matched]
    assignee = _assignee_for(account, matched)
    days = [rule.follow_up_days for rule in matched if rule.follow_up_days]
    task = Task(
        account_id=account.id,
        contact_id=response.contact_id,
        response_id=response.id,
        title_values=_title_values(account, kinds, response, previous, keywords),
        rule_kinds=kinds,
        status=TaskStatus.OPEN,
        priority=_highest(rule.priority for rule in matched),
        assignee_id=assignee.id if assignee else None,
        due_at=now + timedelta(hours=min(rule.due_hours for rule in matched)),
        created_at=now,
        updated_at=now,
        follow_up_days=min(days) if days else None,
    )
    db.session.add(task)
    db.session.flush()  # a second task for this response fails here (unique response_id)
    for rule in matched:
        db.session.add(TaskRule(task_id=task.id, rule_id=rule.id))
    db.session.flush()
    if notify and assignee is not None and any(rule.notify_email for rule in matched):
        emails.send_task_notification(task, assignee, now)
    return task


def task_for_response(response: Response, now: datetime | None = None, notify: bool = True) -> Task | None:
    """A new task for a response the rules match, without the account check (the demo's
    history); None when no rule matches or the response has its task already."""
    now = now or utcnow()
    if db.session.scalar(select(Task.id).where(Task.response_id == response.id)):
        return None
    previous = previous_nps(response) if response.nps_score is not None else None
    texts = response_texts(response)
    matched = [rule for rule in _enabled_rules() if rule.kind != RuleKind.ACCOUNT_DROP and matches(rule, response, previous, texts)]
    if not matched:
        return None
    keywords = sorted({k for rule in matched if rule.kind == RuleKind.KEYWORDS for k in matching_keywords(rule.keywords, texts)})
    return _create_task(response, matched, previous, keywords, now, notify=notify)


def _update_task(task: Task, response: Response, matched: list[AlertRule], previous: int | None, keywords: list[str], now: datetime) -> None:
    """A later step of the same response (the comment after the score) may match more rules."""
    known = set(db.session.scalars(select(TaskRule.rule_id).where(TaskRule.task_id == task.id)))
    added = [rule for rule in matched if rule.id not in known]
    kinds = list(dict.fromkeys([*task.rule_kinds, *(rule.kind for rule in matched)]))
    title = _title_values(task.account, kinds, response, previous, keywords)
    if kinds != task.rule_kinds:
        task.rule_kinds = kinds
    if title != task.title_values:
        task.title_values = title
    if not added:
        return
    for rule in added:
        db.session.add(TaskRule(task_id=task.id, rule_id=rule.id))
    task.priority = _highest([task.priority, *(rule.priority for rule in added)])
    if task.is_active:
        sooner = task.created_at + timedelta(hours=min(rule.due_hours for rule in added))
        task.due_at = min(task.due_at, sooner)
    days = [d for d in [task.follow_up_days, *(rule.follow_up_days for rule in added)] if d]
    task.follow_up_days = min(days) if days else None
    db.session.flush()


def check_account_drop(account: Account, now: datetime | None = None, rule: AlertRule | None = None, notify: bool = True) -> Task | None:
    """A new account-drop task when the account's NPS of the last 90 days fell
    significantly against the 90 before; None when there is none to create (no
    fall, rule disabled, a drop task active or recent)."""
    from portal.followups import emails
    from portal.reports import services as reports

    now = now or utcnow()
    if rule is None:
        _ensure_rules()
        rule = db.session.scalar(select(AlertRule).where(AlertRule.kind == RuleKind.ACCOUNT_DROP, AlertRule.enabled.is_(True)).order_by(AlertRule.id).limit(1))
        if rule is None:
            return None
    if db.session.scalar(select(Task.id).where(Task.open_drop_account_id == account.id).limit(1)):
        return None  # one is active
    last_drop = db.session.scalar(
        select(func.max(Task.created_at)).join(TaskRule, TaskRule.task_id == Task.id).join(AlertRule, AlertRule.id == TaskRule.rule_id).where(
            Task.account_id == account.id, AlertRule.kind == RuleKind.ACCOUNT_DROP
        )
    )
    if last_drop is not None and last_drop > now - DROP_COOLDOWN:
        return None
    current = reports.account_nps(account.id, now - QUARTER, now)
    before = reports.account_nps(account.id, now - 2 * QUARTER, now - QUARTER)
    if not is_significant_drop(before, current):
        return None
    assignee = _assignee_for(account, [rule])
    change = metrics.nps_change(before, current)
    task = Task(
        account_id=account.id,
        contact_id=None,
        response_id=None,
        open_drop_account_id=account.id,
        title_values={"reason": "account_drop", "account": account.name, "nps": current.nps, "previous": before.nps, "delta": change.delta},
        rule_kinds=[RuleKind.ACCOUNT_DROP],
        status=TaskStatus.OPEN,
        priority=rule.priority,
        assignee_id=assignee.id if assignee else None,
        due_at=now + timedelta(hours=rule.due_hours),
        created_at=now,
        updated_at=now,
        follow_up_days=None,
    )
    try:
        with db.session.begin_nested():  # another transaction may have opened it a moment ago
            db.session.add(task)
            db.session.flush()
            db.session.add(TaskRule(task_id=task.id, rule_id=rule.id))
            db.session.flush()
    except IntegrityError:
        return None
    if notify and assignee is not None and rule.notify_email:
        emails.send_task_notification(task, assignee, now)
    return task


def accounts_to_check(now: datetime | None = None, days: int = 3) -> list[int]:
    """Accounts with answers in the last days (the hourly account-drop check)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Response.account_id).where(Response.created_at >= now - timedelta(days=days), Response.nps_score.is_not(None)).distinct()
        )
    )


def check_account_drops(now: datetime | None = None, days: int = 3) -> int:
    """The hourly check: new account-drop tasks for accounts that had answers lately."""
    now = now or utcnow()
    rule = db.session.scalar(select(AlertRule).where(AlertRule.kind == RuleKind.ACCOUNT_DROP, AlertRule.enabled.is_(True)).limit(1))
    if rule is None:
        return 0
    created = 0
    for account_id in accounts_to_check(now, days):
        account = db.session.get(Account, account_id)
        if account is not None and check_account_drop(account, now, rule=rule) is not None:
            created += 1
    return created


# --- titles -----------------------------------------------------------------------------------


def _title_text(values: dict) -> str:
    account = values.get("account", "")
    reason = values.get("reason")
    if reason == "nps":
        return _("Follow up with %(account)s — NPS fell to %(score)s", account=account, score=values.get("score"))
    if reason == "csat":
        return _("Follow up with %(account)s — satisfaction %(score)s of 5", account=account, score=values.get("score"))
    if reason == "drop":
        return _(
            "Follow up with %(account)s — NPS fell from %(previous)s to %(score)s",
            account=account, previous=values.get("previous"), score=values.get("score"),
        )  # fmt: skip
    if reason == "account_drop":
        return _("Follow up with %(account)s — account NPS fell significantly", account=account)
    if reason == "keywords":
        return _("Follow up with %(account)s — comment mentions cancelling", account=account)
    return _("Follow up with %(account)s", account=account)


def task_title(task: Task, language: str | None = None) -> str:
    """The title in the reader's language (the current one when None)."""
    values = task.title_values or {}
    if not values.get("account") and task.account is not None:
        values = {**values, "account": task.account.name}
    if language in SUPPORTED_LOCALES:
        with force_locale(language):
            return _title_text(values)
    return _title_text(values)


def user_language(user: StaffUser | None) -> str:
    preferred = getattr(user, "preferred_language", None)
    return preferred if preferred in SUPPORTED_LOCALES else _default_locale()


# --- who sees what ------------------------------------------------------------------------------


def _portfolio(user: StaffUser):
    return select(Account.id).where(Account.account_manager_id == user.id)


def visible_tasks(user: StaffUser) -> Select:
    """Admins and managers: every task; account managers: their portfolio's and
    those assigned to them; anyone else: none."""
    query = select(Task)
    if user.role in (Role.ADMIN, Role.MANAGER):
        return query
    if user.role == Role.ACCOUNT_MANAGER:
        return query.where(or_(Task.account_id.in_(_portfolio(user)), Task.assignee_id == user.id))
    return query.where(false())


def can_view_task(user: StaffUser, task: Task) -> bool:
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    if user.role == Role.ACCOUNT_MANAGER:
        return task.assignee_id == user.id or task.account.account_manager_id == user.id
    return False


def get_task(user: StaffUser, task_id: int) -> Task | None:
    """The task, if it exists and the user may see it (the view answers 404 otherwise)."""
    return db.session.scalar(
        visible_tasks(user)
        .where(Task.id == task_id)
        .options(
            selectinload(Task.account),
            selectinload(Task.contact),
            selectinload(Task.assignee),
            selectinload(Task.rules),
            selectinload(Task.activities).selectinload(Activity.author),
        )
    )


def _overdue(now: datetime):
    return Task.status.in_(TaskStatus.ACTIVE) & (Task.due_at < now)


def is_overdue(task: Task, now: datetime | None = None) -> bool:
    return task.is_active and task.due_at < (now or utcnow())


@dataclass
class TaskFilters:
    """The team view's filters; an empty ``statuses`` means every status."""

    statuses: list[str] = field(default_factory=list)
    overdue: bool = False
    rule_kind: str | None = None
    assignee_id: int | None = None
    account_id: int | None = None
    page: int = 1


def _sorted(query: Select, now: datetime) -> Select:
    rank = case(Priority.RANK, value=Task.priority, else_=0)
    return query.order_by(case((_overdue(now), 0), else_=1), rank.desc(), Task.due_at, Task.id)


def list_tasks(user: StaffUser, filters: TaskFilters, now: datetime | None = None) -> Page[Task]:
    """The team view: overdue first, then by priority, then by due date."""
    now = now or utcnow()
    query = visible_tasks(user).options(selectinload(Task.account), selectinload(Task.assignee), selectinload(Task.contact))
    statuses = [s for s in filters.statuses if s in TaskStatus.ALL]
    if statuses:
        query = query.where(Task.status.in_(statuses))
    if filters.overdue:
        query = query.where(_overdue(now))
    if filters.rule_kind in RuleKind.ALL:
        query = query.where(
            exists().where(TaskRule.task_id == Task.id, TaskRule.rule_id == AlertRule.id, AlertRule.kind == filters.rule_kind)
        )
    if filters.assignee_id:
        query = query.where(Task.assignee_id == filters.assignee_id)
    if filters.account_id:
        query = query.where(Task.account_id == filters.account_id)
    return paginate(_sorted(query, now), filters.page, TASKS_PER_PAGE)


def _mine(user: StaffUser):
    return or_(Task.assignee_id == user.id, Task.assignee_id.is_(None) & Task.account_id.in_(_portfolio(user)))


def my_tasks(user: StaffUser, now: datetime | None = None, limit: int = 200) -> list[Task]:
    """Active tasks assigned to the user (and unassigned ones of their portfolio):
    overdue first, then what is due today, each by priority, then by due time."""
    now = now or utcnow()
    query = (
        select(Task)
        .where(Task.status.in_(TaskStatus.ACTIVE), _mine(user))
        .options(selectinload(Task.account), selectinload(Task.contact), selectinload(Task.assignee))
        .limit(limit)
    )
    tasks = list(db.session.scalars(query))
    end_of_day = datetime.combine(now.date() + timedelta(days=1), time())

    def key(task: Task):
        urgency = 0 if task.due_at < now else (1 if task.due_at < end_of_day else 2)
        return (urgency, -Priority.RANK.get(task.priority, 0), task.due_at, task.id)

    return sorted(tasks, key=key)


@dataclass(frozen=True)
class TaskCounts:
    active: int
    overdue: int


def counts_for(user: StaffUser | None, now: datetime | None = None) -> TaskCounts:
    """For the navigation and the dashboard: an account manager's own tasks; everything for managers and admins."""
    if user is None or user.role not in Role.CUSTOMER_FACING:
        return TaskCounts(0, 0)
    now = now or utcnow()
    query = select(func.count(Task.id), func.count(case((Task.due_at < now, 1)))).where(Task.status.in_(TaskStatus.ACTIVE))
    if user.role == Role.ACCOUNT_MANAGER:
        query = query.where(_mine(user))
    active, overdue = db.session.execute(query).one()
    return TaskCounts(active or 0, overdue or 0)


# --- the workflow ---------------------------------------------------------------------------

TRANSITIONS = {
    TaskStatus.OPEN: (TaskStatus.IN_PROGRESS, TaskStatus.WAITING, TaskStatus.RESOLVED, TaskStatus.DISMISSED),
    TaskStatus.IN_PROGRESS: (TaskStatus.WAITING, TaskStatus.RESOLVED, TaskStatus.DISMISSED),
    TaskStatus.WAITING: (TaskStatus.IN_PROGRESS, TaskStatus.RESOLVED, TaskStatus.DISMISSED),
    TaskStatus.RESOLVED: (TaskStatus.OPEN,),
    TaskStatus.DISMISSED: (TaskStatus.OPEN,),
}


def allowed_statuses(task: Task) -> tuple[str, ...]:
    return TRANSITIONS.get(task.status, ())


def _clean_text(value: str | None) -> str:
    value = (value or "").replace("\x00", "").strip()
    if len(value) > MAX_TEXT:
        raise WorkflowError("too_long")
    return value


def change_status(task: Task, user: StaffUser | None, status: str, outcome: str | None = None, now: datetime | None = None) -> Activity:
    """Move the task on; resolving or dismissing needs an outcome, resolving
    schedules the follow-up survey. Raises WorkflowError when not allowed."""
    now = now or utcnow()
    if status not in TaskStatus.ALL:
        raise WorkflowError("unknown_status")
    if status not in TRANSITIONS.get(task.status, ()):
        raise WorkflowError("transition_not_allowed")
    outcome = _clean_text(outcome)
    if status in TaskStatus.CLOSED and not outcome:
        raise WorkflowError("outcome_required")
    previous = task.status
    if status in TaskStatus.CLOSED:
        task.closed_at = now
        task.outcome = outcome
        task.open_drop_account_id = None
        if status == TaskStatus.RESOLVED and task.contact_id and task.follow_up_days and task.follow_up_invitation_id is None:
            task.follow_up_due_at = now + timedelta(days=task.follow_up_days)
        else:
            task.follow_up_due_at = None
    elif previous in TaskStatus.CLOSED:  # reopened
        if RuleKind.ACCOUNT_DROP in (task.rule_kinds or []) and task.response_id is None:
            other = db.session.scalar(select(Task.id).where(Task.open_drop_account_id == task.account_id, Task.id != task.id))
            if other:
                raise WorkflowError("drop_task_open")
            task.open_drop_account_id = task.account_id
        task.closed_at = None
        task.follow_up_due_at = None
    task.status = status
    task.updated_at = now
    if task.first_action_at is None and user is not None:
        task.first_action_at = now
    activity = Activity(task=task, author_id=user.id if user else None, kind=ActivityKind.STATUS, body=outcome or None, change={"from": previous, "to": status}, created_at=now)
    db.session.add(activity)
    db.session.flush()
    return activity


def log_activity(task: Task, user: StaffUser | None, kind: str, body: str | None, now: datetime | None = None) -> Activity:
    """A call, visit, email or note; the first one is the task's first action, and an open task is then in progress."""
    now = now or utcnow()
    if kind not in ActivityKind.LOGGED:
        raise WorkflowError("unknown_kind")
    body = _clean_text(body)
    if not body:
        raise WorkflowError("body_required")
    if task.first_action_at is None:
        task.first_action_at = now
    activity = Activity(task=task, author_id=user.id if user else None, kind=kind, body=body, created_at=now)
    db.session.add(activity)
    if task.status == TaskStatus.OPEN:
        task.status = TaskStatus.IN_PROGRESS
        db.session.add(
            Activity(task=task, author_id=user.id if user else None, kind=ActivityKind.STATUS, change={"from": TaskStatus.OPEN, "to": TaskStatus.IN_PROGRESS}, created_at=now)
        )
    task.updated_at = now
    db.session.flush()
    return activity


def assignable_users() -> list[StaffUser]:
    """Active staff who work with customers (the assignee and fallback choices)."""
    return list(
        db.session.scalars(
            select(StaffUser).where(StaffUser.active.is_(True), StaffUser.role.in_(Role.CUSTOMER_FACING)).order_by(func.lower(StaffUser.name), StaffUser.id)
        )
    )


def reassign(task: Task, user: StaffUser | None, assignee_id: int | None, now: datetime | None = None) -> Activity | None:
    """Give the task to another active customer-facing staff member (who is told by email);
    None when it is theirs already."""
    from portal.followups import emails

    now = now or utcnow()
    assignee = db.session.get(StaffUser, assignee_id) if assignee_id else None
    if assignee is None or not assignee.active or assignee.role not in Role.CUSTOMER_FACING:
        raise WorkflowError("invalid_assignee")
    if task.assignee_id == assignee.id:
        return None
    old = task.assignee
    task.assignee_id = assignee.id
    task.assignee = assignee
    task.updated_at = now
    activity = Activity(
        task=task,
        author_id=user.id if user else None,
        kind=ActivityKind.REASSIGN,
        change={"from": old.name if old else None, "to": assignee.name, "from_id": old.id if old else None, "to_id": assignee.id},
        created_at=now,
    )
    db.session.add(activity)
    db.session.flush()
    if task.is_active and (user is None or user.id != assignee.id):
        emails.send_task_notification(task, assignee, now)
    return activity


# --- the task page's context ------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerLine:
    question: str
    value: str


@dataclass(frozen=True)
class CourseSummary:
    learners: int
    courses_started: int
    courses_completed: int
    lessons_done: int
    lessons_total: int

    @property
    def percent(self) -> int:
        return round(100 * self.lessons_done / self.lessons_total) if self.lessons_total else 0


@dataclass
class TaskContext:
    task: Task
    title: str
    response: Response | None
    answers: list[AnswerLine]
    comment: str | None
    contact: Contact | None
    previous_scores: list[surveys.ContactAnswer]
    ticket: Ticket | None
    recent_tickets: list[Ticket]
    other_tasks: list[Task]
    health: Any  # portal.reports.services.Health
    renewal: date | None
    courses: CourseSummary
    follow_up_invitation: Invitation | None
    follow_up_response: Response | None
    follow_up_outcome: recovery.Recovery | None
    recovered: bool | None
    overdue: bool
    allowed_statuses: tuple[str, ...]
    activities: list[Activity]


def _answer_value(answer: Answer, language: str) -> str:
    if answer.skipped:
        return _("(skipped)")
    if answer.number is not None:
        return str(answer.number)
    if answer.choices:
        labels = {o["value"]: surveys.localized(o, language) for o in (answer.question.options or [])}
        return ", ".join(labels.get(c) or c for c in answer.choices)
    return answer.text or ""


def answer_lines(response: Response, language: str) -> list[AnswerLine]:
    answers = sorted(response.answers, key=lambda a: (a.question.position if a.question else 0, a.id))
    lines = []
    for answer in answers:
        question = answer.question
        wording = surveys.question_text(question, response.nps_score, language) if question else ""
        lines.append(AnswerLine(wording, _answer_value(answer, language)))
    return lines


def course_summary(account: Account) -> CourseSummary:
    from portal.courses import overviews

    learners = overviews.account_progress(account)
    started = completed = done = total = 0
    for learner in learners:
        for progress in learner.progress.values():
            started += progress.started
            completed += progress.complete
            done += progress.done
            total += progress.total
    return CourseSummary(len(learners), started, completed, done, total)


def follow_up_response(task: Task) -> Response | None:
    if task.follow_up_invitation_id is None:
        return None
    return db.session.scalar(select(Response).where(Response.invitation_id == task.follow_up_invitation_id))


def is_recovered(original: Response | None, follow_up: Response | None) -> bool | None:
    """Whether the follow-up shows the customer won back (portal/surveys/recovery.py);
    None while there is no answer to judge."""
    outcome = recovery.outcome(original, follow_up)
    return outcome.recovered if outcome else None


def task_context(task: Task, language: str | None = None, now: datetime | None = None) -> TaskContext:
    """Everything the task page shows."""
    from flask_babel import get_locale

    from portal.reports import services as reports

    now = now or utcnow()
    language = language or str(get_locale() or _default_locale())
    response = task.response
    contact = task.contact
    previous = surveys.contact_answers(contact.id, response) if contact is not None else []
    ticket = db.session.get(Ticket, response.ticket_id) if response is not None and response.ticket_id else None
    others = list(
        db.session.scalars(
            select(Task)
            .where(Task.account_id == task.account_id, Task.id != task.id, Task.status.in_(TaskStatus.ACTIVE))
            .options(selectinload(Task.assignee))
            .order_by(Task.due_at)
        )
    )
    follow_up = follow_up_response(task)
    return TaskContext(
        task=task,
        title=task_title(task, language),
        response=response,
        answers=answer_lines(response, language) if response is not None else [],
        comment=response.comment if response is not None else None,
        contact=contact,
        previous_scores=previous,
        ticket=ticket,
        recent_tickets=customers.recent_tickets(task.account, limit=10),
        other_tasks=others,
        health=reports.account_health(task.account, now),
        renewal=task.account.contract_renewal_on,
        courses=course_summary(task.account),
        follow_up_invitation=task.follow_up_invitation,
        follow_up_response=follow_up,
        follow_up_outcome=recovery.outcome(response, follow_up, language),
        recovered=is_recovered(response, follow_up),
        overdue=is_overdue(task, now),
        allowed_statuses=allowed_statuses(task),
        activities=sorted(task.activities, key=lambda a: (a.created_at, a.id), reverse=True),
    )


# --- the follow-up survey and the digest ----------------------------------------------------------


def send_due_follow_ups(now: datetime | None = None, limit: int = 200) -> int:
    """Invite the contact of each resolved task whose follow-up is due to the
    recovery survey (routine throttling does not apply; an opt-out does)."""
    now = now or utcnow()
    tasks = db.session.scalars(
        select(Task)
        .where(Task.follow_up_due_at.is_not(None), Task.follow_up_due_at <= now, Task.follow_up_invitation_id.is_(None))
        .order_by(Task.follow_up_due_at, Task.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    sent = 0
    for task in tasks:
        task.follow_up_due_at = None
        if task.status != TaskStatus.RESOLVED or task.contact_id is None or task.response is None:
            continue
        contact = surveys.lock_contact(task.contact_id)
        if contact.survey_opt_out:
            continue
        invitation = recovery.invite_after_follow_up(task.response, contact, now=now)
        if invitation is not None:
            task.follow_up_invitation_id = invitation.id
            sent += 1
    db.session.flush()
    return sent


def overdue_by_assignee(now: datetime) -> dict[int, list[Task]]:
    tasks = db.session.scalars(
        select(Task)
        .where(_overdue(now), Task.assignee_id.is_not(None))
        .options(selectinload(Task.account))
        .order_by(Task.due_at, Task.id)
    )
    grouped: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        grouped[task.assignee_id].append(task)
    return grouped


def send_overdue_digest(now: datetime | None = None) -> int:
    """Once a day (from DIGEST_HOUR UTC), one email per assignee with overdue tasks; how many were queued."""
    from portal.followups import emails
    from portal.mail.models import OutboxMessage

    now = now or utcnow()
    if now.hour < DIGEST_HOUR:
        return 0
    day_start = datetime.combine(now.date(), time())
    queued = 0
    for assignee_id, tasks in overdue_by_assignee(now).items():
        user = db.session.scalar(select(StaffUser).where(StaffUser.id == assignee_id).with_for_update())  # one worker at a time per person
        if user is None or not user.active:
            continue
        already = db.session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.kind == emails.DIGEST_KIND,
                OutboxMessage.to_address == user.email,
                OutboxMessage.due_at >= day_start,
                OutboxMessage.due_at < day_start + timedelta(days=1),
            )
            .limit(1)
        )
        if already:
            continue
        emails.send_overdue_digest(user, tasks, now)
        queued += 1
    return queued


# --- suppression and the CRM -------------------------------------------------------------------------


def open_follow_up_reason(contact: Contact, now: datetime | None = None) -> str | None:
    """While a task is active for the contact's account, routine surveys wait."""
    active = db.session.scalar(
        select(Task.id).where(Task.account_id == contact.account_id, Task.status.in_(TaskStatus.ACTIVE)).limit(1)
    )
    return "open_follow_up" if active else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def open_tasks_for_account(account: Account | str) -> list[dict]:
    """The account's active tasks, as the CRM reads them (titles in the operator's
    language); ``account`` may be given by its external id. Empty when none is open."""
    if isinstance(account, str):
        account = customers.account_by_external_id(account)
        if account is None:
            return []
    tasks = db.session.scalars(
        select(Task)
        .where(Task.account_id == account.id, Task.status.in_(TaskStatus.ACTIVE))
        .options(selectinload(Task.assignee), selectinload(Task.account))
        .order_by(Task.due_at, Task.id)
    )
    language = _default_locale()
    return [
        {
            "id": task.id,
            "title": task_title(task, language),
            "status": task.status,
            "assignee": task.assignee.email if task.assignee else None,
            "due": _iso(task.due_at),
            "created": _iso(task.created_at),
            "url": external_url("followups.task", task_id=task.id),
        }
        for task in tasks
    ]


# --- the loop report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoopFilters:
    start: date
    end: date  # inclusive

    @classmethod
    def default(cls, today: date | None = None) -> LoopFilters:
        today = today or utcnow().date()
        return cls(today - timedelta(days=89), today)


@dataclass
class LoopRow:
    key: str | int | None
    label: str
    tasks: int = 0
    with_first_action: int = 0
    within_sla: int = 0
    hours_to_first_action: list[float] = field(default_factory=list)
    followed_up: int = 0  # tasks whose follow-up survey was answered: the n of the recovery rate
    recovered: int = 0
    scores: list[int] = field(default_factory=list)  # the recovery survey's satisfaction (1–5)

    @property
    def sla_share(self) -> float | None:
        return round(100 * self.within_sla / self.tasks, 1) if self.tasks else None

    @property
    def median_hours(self) -> float | None:
        return round(statistics.median(self.hours_to_first_action), 1) if self.hours_to_first_action else None

    @property
    def recovery_rate(self) -> float | None:
        return round(100 * self.recovered / self.followed_up, 1) if self.followed_up else None

    @property
    def recovery_score(self) -> float | None:
        """The mean satisfaction (1–5) given in the recovery survey; its n is ``len(scores)``."""
        return round(statistics.fmean(self.scores), 1) if self.scores else None

    def add(self, task: Task, outcome: recovery.Recovery | None) -> None:
        recovered = outcome.recovered if outcome else None
        self.tasks += 1
        if task.first_action_at is not None:
            self.with_first_action += 1
            self.hours_to_first_action.append((task.first_action_at - task.created_at).total_seconds() / 3600)
            if task.first_action_at <= task.due_at:
                self.within_sla += 1
        if recovered is not None:
            self.followed_up += 1
            self.recovered += bool(recovered)
        if outcome is not None and outcome.score is not None:
            self.scores.append(outcome.score)


@dataclass
class LoopReport:
    start: date
    end: date
    total: LoopRow
    by_assignee: list[LoopRow]
    by_rule: list[LoopRow]


def _as_datetime(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def loop_report(start: date | datetime, end: date | datetime, user: StaffUser) -> LoopReport:
    """Tasks created from ``start`` to ``end`` (dates: inclusive) that the user may see:
    first action within the SLA, median time to it, recovery rate with its n;
    by assignee and by rule (a task that matched two rules counts under both)."""
    begin = _as_datetime(start)
    finish = _as_datetime(end) if isinstance(end, datetime) else datetime.combine(end + timedelta(days=1), time())
    tasks = list(
        db.session.scalars(
            visible_tasks(user)
            .where(Task.created_at >= begin, Task.created_at < finish)
            .options(selectinload(Task.assignee), selectinload(Task.response))
        )
    )
    follow_ups = recovery.follow_up_responses([t.follow_up_invitation_id for t in tasks if t.follow_up_invitation_id])
    total = LoopRow(None, _("All tasks"))
    by_assignee: dict[Any, LoopRow] = {}
    by_rule: dict[str, LoopRow] = {}
    for task in tasks:
        outcome = recovery.outcome(task.response, follow_ups.get(task.follow_up_invitation_id))
        total.add(task, outcome)
        key = task.assignee_id
        if key not in by_assignee:
            by_assignee[key] = LoopRow(key, task.assignee.name if task.assignee else _("Unassigned"))
        by_assignee[key].add(task, outcome)
        for kind in dict.fromkeys(task.rule_kinds or []):
            if kind not in by_rule:
                by_rule[kind] = LoopRow(kind, str(RuleKind.LABELS.get(kind, kind)))
            by_rule[kind].add(task, outcome)
    rule_order = {kind: n for n, kind in enumerate(RuleKind.ALL)}
    return LoopReport(
        start=begin.date(),
        end=(finish - timedelta(days=1)).date() if not isinstance(end, datetime) else end.date(),
        total=total,
        by_assignee=sorted(by_assignee.values(), key=lambda row: (row.key is None, row.label.casefold())),
        by_rule=sorted(by_rule.values(), key=lambda row: rule_order.get(row.key, 99)),
    )


# --- what the staff pages show --------------------------------------------------------------------


class View:
    MINE = "mine"
    TEAM = "team"


@dataclass
class TaskListing:
    view: str
    can_see_team: bool
    mine: list[Task] | None = None
    page: Page[Task] | None = None
    counts: TaskCounts | None = None
    now: datetime = field(default_factory=utcnow)


def filters_from(data: dict) -> TaskFilters:
    """The team view's filters from the (validated) filter form's data."""
    return TaskFilters(
        statuses=[s for s in (data.get("status") or []) if s in TaskStatus.ALL],
        overdue=bool(data.get("overdue")),
        rule_kind=data.get("rule") or None,
        assignee_id=int(data["assignee"]) if data.get("assignee") else None,
        account_id=data.get("account") or None,
        page=data.get("page") or 1,
    )


def task_listing(user: StaffUser, view: str | None, filters: TaskFilters, now: datetime | None = None) -> TaskListing:
    """Account managers land on "My tasks"; managers and admins on the team view.
    Anyone may switch (an account manager's team view is their portfolio)."""
    now = now or utcnow()
    if view not in (View.MINE, View.TEAM):
        view = View.MINE if user.role == Role.ACCOUNT_MANAGER else View.TEAM
    listing = TaskListing(view=view, can_see_team=True, counts=counts_for(user, now), now=now)
    if view == View.MINE:
        listing.mine = my_tasks(user, now)
    else:
        listing.page = list_tasks(user, filters, now)
    return listing


WORKFLOW_MESSAGES = {
    "unknown_status": _l("Choose one of the statuses shown."),
    "transition_not_allowed": _l("The task cannot move to that status from where it is now."),
    "outcome_required": _l("Write the outcome: what was done and what came of it."),
    "too_long": _l("The text is too long (at most 5000 characters)."),
    "drop_task_open": _l("Another task about this account's falling NPS is open; work on that one."),
    "unknown_kind": _l("Choose call, visit, email or note."),
    "body_required": _l("Write what happened."),
    "invalid_assignee": _l("Choose an active colleague who works with customers."),
    "name_required": _l("The rule needs a name."),
    "threshold_out_of_range": _l("The threshold is outside the scale of this rule."),
    "keywords_required": _l("Give at least one word or phrase."),
    "unknown_priority": _l("Choose one of the priorities shown."),
    "due_hours_out_of_range": _l("The due time must be between 1 hour and 90 days."),
    "follow_up_days_out_of_range": _l("The follow-up survey can wait 1 to 365 days."),
}


def workflow_message(code: str) -> str:
    return str(WORKFLOW_MESSAGES.get(code, _l("This change is not possible.")))


def task_forms(task: Task, failed, status_form, activity_form, assignee_form) -> dict:
    """The task page's three forms; the one that failed keeps what was typed and its errors."""
    users = assignable_users()
    forms = {"status_form": status_form(formdata=None), "activity_form": activity_form(formdata=None), "assignee_form": assignee_form(formdata=None)}
    forms["status_form"].status.choices = [SelectChoice(s, TaskStatus.LABELS[s]) for s in allowed_statuses(task)]
    forms["assignee_form"].set_assignees(users)
    forms["assignee_form"].assignee_id.data = str(task.assignee_id) if task.assignee_id else None
    for name, form in forms.items():
        if failed is not None and isinstance(failed, type(form)):
            if name == "status_form":
                failed.status.choices = forms["status_form"].status.choices
            if name == "assignee_form":
                failed.set_assignees(users)
            forms[name] = failed
    return forms


def rules_page(rule_form, editable: bool, failed: tuple | None = None, saved: int | None = None) -> dict:
    """Every rule with its form (admins edit; managers read), and the audit."""
    users = assignable_users()
    entries = []
    for rule in rules():
        if failed and failed[0] == rule.id:
            form, problem = failed[1], failed[2]
        else:
            form, problem = rule_form(formdata=None, prefix=f"rule{rule.id}", obj=_rule_values(rule)), None
        form.set_users(users)
        entries.append({"rule": rule, "form": form, "problem": problem, "saved": saved == rule.id})
    return {"entries": entries, "editable": editable, "changes": rule_changes(), "users": {u.id: u for u in users}}


class _RuleValues:
    def __init__(self, rule: AlertRule):
        self.enabled, self.threshold, self.priority = rule.enabled, rule.threshold, rule.priority
        self.keywords = "\n".join(rule.keywords or [])
        self.due_hours, self.notify_email, self.follow_up_days = rule.due_hours, rule.notify_email, rule.follow_up_days
        self.fallback_user_id = str(rule.fallback_user_id) if rule.fallback_user_id else ""


def _rule_values(rule: AlertRule) -> _RuleValues:
    return _RuleValues(rule)


def save_rule(rule: AlertRule, user: StaffUser, form) -> str | None:
    """Save a rule from its form; the problem to show, or None."""
    if not form.validate():
        return _("Please correct the marked fields.")
    try:
        update_rule(rule, user, form.values())
    except WorkflowError as error:
        return workflow_message(error.code)
    return None


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive


def loop_period(start: str | None, end: str | None, today: date | None = None) -> Period | None:
    """The loop report's period from the query string (default: the last 90 days); None when invalid."""
    default = LoopFilters.default(today)
    try:
        first = date.fromisoformat(start) if start else default.start
        last = date.fromisoformat(end) if end else default.end
    except ValueError:
        return None
    if first > last or (last - first).days > 3660:
        return None
    return Period(first, last)
