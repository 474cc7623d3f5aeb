"""Admins set the operator's brand in the staff area (issue 12, item 3): the
header, the colours, the CSP and every email follow it; empty fields fall back
to the PORTAL_* configuration; nobody else may change it."""

from __future__ import annotations

import re

import pytest

from portal.web.theme import contrast_ratio
from portal.worker import run_jobs_once
from tests.access_roles import HTMX

URL = "/staff/settings/brand"

RHEINNETZ = {
    "company_name": "Rheinnetz Telekom GmbH",
    "sender_name": "Rheinnetz Kundenservice",
    "sender_email": "kundenservice@rheinnetz.example",
    "logo_url": "https://cdn.rheinnetz.example/logo.svg",
    "brand_color": "#00594F",
}


def save(client, headers=None, **values):
    return client.post(URL, data={"csrf_token": client.csrf, **values}, headers=headers or {})


def css_value(client, name: str) -> str:
    css = client.get("/brand.css").get_data(as_text=True)
    return re.search(rf"--{name}: (#[0-9a-f]{{6}});", css).group(1)


def test_admin_sets_the_brand_and_the_header_colours_and_csp_follow(login_as):
    admin = login_as("admin")
    before = admin.get(URL)
    assert before.status_code == 200 and "<title>Brand · Kundenportal</title>" in before.get_data(as_text=True)

    response = save(admin, **RHEINNETZ)
    assert response.status_code == 303 and response.headers["Location"] == URL

    page = admin.get("/staff/")
    html = page.get_data(as_text=True)
    assert "· Rheinnetz Telekom GmbH</title>" in html
    assert '<img src="https://cdn.rheinnetz.example/logo.svg"' in html
    assert "Kundenportal" not in html
    assert "img-src 'self' data: https://cdn.rheinnetz.example;" in page.headers["Content-Security-Policy"]
    assert css_value(admin, "brand") == "#00594f" and css_value(admin, "on-brand") == "#ffffff"

    # Every session sees it, not only the admin who saved it.
    other = login_as("manager")
    assert "Rheinnetz Telekom GmbH" in other.get("/staff/profile").get_data(as_text=True)


def test_survey_emails_name_the_operator_and_come_from_its_sender(db, login_as, smtp_server, make_invitation, make_survey, make_contact):
    recorder, _port = smtp_server
    save(login_as("admin"), **RHEINNETZ)

    make_invitation(survey=make_survey("nps"), contact=make_contact(language="de"))
    make_invitation(survey=make_survey("nps", name="NPS en"), contact=make_contact(language="en"))
    assert run_jobs_once()["send_mail"] == 2

    german, english = recorder.messages
    assert german["Subject"] == "Würden Sie Rheinnetz Telekom GmbH weiterempfehlen?"
    assert english["Subject"] == "Would you recommend Rheinnetz Telekom GmbH?"
    for message in (german, english):
        assert message["From"] == "Rheinnetz Kundenservice <kundenservice@rheinnetz.example>"
        assert "Kundenportal" not in message.as_string()
        html = message.get_body(("html",)).get_content()
        assert "background:#00594f;color:#ffffff" in html and "Rheinnetz Telekom GmbH" in html
    assert recorder.envelopes[0].mail_from == "kundenservice@rheinnetz.example"


def test_a_sender_name_with_commas_and_umlauts_arrives_intact(login_as, smtp_server, make_invitation):
    recorder, _port = smtp_server
    save(login_as("admin"), company_name="Müller & Söhne, Telefonie", sender_email="service@mueller.example")
    make_invitation()
    assert run_jobs_once()["send_mail"] == 1
    [message] = recorder.messages
    [sender] = message["From"].addresses
    assert sender.display_name == "Müller & Söhne, Telefonie"  # the company name names the sender
    assert sender.addr_spec == "service@mueller.example"


@pytest.mark.parametrize("color", ["#ffcc00", "#797979", "#e30613", "#ffffff"])
def test_a_colour_with_poor_contrast_gets_readable_text(login_as, color):
    admin = login_as("admin")
    assert save(admin, brand_color=color).status_code == 303
    on_brand = css_value(admin, "on-brand")
    assert css_value(admin, "brand") == color and contrast_ratio(color, on_brand) >= 4.5
    page = admin.get(URL).get_data(as_text=True)
    assert f"<code>{on_brand}</code>" in page
    shown = re.search(r"([0-9]+\.[0-9]) : 1", page).group(1)
    assert float(shown) == pytest.approx(contrast_ratio(color, on_brand), abs=0.05) and float(shown) >= 4.5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sender_name", "Service\r\nBcc: victim@evil.example"),
        ("sender_name", "Service\nX-Injected: 1"),
        ("company_name", "Rheinnetz\rBcc: victim@evil.example"),
        ("company_name", "Rheinnetz\x00Telekom"),  # NUL: a field error here, as README says (not the 400 of other forms)
        ("sender_email", "a@b.example\r\nBcc: victim@evil.example"),
        ("sender_email", "Service <a@b.example>"),
        ("sender_email", "not an address"),
        ("brand_color", "red"),
        ("brand_color", "#12345"),
        ("logo_url", "http://cdn.example/logo.png"),
        ("logo_url", "javascript:alert(1)"),
        ("logo_url", "https://cdn.example; script-src *"),
        ("logo_url", "/static/../secret"),
        ("logo_url", "//evil.example/logo.png"),
    ],
)
def test_unsafe_or_malformed_values_are_refused_and_nothing_is_saved(login_as, field, value):
    admin = login_as("admin")
    response = save(admin, **{**RHEINNETZ, field: value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'<input[^>]*aria-invalid="true"[^>]*id="{field}"', html), html
    assert "Rheinnetz Telekom GmbH" not in admin.get("/staff/").get_data(as_text=True)


def test_a_failed_save_over_htmx_returns_the_form_with_the_focus_on_the_field(login_as):
    admin = login_as("admin")
    response = save(admin, headers=HTMX, sender_name="A\r\nBcc: x@evil.example")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'hx-post="/staff/settings/brand"' in html
    assert re.search(r'<input[^>]*autofocus[^>]*id="sender_name"|<input[^>]*id="sender_name"[^>]*autofocus', html)
    assert "one line without line breaks" in html


def test_a_save_over_htmx_reloads_the_page(login_as):
    admin = login_as("admin")
    response = save(admin, headers=HTMX, company_name="Rheinnetz Telekom GmbH")
    assert response.status_code == 204 and response.headers["HX-Refresh"] == "true"
    assert "The brand is saved." in admin.get(URL).get_data(as_text=True)


def test_the_page_serves_its_form_fragment_to_htmx(login_as):
    admin = login_as("admin")
    page, fragment = admin.get(URL), admin.get(URL, headers=HTMX)
    assert "<html" in page.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert 'name="company_name"' in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


@pytest.mark.parametrize("role", ["manager", "account_manager", "editor"])
def test_only_admins_see_or_change_the_brand(login_as, role):
    client = login_as(role)
    assert client.get(URL).status_code == 403
    assert save(client, company_name="Hijacked AG").status_code == 403
    assert "Hijacked AG" not in client.get("/staff/profile").get_data(as_text=True)


def test_without_a_csrf_token_nothing_is_saved(login_as):
    admin = login_as("admin")
    response = admin.post(URL, data={"company_name": "Hijacked AG"})
    assert response.status_code == 400
    assert "Hijacked AG" not in admin.get("/staff/").get_data(as_text=True)


def test_empty_fields_fall_back_to_the_configuration(make_app, login_as, smtp_server, make_invitation):
    recorder, _port = smtp_server
    admin = login_as("admin")
    save(admin, **{**RHEINNETZ, "sender_name": "", "logo_url": "", "brand_color": ""})
    configured = make_app(PORTAL_BRAND_COLOR="#ffcc00", PORTAL_BRAND_LOGO_URL="/static/img/logo.png", PORTAL_MAIL_FROM="Ignored Name <portal@config.example>")
    with configured.app_context():
        client = configured.test_client()
        page = client.get("/login").get_data(as_text=True)
        assert "Rheinnetz Telekom GmbH" in page and '<img src="/static/img/logo.png"' in page
        assert css_value(client, "brand") == "#ffcc00"
        make_invitation()
        assert run_jobs_once()["send_mail"] == 1
    # No sender name saved: the saved company name, not the configuration's name, signs the email.
    assert recorder.messages[0]["From"] == "Rheinnetz Telekom GmbH <kundenservice@rheinnetz.example>"

    save(admin, company_name="", sender_email="")  # all empty again: the configuration as before
    with configured.app_context():
        page = configured.test_client().get("/login").get_data(as_text=True)
        assert "Kundenportal" in page and "Rheinnetz" not in page
        from portal.web.theme import brand

        assert brand().sender == "Ignored Name <portal@config.example>"


def test_the_form_shows_what_an_empty_field_stands_for(login_as):
    html = login_as("admin").get(URL).get_data(as_text=True)
    assert "Empty: Kundenportal." in html and "Empty: #0b5cad." in html and "Empty: portal@example.net." in html


def test_the_demo_seeds_an_operator_brand_once_and_keeps_an_admins_change(db, login_as):
    from portal.settings.demo import seed_brand
    from portal.web.theme import brand

    assert seed_brand() is True
    db.session.commit()
    assert brand().name == "Rheinnetz Telekom GmbH"
    assert brand().sender == "Rheinnetz Kundenservice <kundenservice@rheinnetz.example>"
    save(login_as("admin"), company_name="Nordnetz AG", sender_email="info@nordnetz.example")
    assert seed_brand() is False
    db.session.commit()
    assert brand().name == "Nordnetz AG"


def test_pages_other_than_html_do_not_read_the_brand(client, login_as):
    save(login_as("admin"), logo_url="https://cdn.rheinnetz.example/logo.svg")
    assert "cdn.rheinnetz.example" not in client.get("/healthz").headers["Content-Security-Policy"]
    assert "cdn.rheinnetz.example" in client.get("/login").headers["Content-Security-Policy"]


def test_a_new_colour_is_never_hidden_by_a_cached_stylesheet(login_as):
    from portal.web.theme import brand

    admin = login_as("admin")
    plain = admin.get("/brand.css")
    assert plain.headers["Cache-Control"] == "no-cache" and plain.headers["ETag"]
    assert admin.get("/brand.css", headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304
    old_version = brand().version
    assert "immutable" in admin.get(f"/brand.css?v={old_version}").headers["Cache-Control"]

    save(admin, brand_color="#e30613")
    assert admin.get("/brand.css", headers={"If-None-Match": plain.headers["ETag"]}).status_code == 200
    assert brand().version != old_version
    stale = admin.get(f"/brand.css?v={old_version}")  # an old link: the current colours, not cached for good
    assert "--brand: #e30613" in stale.get_data(as_text=True) and stale.headers["Cache-Control"] == "no-cache"


# --- an uploaded logo ---------------------------------------------------------------------------

#: A real 1×1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


def upload(client, data: bytes, filename: str = "logo.png", headers=None, **values):
    from io import BytesIO

    return client.post(URL, data={"csrf_token": client.csrf, **values, "logo_file": (BytesIO(data), filename)}, headers=headers or {}, content_type="multipart/form-data")


def test_an_uploaded_logo_shows_on_staff_and_customer_pages_and_is_cached_by_version(login_as, client, make_invitation):
    admin = login_as("admin")
    assert upload(admin, PNG, company_name="Rheinnetz Telekom GmbH").status_code == 303
    html = admin.get("/staff/").get_data(as_text=True)
    src = re.search(r'<img src="(/brand/logo\?v=[0-9a-f]{16})" alt="" class="brand-logo">', html).group(1)

    _invitation, token = make_invitation()
    survey = client.get(f"/s/{token}")  # a customer, not signed in
    assert src in survey.get_data(as_text=True)
    assert "img-src 'self' data:;" in survey.headers["Content-Security-Policy"]  # our own origin: nothing to add

    logo = client.get(src)
    assert logo.status_code == 200 and logo.data == PNG and logo.mimetype == "image/png"
    assert "immutable" in logo.headers["Cache-Control"] and logo.headers["X-Content-Type-Options"] == "nosniff"
    plain = client.get("/brand/logo")
    assert plain.headers["Cache-Control"] == "no-cache"
    assert client.get("/brand/logo", headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304


def test_the_uploaded_logo_wins_over_the_address_and_can_be_removed(login_as, client):
    admin = login_as("admin")
    upload(admin, PNG, logo_url="https://cdn.rheinnetz.example/logo.png")
    page = admin.get(URL).get_data(as_text=True)
    assert '<img src="/brand/logo?v=' in page and "Remove the uploaded logo" in page
    assert '<img src="https://cdn.rheinnetz.example/logo.png"' not in admin.get("/staff/").get_data(as_text=True)

    save(admin, logo_url="https://cdn.rheinnetz.example/logo.png", remove_logo="y")
    assert '<img src="https://cdn.rheinnetz.example/logo.png"' in admin.get("/staff/").get_data(as_text=True)
    assert client.get("/brand/logo").status_code == 404

    save(admin, company_name="Rheinnetz Telekom GmbH")  # a save without a file keeps nothing it did not have
    assert "/brand/logo" not in admin.get("/staff/").get_data(as_text=True)


def test_a_save_without_a_new_file_keeps_the_uploaded_logo(login_as, client):
    admin = login_as("admin")
    upload(admin, PNG)
    save(admin, company_name="Nordnetz AG")
    assert client.get("/brand/logo").data == PNG


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.svg"),
        (b"<html><script>alert(1)</script></html>", "logo.png"),  # the name says PNG, the bytes do not
        (PNG[:8] + b"\0" * (200 * 1024), "big.png"),  # over 200 kB
    ],
    ids=["svg", "html-named-png", "too-large"],
)
def test_an_upload_that_is_no_small_image_is_refused_and_nothing_is_saved(login_as, client, data, filename):
    admin = login_as("admin")
    response = upload(admin, data, filename, company_name="Rheinnetz Telekom GmbH")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="logo_file"', html), html
    assert client.get("/brand/logo").status_code == 404
    assert "Rheinnetz Telekom GmbH" not in admin.get("/staff/").get_data(as_text=True)


def test_an_upload_over_htmx_saves_and_reloads(login_as, client):
    admin = login_as("admin")
    response = upload(admin, PNG, headers=HTMX)
    assert response.status_code == 204 and response.headers["HX-Refresh"] == "true"
    assert client.get("/brand/logo").data == PNG


@pytest.mark.parametrize("role", ["manager", "account_manager", "editor"])
def test_only_admins_upload_a_logo(login_as, client, role):
    assert upload(login_as(role), PNG).status_code == 403
    assert client.get("/brand/logo").status_code == 404


def test_the_page_says_who_changed_the_brand_and_only_when_someone_did(db, login_as):
    from portal.settings.demo import seed_brand

    seed_brand()
    db.session.commit()
    admin = login_as("admin", name="Alexandra Admin")
    html = admin.get(URL).get_data(as_text=True)
    assert "Last changed " in html and " by " not in html.split("Last changed ", 1)[1].split("</p>", 1)[0]
    save(admin, company_name="Nordnetz AG")
    assert "by Alexandra Admin." in admin.get(URL).get_data(as_text=True)


# --- the brand cached per process (issue 19) --------------------------------------------------


def _saved_elsewhere(db, **values) -> None:
    """What another gunicorn worker's save looks like to this process: the row
    changes in the database, this process's copy is not told."""
    from portal.settings.models import SETTINGS_ID, OperatorSettings

    row = db.session.get(OperatorSettings, SETTINGS_ID) or OperatorSettings(id=SETTINGS_ID)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.add(row)
    db.session.commit()


def test_pages_read_the_brand_once_per_process_until_it_expires(app, db, client, make_invitation, monkeypatch):
    from sqlalchemy import event

    from portal.settings import services

    _invitation, token = make_invitation()
    assert "<span>Kundenportal</span>" in client.get(f"/s/{token}").get_data(as_text=True)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        client.get(f"/s/{token}")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert not [s for s in statements if "operator_settings" in s]  # the second page did not read it

    _saved_elsewhere(db, company_name="Nordnetz AG")
    assert "<span>Kundenportal</span>" in client.get(f"/s/{token}").get_data(as_text=True)  # within the bound
    later = services.time.monotonic() + services.BRAND_CACHE_SECONDS + 0.1
    monkeypatch.setattr(services.time, "monotonic", lambda: later)
    assert "<span>Nordnetz AG</span>" in client.get(f"/s/{token}").get_data(as_text=True)


def test_the_saving_process_shows_the_new_brand_at_once_on_every_page(login_as, client, make_invitation):
    _invitation, token = make_invitation()
    admin = login_as("admin")
    assert "Kundenportal" in client.get(f"/s/{token}").get_data(as_text=True)  # cached now
    save(admin, company_name="Rheinnetz Telekom GmbH", brand_color="#e30613")
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert "<span>Rheinnetz Telekom GmbH</span>" in page and "Kundenportal" not in page
    assert "--brand: #e30613" in client.get("/brand.css").get_data(as_text=True)


def _kept(services):
    """The brand this process keeps for the app, if any is still valid."""
    cache = services._app_cache()
    return cache.brand if cache.generation == services._generation else None


def test_a_brand_read_before_a_save_is_not_kept_after_it(app, monkeypatch):
    """A request that read the old row while an admin saved must not put the
    old brand back into the cache the save emptied."""
    from portal.settings import services

    read = services._stored_if_readable

    def read_while_an_admin_saves():
        found = read()
        services.forget_cached_brand()  # the save, in another thread, just after this read
        return found

    monkeypatch.setattr(services, "_stored_if_readable", read_while_an_admin_saves)
    with app.test_request_context("/"):
        assert services.current_brand().name == "Kundenportal"
        assert _kept(services) is None


def test_a_brand_the_database_could_not_give_is_not_kept(app, monkeypatch):
    from portal.settings import services

    def down():
        raise services.SQLAlchemyError("database down")

    monkeypatch.setattr(services, "stored_settings", down)
    with app.test_request_context("/"):
        assert services.current_brand().name == "Kundenportal"
        assert _kept(services) is None
