"""Staff sign-in: one answer for every failure, throttled, sessions that end."""

import re

import argon2
import pytest

from portal.auth import services
from portal.auth.models import Role, StaffUser
from tests.conftest import PASSWORD, PRODUCTION_PASSWORD_HASHER, csrf_token, login


def _error_text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_login_with_the_right_password_opens_the_dashboard(client, make_staff):
    user = make_staff(Role.MANAGER)
    response = login(client, user)
    assert response.status_code == 303 and response.location == "/staff/"
    assert user.name in client.get("/staff/").get_data(as_text=True)


def test_unknown_email_and_wrong_password_get_the_same_answer(client, make_staff):
    user = make_staff(Role.MANAGER)
    wrong_password = client.post("/login", data={"email": user.email, "password": "nope", "csrf_token": csrf_token(client)})
    unknown_user = client.post("/login", data={"email": "ghost@x.example", "password": "nope", "csrf_token": csrf_token(client)})
    assert wrong_password.status_code == unknown_user.status_code == 401
    # CSRF tokens (in fields and in hx-headers; timestamped, so they differ across a second) and the echoed email differ
    strip = lambda r: re.sub(r'(value|hx-headers)="[^"]*"', "", _error_text(r))  # noqa: E731
    assert strip(wrong_password).replace(user.email, "") == strip(unknown_user).replace("ghost@x.example", "")
    assert "Email or password is incorrect." in _error_text(wrong_password)


def test_deactivated_users_cannot_sign_in(client, make_staff):
    user = make_staff(Role.ADMIN, active=False)
    assert login(client, user).status_code == 401


def test_login_requires_a_csrf_token(client, make_staff):
    user = make_staff()
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 400


def test_malformed_login_form_is_a_clear_error_not_a_crash(client):
    response = client.post("/login", data={"email": "x" * 5000, "password": "", "csrf_token": csrf_token(client)})
    assert response.status_code == 401 and "at most" in _error_text(response).lower() or "required" in _error_text(response).lower()


def test_login_is_throttled_per_account(client, make_staff):
    user = make_staff()
    for _ in range(5):
        client.post("/login", data={"email": user.email, "password": "wrong", "csrf_token": csrf_token(client)})
    blocked = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    # Another account from the same address is not locked out by this one.
    other = make_staff()
    assert login(client, other).status_code == 303


def test_login_is_throttled_per_ip(app, make_staff):
    app.config["PORTAL_LOGIN_LIMIT_PER_IP"] = "3 per minute"
    client = app.test_client()
    for n in range(3):
        client.post("/login", data={"email": f"nobody{n}@x.example", "password": "x", "csrf_token": csrf_token(client)})
    user = make_staff()
    assert login(client, user).status_code == 429


def test_login_starts_a_fresh_session(client, make_staff):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, make_staff())
    with client.session_transaction() as session:
        assert "planted" not in session


def test_next_parameter_only_leads_to_local_pages(client, make_staff):
    user = make_staff()
    token = csrf_token(client)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token, "next": "https://evil.example/"})
    assert response.location == "/staff/"


def test_next_parameter_returns_to_the_requested_page(client, make_staff):
    assert client.get("/staff/accounts/").location.startswith("/login?next=/staff/accounts/")
    user = make_staff()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client), "next": "/staff/accounts/"})
    assert response.location == "/staff/accounts/"


def test_logout_ends_every_session_of_the_user(app, make_staff):
    user = make_staff()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    token = csrf_token(laptop, "/staff/profile")
    assert laptop.post("/logout", data={"csrf_token": token}).status_code == 303
    assert laptop.get("/staff/").status_code == 302
    assert phone.get("/staff/").status_code == 302


def test_logout_requires_post(login_as):
    client = login_as(Role.ADMIN)
    assert client.get("/logout").status_code == 405
    assert client.get("/staff/").status_code == 200


def test_deactivation_ends_sessions(app, db, login_as, runner):
    client = login_as(Role.MANAGER)
    result = runner.invoke(args=["users", "deactivate", "--email", client.user.email])
    assert result.exit_code == 0, result.output
    assert client.get("/staff/").status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(app, make_staff):
    user = make_staff()
    this, other = app.test_client(), app.test_client()
    login(this, user)
    login(other, user)
    response = this.post(
        "/staff/profile/password",
        data={"current_password": PASSWORD, "new_password": "a new long passphrase", "confirm": "a new long passphrase", "csrf_token": csrf_token(this, "/staff/profile")},
    )
    assert response.status_code == 303
    assert this.get("/staff/").status_code == 200
    assert other.get("/staff/").status_code == 302
    fresh = app.test_client()
    assert login(fresh, user, "a new long passphrase").status_code == 303


def test_password_change_with_wrong_current_password_changes_nothing(db, login_as):
    client = login_as(Role.ADMIN)
    old_hash = client.user.password_hash
    response = client.post(
        "/staff/profile/password",
        data={"current_password": "wrong", "new_password": "another long one!", "confirm": "another long one!", "csrf_token": client.csrf},
    )
    assert response.status_code == 422 and "not correct" in response.get_data(as_text=True)
    db.session.refresh(client.user)
    assert client.user.password_hash == old_hash


def test_short_new_password_is_refused(login_as):
    client = login_as(Role.ADMIN)
    response = client.post(
        "/staff/profile/password",
        data={"current_password": PASSWORD, "new_password": "short", "confirm": "short", "csrf_token": client.csrf},
    )
    assert response.status_code == 422 and "between 12" in response.get_data(as_text=True)


def test_profile_saves_the_language_preference(db, login_as):
    client = login_as(Role.ACCOUNT_MANAGER)
    response = client.post("/staff/profile", data={"name": "Neue Name", "preferred_language": "de", "csrf_token": client.csrf})
    assert response.status_code == 303
    html = client.get("/staff/profile").get_data(as_text=True)
    assert 'lang="de"' in html
    db.session.refresh(client.user)
    assert client.user.preferred_language == "de" and client.user.name == "Neue Name"


def test_idle_sessions_end(app, login_as):
    client = login_as(Role.ADMIN)
    with client.session_transaction() as session:
        session["seen"] -= app.config["PORTAL_IDLE_TIMEOUT_MINUTES"] * 60 + 5
    assert client.get("/staff/").status_code == 302


def test_htmx_requests_of_signed_out_users_redirect_the_whole_page(client):
    response = client.get("/staff/accounts/", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"


def test_passwords_are_stored_as_argon2id(make_staff):
    user = make_staff()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_production_hashes_passwords_at_the_recommended_cost():
    """Tests hash cheaply (tests/conftest.py); the portal itself never does."""
    recommended = argon2.profiles.RFC_9106_LOW_MEMORY
    hasher = PRODUCTION_PASSWORD_HASHER
    assert hasher.type is argon2.Type.ID
    assert hasher.time_cost >= recommended.time_cost and hasher.memory_cost >= recommended.memory_cost


def test_users_create_cli_prompts_for_the_password(runner, db):
    result = runner.invoke(args=["users", "create", "--email", "New@Example.com", "--role", "editor"], input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    user = db.session.query(StaffUser).filter_by(email="new@example.com").one()
    assert user.role == Role.EDITOR and services.authenticate("new@example.com", "a long enough password")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "x@example.com", "--role", "king"], "Invalid value"),
        (["--email", "not-an-email", "--role", "admin"], "not a valid email"),
    ],
)
def test_users_create_cli_rejects_bad_input(runner, args, message):
    result = runner.invoke(args=["users", "create", *args], input="a long enough password\na long enough password\n")
    assert result.exit_code != 0 and message in result.output


def test_users_create_cli_refuses_duplicates(runner, make_staff):
    user = make_staff()
    result = runner.invoke(args=["users", "create", "--email", user.email, "--role", "admin"], input="a long enough password\na long enough password\n")
    assert result.exit_code != 0 and "already exists" in result.output
