"""The shell every page shares: probes, headers, errors, language, htmx setup."""

import json
import re

import pytest

from portal.web.theme import INK_BACKGROUND, brand_stylesheet, contrast_ratio

HTMX = {"HX-Request": "true"}


def test_healthz_answers_without_the_database(client, app, db):
    db.engine.dispose()
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:////nonexistent/dir/x.db"
    assert client.get("/healthz").data == b"ok\n"


def test_readyz_checks_the_database(client):
    assert client.get("/readyz").status_code == 200


def test_readyz_reports_an_unreachable_database(tmp_path):
    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db.sqlite", "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path)})
    assert app.test_client().get("/readyz").status_code == 503


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_when_the_base_url_is_https(make_app):
    app = make_app(PORTAL_BASE_URL="https://portal.example")
    assert "max-age" in app.test_client().get("/login").headers["Strict-Transport-Security"]


def test_templates_are_not_checked_for_changes_on_each_render_outside_debug(make_app):
    """gunicorn runs without --debug: Jinja keeps compiled templates and never
    stats their files per render (only `make run`'s debug server reloads them)."""
    app = make_app(PORTAL_ENV="production", PORTAL_SECRET_KEY="k")
    assert app.debug is False and app.jinja_env.auto_reload is False


def test_layout_loads_htmx_from_our_static_files_with_the_designed_config(client):
    html = client.get("/login").get_data(as_text=True)
    assert re.search(r'<script src="/static/vendor/htmx.min.js" defer>', html)
    config = json.loads(re.search(r'<meta name="htmx-config" content="([^"]+)"', html).group(1).replace("&#34;", '"'))
    assert config["selfRequestsOnly"] is True and config["allowEval"] is False
    assert config["allowScriptTags"] is False and config["includeIndicatorStyles"] is False
    assert config["historyCacheSize"] == 0
    assert "X-CSRFToken" in re.search(r"<body hx-headers=\"([^\"]+)\"", html).group(1)
    assert "<script>" not in html  # no inline script: the CSP forbids it


def test_htmx_is_served(client):
    with client.get("/static/vendor/htmx.min.js") as response:
        assert response.status_code == 200 and b"htmx" in response.data


def test_not_found_is_a_friendly_page_in_the_layout(client):
    response = client.get("/no/such/page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<html" in html and "Page not found" in html


def test_not_found_is_a_fragment_for_htmx(client):
    response = client.get("/no/such/page", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "<html" not in html and "Page not found" in html
    assert "HX-Request" in response.headers["Vary"]


def test_wrong_method_is_a_405_page(client):
    response = client.put("/login")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


def test_errors_speak_german_by_default(make_app):
    app = make_app(PORTAL_DEFAULT_LOCALE="de")
    html = app.test_client().get("/nope").get_data(as_text=True)
    assert 'lang="de"' in html and "Seite nicht gefunden" in html


def test_accept_language_picks_english(make_app):
    app = make_app(PORTAL_DEFAULT_LOCALE="de")
    html = app.test_client().get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert 'lang="en"' in html and "Sign in" in html


def test_language_switch_remembers_the_choice_and_stays_on_the_page(client):
    from tests.conftest import csrf_token

    token = csrf_token(client)
    response = client.post("/language", data={"lang": "de", "next": "/login", "csrf_token": token})
    assert response.status_code == 303 and response.location == "/login"
    assert "Anmelden" in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example", "//[", "/\r\nSet-Cookie: x=1"])
def test_language_switch_never_redirects_off_site(client, target):
    from tests.conftest import csrf_token

    response = client.post("/language", data={"lang": "en", "next": target, "csrf_token": csrf_token(client)})
    assert response.status_code == 303 and response.location == "/"


def test_language_switch_rejects_unknown_languages_and_missing_csrf(client):
    from tests.conftest import csrf_token

    assert client.post("/language", data={"lang": "xx", "csrf_token": csrf_token(client)}).status_code == 400
    assert client.post("/language", data={"lang": "en"}).status_code == 400


def test_brand_colour_and_name_come_from_configuration(make_app):
    app = make_app(PORTAL_BRAND_NAME="Nordnetz Business", PORTAL_BRAND_COLOR="#ffcc00")
    client = app.test_client()
    assert "Nordnetz Business" in client.get("/login").get_data(as_text=True)
    css = client.get("/brand.css").get_data(as_text=True)
    assert "--brand: #ffcc00" in css and "--on-brand: #111111" in css


BRAND_COLORS = ["#0b5cad", "#ffcc00", "#ffffff", "#e30613", "#00a86b", "#797979", "#2a9df4", "#000000"]


@pytest.mark.parametrize("color", BRAND_COLORS)
def test_brand_ink_always_has_aa_contrast_on_the_page(color):
    css = brand_stylesheet(color)
    ink = re.search(r"--brand-ink: (#[0-9a-f]{6})", css).group(1)
    assert contrast_ratio(ink, "#ffffff") >= 4.5 and contrast_ratio(ink, INK_BACKGROUND) >= 4.5
    on_brand = re.search(r"--on-brand: (#[0-9a-f]{6})", css).group(1)
    strong = re.search(r"--brand-strong: (#[0-9a-f]{6})", css).group(1)
    assert contrast_ratio(on_brand, color) >= 4.5 and contrast_ratio(on_brand, strong) >= 4.5


@pytest.mark.parametrize("color", BRAND_COLORS)
def test_email_header_and_button_text_are_readable_on_any_brand_colour(make_app, color):
    app = make_app(PORTAL_BRAND_COLOR=color)
    with app.app_context():
        from portal.mail.services import branding

        assert contrast_ratio(branding()["on_brand_color"], color) >= 4.5


def test_oversized_request_body_is_refused(client):
    response = client.post("/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/staff/", "/staff/profile"])
def test_staff_pages_serve_their_block_to_htmx_and_the_page_otherwise(login_as, path):
    client = login_as("manager")
    page = client.get(path)
    fragment = client.get(path, headers=HTMX)
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert fragment.get_data(as_text=True).strip()
    assert "HX-Request" in fragment.headers["Vary"]


def test_lazy_labels_follow_the_request_language_and_forced_locales(app):
    from flask_babel import force_locale

    from portal.mail.models import MessageStatus

    label = MessageStatus.LABELS["queued"]
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "de"}):
        assert str(label) == "eingereiht"
        with force_locale("en"):  # emails to an English contact inside a German request
            assert str(label) == "queued"
        assert str(label) == "eingereiht"
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "en"}):  # as each request has its own
        assert str(label) == "queued"
