"""An account's health from all its signals, with the reasons that decide it.

The signals, each over the last 90 days unless said otherwise:

- account NPS (each contact's latest NPS answer counts once): with 30 answers
  or more, below 0 is critical and below 30 at risk; with fewer, a detractor
  among the contacts' latest answers is at risk (a fact about a person, not a
  statistic). A fall against the 90 days before is critical only when it is
  significant (:func:`portal.reports.metrics.nps_change`: the 95 % interval of
  the difference excludes 0, with 30 answers in each period);
- CSAT: a contact whose latest satisfaction answer is 1 or 2 of 5 is at risk;
- what other packages know (:data:`HEALTH_SIGNALS`): follow-ups add
  cancellation words in comments (critical) and open or overdue tasks (at risk);
- the contract renewal date: an account at risk whose contract renews within
  90 days is critical (the moment a customer leaves).

Without any risk: "no answers yet" without answers, "too few answers" with
fewer than 30 NPS answers (no status can be read from them), else healthy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from portal.reports.metrics import SMALL_SAMPLE, Change, CsatFigures, NpsFigures, nps_change
from portal.web.i18n import lazy_gettext as _l

CRITICAL_BELOW = 0
AT_RISK_BELOW = 30
#: A latest CSAT answer at or below this is a risk.
CSAT_UNHAPPY_MAX = 2
RENEWAL_DAYS = 90


class HealthStatus:
    CRITICAL = "critical"
    AT_RISK = "at_risk"
    TOO_FEW = "too_few"
    HEALTHY = "healthy"
    UNKNOWN = "unknown"

    ALL = (CRITICAL, AT_RISK, TOO_FEW, HEALTHY, UNKNOWN)
    LABELS = {
        HEALTHY: _l("healthy"),
        AT_RISK: _l("at risk"),
        CRITICAL: _l("critical"),
        TOO_FEW: _l("too few answers"),
        UNKNOWN: _l("no answers yet"),
    }
    #: How the at-risk list sorts.
    ORDER = {CRITICAL: 0, AT_RISK: 1}


class Severity:
    CRITICAL = "critical"
    AT_RISK = "at_risk"
    INFO = "info"


@dataclass(frozen=True)
class Reason:
    severity: str
    text: str


#: The rule, as the reader sees it next to the status.
HEALTH_RULE = _l(
    "Critical: cancellation words in a comment, account NPS below 0 (with 30 answers or more), a significant fall "
    "against the 90 days before, or any risk while the contract renews within 90 days. At risk: account NPS below 30 "
    "(with 30 answers or more), a detractor or a CSAT of 1–2 as a contact's latest answer, open or overdue follow-up tasks. "
    "Too few answers: no risk, but fewer than 30 NPS answers. Account NPS counts each contact's latest answer of the last 90 days once."
)

#: Functions of (account ids or None for all, now) returning {account id: [Reason]}: what other
#: packages know about an account's risk. portal/followups registers cancellation words and tasks.
HEALTH_SIGNALS: list[Callable[[list[int] | None, datetime], dict[int, list[Reason]]]] = []


@dataclass(frozen=True)
class Health:
    status: str
    nps: NpsFigures
    previous: NpsFigures
    change: Change
    csat: CsatFigures = CsatFigures(0, 0, 0)
    reasons: list[Reason] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(HealthStatus.LABELS[self.status])

    @property
    def rule(self) -> str:
        return str(HEALTH_RULE)

    @property
    def at_risk(self) -> bool:
        return self.status in HealthStatus.ORDER


def _number(value: float | None) -> str:
    return "–" if value is None else format_decimal(round(value, 1), format="#,##0.0").replace("-", "−")


def change_text(change: Change) -> str:
    """The change with the interval that backs (or does not back) a significance mark."""
    return _("95 %% interval of the change %(low)s to %(high)s", low=_number(change.low), high=_number(change.high))


def _nps_reasons(now: NpsFigures, change: Change) -> list[Reason]:
    reasons = []
    if now.responses >= SMALL_SAMPLE:
        if now.nps < CRITICAL_BELOW:
            reasons.append(Reason(Severity.CRITICAL, _("Account NPS %(nps)s is below 0.", nps=_number(now.nps))))
        elif now.nps < AT_RISK_BELOW:
            reasons.append(Reason(Severity.AT_RISK, _("Account NPS %(nps)s is below 30.", nps=_number(now.nps))))
    elif now.detractors:
        reasons.append(Reason(Severity.AT_RISK, ngettext(
            "%(num)d of %(total)d contacts gave a detractor score (0–6) as their latest answer.",
            "%(num)d of %(total)d contacts gave a detractor score (0–6) as their latest answer.",
            now.detractors, total=now.responses)))  # fmt: skip
    if change.significant and change.delta < 0:
        reasons.append(Reason(Severity.CRITICAL, _(
            "Account NPS fell significantly by %(delta)s points (%(interval)s).", delta=_number(-change.delta), interval=change_text(change))))  # fmt: skip
    return reasons


def health_of(
    now: NpsFigures,
    before: NpsFigures,
    csat_scores: list[int] | None = None,
    signals: list[Reason] | None = None,
    renewal: date | None = None,
    today: date | None = None,
) -> Health:
    """The status from every signal; ``csat_scores``: each contact's latest CSAT answer of the period."""
    change = nps_change(before, now)
    csat = CsatFigures.of(csat_scores or [])
    reasons = _nps_reasons(now, change)
    unhappy = sum(1 for score in csat_scores or [] if score <= CSAT_UNHAPPY_MAX)
    if unhappy:
        reasons.append(Reason(Severity.AT_RISK, ngettext(
            "%(num)d contact rated their latest support experience 1 or 2 of 5.",
            "%(num)d contacts rated their latest support experience 1 or 2 of 5.", unhappy)))  # fmt: skip
    reasons += signals or []
    severities = {r.severity for r in reasons}
    days = (renewal - today).days if renewal and today else None
    if days is not None and 0 <= days <= RENEWAL_DAYS:
        renews = ngettext("The contract renews in %(num)d day.", "The contract renews in %(num)d days.", days)
        reasons.append(Reason(Severity.CRITICAL if severities - {Severity.INFO} else Severity.INFO, renews))
        severities.add(reasons[-1].severity)
    if Severity.CRITICAL in severities:
        status = HealthStatus.CRITICAL
    elif Severity.AT_RISK in severities:
        status = HealthStatus.AT_RISK
    elif not now.responses and not csat.responses:
        status = HealthStatus.UNKNOWN
    elif now.responses < SMALL_SAMPLE:
        status = HealthStatus.TOO_FEW
        reasons.append(Reason(Severity.INFO, ngettext(
            "Only %(num)d contact answered the NPS question in the last 90 days; a status needs 30.",
            "Only %(num)d contacts answered the NPS question in the last 90 days; a status needs 30.", now.responses)))  # fmt: skip
    else:
        status = HealthStatus.HEALTHY
    order = {Severity.CRITICAL: 0, Severity.AT_RISK: 1, Severity.INFO: 2}
    return Health(status, now, before, change, csat, sorted(reasons, key=lambda r: order[r.severity]))


def signals_for(account_ids: list[int] | None, now: datetime) -> dict[int, list[Reason]]:
    """What the registered packages know, merged per account."""
    found: dict[int, list[Reason]] = {}
    for source in HEALTH_SIGNALS:
        for account_id, reasons in source(account_ids, now).items():
            found.setdefault(account_id, []).extend(reasons)
    return found
