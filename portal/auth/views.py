"""Login, logout and the staff member's own profile."""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.auth import bp, services
from portal.auth.access import staff_required
from portal.auth.forms import LoginForm, PasswordChangeForm, PreferencesForm
from portal.config import SUPPORTED_LOCALES
from portal.extensions import limiter, login_manager
from portal.web.rendering import render, safe_next, see_other, wants_fragment


@login_manager.user_loader
def load_user(session_id: str):
    return services.load_session_user(session_id)


@login_manager.unauthorized_handler
def unauthorized():
    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if wants_fragment():
        response = current_app.make_response(("", 401))
        response.headers["HX-Redirect"] = url_for("auth.login")
        return response
    flash(_("Please sign in to continue."), "info")
    return redirect(login_url)


@bp.before_app_request
def end_idle_sessions():
    """Sign staff out after PORTAL_IDLE_TIMEOUT_MINUTES without a request."""
    if not current_user.is_authenticated:
        return None
    now = int(time.time())
    last_seen = session.get("seen", now)
    if now - last_seen > current_app.config["PORTAL_IDLE_TIMEOUT_MINUTES"] * 60:
        logout_user()
        session.clear()
        flash(_("You were signed out after a period of inactivity."), "info")
        return None
    session["seen"] = now
    return None


def _login_failed(response) -> bool:
    return response.status_code != 303


def _submitted_email() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PORTAL_LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_login_failed)
@limiter.limit(
    lambda: current_app.config["PORTAL_LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_submitted_email,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-account",
)
def login():
    if current_user.is_authenticated:
        return redirect(services.landing_url(current_user))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            target = safe_next(form.next.data, services.landing_url(user))
            chosen_language = session.get("lang")
            session.clear()  # a fresh session: nothing from before the login survives
            if chosen_language in SUPPORTED_LOCALES:  # but the language picked on the login page is kept
                services.set_preferred_language(user, chosen_language)
            login_user(user)
            session["seen"] = int(time.time())
            return see_other(target)  # a 303: the request commits last_login_at
        form.password.errors.append(_("Email or password is incorrect."))
    return render("auth/login.html", "login_form", form=form, status=401 if request.method == "POST" else 200)


@bp.post("/logout")
def logout():
    """Signing out ends every session of this user, on every device."""
    if current_user.is_authenticated:
        services.end_all_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You have been signed out."), "info")
    return see_other(url_for("auth.login"))


@bp.route("/staff/profile", methods=["GET"])
@staff_required
def profile():
    return _render_profile()


def _render_profile(preferences_form=None, password_form=None, status=200):
    user = current_user._get_current_object()
    preferences_form = preferences_form or PreferencesForm(
        name=user.name, preferred_language=user.preferred_language or current_app.config["BABEL_DEFAULT_LOCALE"]
    )
    return render(
        "auth/profile.html",
        "profile",
        preferences_form=preferences_form,
        password_form=password_form or PasswordChangeForm(),
        status=status,
    )


@bp.post("/staff/profile")
@staff_required
def update_profile():
    form = PreferencesForm()
    if not form.validate_on_submit():
        return _render_profile(preferences_form=form, status=422)
    services.update_preferences(current_user._get_current_object(), form.name.data, form.preferred_language.data)
    session.pop("lang", None)  # the saved preference now decides
    flash(_("Your profile has been saved."), "success")
    return see_other(url_for("auth.profile"))


@bp.post("/staff/profile/password")
@staff_required
def change_password():
    form = PasswordChangeForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except services.StaffUserError as error:
            form.current_password.errors.append(str(error))
        else:
            login_user(user)  # this session carries the new version; all others have ended
            flash(_("Your password has been changed. Other sessions have been signed out."), "success")
            return see_other(url_for("auth.profile"))
    return _render_profile(password_form=form, status=422)
