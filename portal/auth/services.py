"""Staff accounts: passwords, sessions, roles. No request, no templates."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select

from portal.auth.models import Role, StaffUser
from portal.extensions import db
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l

MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so both failures take as long.
_DUMMY_HASH = _hasher.hash("not a real password, only spends time")


class StaffUserError(ValueError):
    """A staff account change that cannot be made; the message says why."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffUserError(_l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))


def find_by_email(email: str) -> StaffUser | None:
    return db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))


def authenticate(email: str, password: str) -> StaffUser | None:
    """The user if the email and password match an active account, else None.

    Unknown email, wrong password and deactivated account are indistinguishable
    to the caller and take the same time.
    """
    user = find_by_email(email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def create_user(email: str, name: str, role: str, password: str, language: str | None = None) -> StaffUser:
    email = normalise_email(email)
    if role not in Role.ALL:
        raise StaffUserError(_l("Unknown role %(role)s; choose one of %(roles)s.", role=role, roles=", ".join(Role.ALL)))
    if "@" not in email or len(email) > 254:
        raise StaffUserError(_l("That is not a valid email address."))
    if find_by_email(email):
        raise StaffUserError(_l("A staff user with the email %(email)s already exists.", email=email))
    check_password_policy(password)
    user = StaffUser(
        email=email,
        name=name.strip() or email.split("@")[0],
        role=role,
        password_hash=hash_password(password),
        preferred_language=language,
    )
    db.session.add(user)
    db.session.flush()
    return user


def end_all_sessions(user: StaffUser) -> None:
    """Every session cookie carries the version; a new one invalidates them all."""
    user.session_version = (user.session_version or 0) + 1


def change_password(user: StaffUser, current_password: str, new_password: str) -> None:
    try:
        _hasher.verify(user.password_hash, current_password)
    except (VerifyMismatchError, VerificationError, InvalidHashError) as exc:
        raise StaffUserError(_l("The current password is not correct.")) from exc
    set_password(user, new_password)


def set_password(user: StaffUser, new_password: str) -> None:
    check_password_policy(new_password)
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)


def set_active(user: StaffUser, active: bool) -> None:
    user.active = active
    if not active:
        end_all_sessions(user)


def set_preferred_language(user: StaffUser, language: str) -> None:
    user.preferred_language = language


def update_preferences(user: StaffUser, name: str, language: str) -> None:
    user.name = name.strip()
    set_preferred_language(user, language)


def load_session_user(session_id: str) -> StaffUser | None:
    """Resolve Flask-Login's "<id>:<session version>"; stale versions fail."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(StaffUser, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def account_managers() -> list[StaffUser]:
    return list(
        db.session.scalars(
            select(StaffUser)
            .where(StaffUser.role == Role.ACCOUNT_MANAGER, StaffUser.active.is_(True))
            .order_by(func.lower(StaffUser.name))
        )
    )


#: Where each role lands after signing in, when no page was asked for; other
#: packages register here (followups: account managers land on "My tasks").
LANDING_PAGES: dict[str, str] = {}


def landing_url(user: StaffUser) -> str:
    from flask import url_for

    return url_for(LANDING_PAGES.get(user.role, "reports.dashboard"))
