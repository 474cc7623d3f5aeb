"""The accounts area: a searchable list and one page per account."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from portal.auth.access import customer_staff_required
from portal.customers import bp, services
from portal.customers.forms import AccountFilterForm
from portal.customers.models import SERVICE_TYPES, TICKET_CATEGORIES
from portal.web.inputs import parse_int
from portal.web.rendering import render, wants_fragment


@bp.get("/")
@customer_staff_required
def accounts():
    form = AccountFilterForm(request.args)
    form.set_choices(*services.account_filter_choices(current_user), services.health_choices())
    if not form.validate():
        return render("customers/accounts.html", "results", form=form, page=None, health={}, status=400)
    page = services.search_accounts(current_user, form.filters())
    return render("customers/accounts.html", "results", form=form, page=page, health=services.accounts_health([a.id for a in page.items]))


@bp.context_processor
def labels() -> dict:
    return {"service_labels": SERVICE_TYPES, "category_labels": TICKET_CATEGORIES}


@bp.get("/<int:account_id>")
@customer_staff_required
def account(account_id: int):
    account = services.get_account_for(current_user, account_id) or abort(404)
    page = services.account_page(account, parse_int(request.args.get("tickets"), services.TICKETS_SHOWN), with_sections=not wants_fragment())
    return render("customers/account.html", "tickets", **vars(page))
