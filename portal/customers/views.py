"""The accounts area: a searchable list and one page per account."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from portal.auth.models import Role
from portal.auth.services import account_managers
from portal.auth.access import customer_staff_required
from portal.customers import bp, services
from portal.customers.forms import AccountFilterForm
from portal.customers.models import SERVICE_TYPES, TICKET_CATEGORIES
from portal.integrations.models import EventOutcome
from portal.integrations.services import account_timeline
from portal.web.inputs import parse_int
from portal.web.rendering import render


@bp.get("/")
@customer_staff_required
def accounts():
    form = AccountFilterForm(request.args)
    show_manager_filter = current_user.role != Role.ACCOUNT_MANAGER
    form.set_choices(
        services.regions(),
        [(m.id, m.name) for m in account_managers()] if show_manager_filter else None,
    )
    if not form.validate():
        return render("customers/accounts.html", "results", form=form, page=None, status=400)
    page = services.search_accounts(current_user, form.filters())
    return render("customers/accounts.html", "results", form=form, page=page)


@bp.context_processor
def labels() -> dict:
    return {
        "service_labels": SERVICE_TYPES,
        "category_labels": TICKET_CATEGORIES,
        "event_labels": EventOutcome.EVENT_LABELS,
        "outcome_labels": EventOutcome.LABELS,
        "reason_labels": EventOutcome.REASON_LABELS,
    }


@bp.get("/<int:account_id>")
@customer_staff_required
def account(account_id: int):
    account = services.get_account(account_id) or abort(404)
    if not services.can_view_account(current_user, account):
        abort(403)
    shown = parse_int(request.args.get("tickets"), services.TICKETS_SHOWN)
    shown = min(max(shown, 1), services.MAX_TICKETS_SHOWN)
    tickets = services.recent_tickets(account, limit=shown + 1)
    return render(
        "customers/account.html",
        "tickets",
        account=account,
        tickets=tickets[:shown],
        has_more_tickets=len(tickets) > shown,
        figures=services.ticket_figures([account.id]),
        timeline=account_timeline(account.id),
    )
