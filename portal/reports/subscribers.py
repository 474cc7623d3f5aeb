"""What the reports package hears: answers and sent invitations mark their
daily cells, which are recounted just before the transaction commits
(portal/reports/rollup.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.customers import services as customers
from portal.reports import dashboard, rollup, services
from portal.signals import message_sent, response_recorded


@response_recorded.connect
def _answer_recorded(response, survey=None, **_) -> None:
    rollup.mark_response(response, survey.kind if survey is not None and survey.id == response.survey_id else None)


@message_sent.connect
def _invitations_sent(_sender, message_ids: list[int], sent_at: datetime, **_) -> None:
    rollup.mark_sent(message_ids, sent_at)


event.listen(Session, "before_commit", rollup.refresh_pending)
event.listen(Session, "after_rollback", rollup.forget_pending)

dashboard.register()  # the customer-health section on the account page

# The accounts list's health column and filter.
if not customers.HEALTH_SOURCES:
    customers.HEALTH_SOURCES.append(customers.HealthSource(of=services.health_by_account, choices=services.health_choices))
