"""The alert rules: their defaults, the admins' changes with their audit, and
the pure rule engine that says whether an answer meets a rule.

- **Keywords** match case- and umlaut-insensitively (``ä``/``ae`` alike), at the
  start of a word; long single words (8 letters or more once normalised) also
  inside compounds ("Vertragskündigung" has "Kündigung").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from flask_babel import force_locale
from sqlalchemy import case, select, text
from sqlalchemy.orm import selectinload

from portal.auth.models import StaffUser
from portal.extensions import db
from portal.customers.models import Account
from portal.followups.models import AlertRule, Priority, RegionOwner, RuleChange, RuleKind
from portal.followups.titles import default_locale
from portal.followups.workflow import WorkflowError, assignable_users
from portal.reports import metrics
from portal.surveys.models import Response
from portal.timeutil import utcnow

_ADVISORY_SEED_LOCK = 471101

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


def seed_default_rules() -> int:
    """Create the default rule of each kind that has no rule yet; how many were created.

    Safe to run at once in several transactions: on PostgreSQL they queue on an
    advisory lock, on SQLite writers are serialised anyway."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_SEED_LOCK})
    existing = set(db.session.scalars(select(AlertRule.kind)))
    made = []
    with force_locale(default_locale()):
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


def ensure_rules() -> None:
    if db.session.scalar(select(AlertRule.id).limit(1)) is None:
        seed_default_rules()


def enabled_rules() -> list[AlertRule]:
    """The enabled rules by id; a fresh database gets the defaults first. One
    statement per answer: every rule is read, and only an empty table (no rule
    at all, not even a disabled one) is seeded, as ``ensure_rules`` does."""
    every = list(db.session.scalars(select(AlertRule).order_by(AlertRule.id)))
    if not every:
        seed_default_rules()
        every = list(db.session.scalars(select(AlertRule).order_by(AlertRule.id)))
    return [rule for rule in every if rule.enabled]

def rules() -> list[AlertRule]:
    """Every rule, in the order of the defaults; a fresh database gets the defaults first."""
    ensure_rules()
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


# --- fallback owners by region ------------------------------------------------------------


def region_owner(region: str | None) -> StaffUser | None:
    """Who gets the region's tasks when an account has no active manager (None: nobody set)."""
    if not region:
        return None
    owner = db.session.get(RegionOwner, region)
    return owner.user if owner is not None else None


def known_regions() -> list[str]:
    """The regions of the accounts, and those that have an owner already."""
    regions = set(db.session.scalars(select(Account.region).where(Account.region.is_not(None), Account.region != "").distinct()))
    regions |= set(db.session.scalars(select(RegionOwner.region)))
    return sorted(regions, key=str.casefold)


def region_owners() -> list[RegionOwner]:
    return list(db.session.scalars(select(RegionOwner).options(selectinload(RegionOwner.user)).order_by(RegionOwner.region)))


def set_region_owner(region: str, user_id: int | None) -> RegionOwner | None:
    """Give a region's ownerless tasks to a colleague (None: remove the owner).
    Raises WorkflowError for an unknown region or a colleague who cannot own tasks."""
    region = " ".join((region or "").split())
    if region not in known_regions():
        raise WorkflowError("unknown_region")
    owner = db.session.get(RegionOwner, region)
    if user_id is None:
        if owner is not None:
            db.session.delete(owner)
            db.session.flush()
        return None
    if not any(u.id == user_id for u in assignable_users()):
        raise WorkflowError("invalid_assignee")
    if owner is None:
        owner = RegionOwner(region=region)
        db.session.add(owner)
    owner.user_id, owner.updated_at = user_id, utcnow()
    db.session.flush()
    return owner


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
