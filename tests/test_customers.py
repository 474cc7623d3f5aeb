"""The accounts area: search, filters, paging, record checks."""

from datetime import date, timedelta

import pytest

from portal.auth.models import Role

HTMX = {"HX-Request": "true"}


@pytest.fixture
def accounts(make_account, make_staff):
    anna = make_staff(Role.ACCOUNT_MANAGER, name="Anna Keller")
    jonas = make_staff(Role.ACCOUNT_MANAGER, name="Jonas Wolf")
    made = [
        make_account(name="Alpenblick Hotel GmbH", region="Süd", service_types=["hosted_pbx"], account_manager=anna),
        make_account(name="Müller Logistik GmbH", region="Nord", service_types=["sip_trunk", "connectivity"], account_manager=anna),
        make_account(name="Rheinufer Kanzlei KG", region="West", service_types=["ucaas"], account_manager=jonas),
    ]
    return {"anna": anna, "jonas": jonas, "accounts": made}


def test_the_list_shows_accounts_in_the_layout(login_as, accounts):
    response = login_as(Role.MANAGER).get("/staff/accounts/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert all(a.name in html for a in accounts["accounts"])
    assert "HX-Request" in response.headers["Vary"]


def test_live_search_returns_only_the_results_fragment(login_as, accounts):
    response = login_as(Role.MANAGER).get("/staff/accounts/?q=müller", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "<form" not in html
    assert "Müller Logistik GmbH" in html and "Alpenblick" not in html


def test_boosted_and_history_restore_requests_get_the_whole_page(login_as, accounts):
    client = login_as(Role.MANAGER)
    for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
        assert "<html" in client.get("/staff/accounts/?q=müller", headers={**HTMX, **extra}).get_data(as_text=True)


def test_search_matches_customer_number_and_contacts(login_as, accounts, make_contact):
    target = accounts["accounts"][2]
    make_contact(account=target, name="Paula Heinrich", email="p.heinrich@rheinufer.example")
    client = login_as(Role.ADMIN)
    assert target.name in client.get(f"/staff/accounts/?q={target.external_id}", headers=HTMX).get_data(as_text=True)
    assert target.name in client.get("/staff/accounts/?q=heinrich", headers=HTMX).get_data(as_text=True)


def test_search_treats_wildcards_literally(login_as, accounts):
    html = login_as(Role.ADMIN).get("/staff/accounts/?q=%25", headers=HTMX).get_data(as_text=True)
    assert "No accounts match" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("region=Süd", {"Alpenblick Hotel GmbH"}),
        ("service=sip_trunk", {"Müller Logistik GmbH"}),
        ("service=connectivity&region=Nord", {"Müller Logistik GmbH"}),
    ],
)
def test_filters_narrow_the_list(login_as, accounts, query, expected):
    html = login_as(Role.ADMIN).get(f"/staff/accounts/?{query}", headers=HTMX).get_data(as_text=True)
    shown = {a.name for a in accounts["accounts"] if a.name in html}
    assert shown == expected


def test_filter_by_account_manager(login_as, accounts):
    html = login_as(Role.ADMIN).get(f"/staff/accounts/?manager={accounts['jonas'].id}", headers=HTMX).get_data(as_text=True)
    assert "Rheinufer" in html and "Müller" not in html


def test_paging(login_as, make_account):
    for n in range(30):
        make_account(name=f"Firma {n:02d} GmbH")
    client = login_as(Role.ADMIN)
    first = client.get("/staff/accounts/").get_data(as_text=True)
    second = client.get("/staff/accounts/?page=2", headers=HTMX).get_data(as_text=True)
    assert "Firma 00 GmbH" in first and "Firma 25 GmbH" not in first
    assert "Firma 25 GmbH" in second and "Firma 00 GmbH" not in second
    assert 'href="/staff/accounts/?page=1"' in second
    # A page beyond the end shows the last page rather than nothing.
    assert "Firma 29 GmbH" in client.get("/staff/accounts/?page=99", headers=HTMX).get_data(as_text=True)


@pytest.mark.parametrize("query", ["page=abc", "page=0", "region=Atlantis", "service=fax", "manager=999999", "q=" + "x" * 101])
def test_bad_filters_are_a_400_with_a_message(login_as, accounts, query):
    client = login_as(Role.ADMIN)
    for headers in ({}, HTMX):
        response = client.get(f"/staff/accounts/?{query}", headers=headers)
        assert response.status_code == 400
        assert "not valid" in response.get_data(as_text=True)


def test_empty_state_says_what_to_do(login_as):
    html = login_as(Role.ADMIN).get("/staff/accounts/?q=nothing-like-this").get_data(as_text=True)
    assert "No accounts match" in html and "Show all accounts" in html


def test_account_managers_see_only_their_accounts(login_as, accounts):
    client = login_as(Role.ACCOUNT_MANAGER)  # a fresh manager: none of the accounts are theirs
    html = client.get("/staff/accounts/").get_data(as_text=True)
    assert "No accounts match" in html
    assert 'name="manager"' not in html


def test_account_manager_record_check(app, accounts):
    from tests.conftest import login

    anna_client = app.test_client()
    login(anna_client, accounts["anna"])
    own, foreign = accounts["accounts"][0], accounts["accounts"][2]
    assert anna_client.get(f"/staff/accounts/{own.id}").status_code == 200
    assert anna_client.get(f"/staff/accounts/{foreign.id}").status_code == 404  # not found, as a task outside the portfolio
    assert anna_client.get(f"/staff/accounts/{foreign.id}", headers=HTMX).status_code == 404  # not found, as a task outside the portfolio
    listed = anna_client.get("/staff/accounts/").get_data(as_text=True)
    assert own.name in listed and foreign.name not in listed


def test_account_page_shows_contacts_tickets_and_figures(login_as, make_contact, make_ticket):
    contact = make_contact(name="Lena Vogel")
    make_ticket(contact=contact, subject="Echo bei Gesprächen", category="technical")
    make_ticket(contact=contact, subject="Neue Rufnummern", category="provisioning", closed_at=None)
    html = login_as(Role.MANAGER).get(f"/staff/accounts/{contact.account_id}").get_data(as_text=True)
    assert "Lena Vogel" in html and "Echo bei Gesprächen" in html and "Neue Rufnummern" in html
    assert "Provisioning" in html


def test_older_tickets_load_as_a_fragment(login_as, make_contact, make_ticket):
    from portal.timeutil import utcnow

    contact = make_contact()
    for n in range(25):
        make_ticket(contact=contact, subject=f"Vorgang {n:02d}", opened_at=utcnow() - timedelta(days=n + 1))
    client = login_as(Role.ADMIN)
    page = client.get(f"/staff/accounts/{contact.account_id}").get_data(as_text=True)
    assert "Vorgang 19" in page and "Vorgang 20" not in page and "Show older tickets" in page
    fragment = client.get(f"/staff/accounts/{contact.account_id}?tickets=70", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "Vorgang 24" in fragment and "Show older tickets" not in fragment


@pytest.mark.parametrize("query", ["tickets=abc", "tickets=-5", "tickets=999999999"])
def test_odd_ticket_counts_are_clamped(login_as, make_contact, query):
    contact = make_contact()
    assert login_as(Role.ADMIN).get(f"/staff/accounts/{contact.account_id}?{query}").status_code == 200


def test_unknown_account_is_404(login_as):
    assert login_as(Role.ADMIN).get("/staff/accounts/424242").status_code == 404


def test_dashboard_shows_figures_and_renewals(login_as, make_account, make_ticket, make_contact):
    account = make_account(name="Bald Verlängern AG", contract_renewal_on=date.today() + timedelta(days=10))
    make_ticket(contact=make_contact(account=account))
    html = login_as(Role.MANAGER).get("/staff/").get_data(as_text=True)
    assert "Bald Verlängern AG" in html and "tickets opened" in html


def test_editor_dashboard_has_no_customer_data(login_as, make_account):
    make_account(name="Geheim GmbH")
    html = login_as(Role.EDITOR).get("/staff/").get_data(as_text=True)
    assert "Geheim GmbH" not in html and 'href="/staff/accounts/"' not in html
