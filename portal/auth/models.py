from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l


class Role:
    """What a staff member may do. Checked on the server for every route."""

    ADMIN = "admin"
    MANAGER = "manager"
    ACCOUNT_MANAGER = "account_manager"
    EDITOR = "editor"

    ALL = (ADMIN, MANAGER, ACCOUNT_MANAGER, EDITOR)
    #: Roles that work with customer accounts and their satisfaction data.
    CUSTOMER_FACING = (ADMIN, MANAGER, ACCOUNT_MANAGER)

    LABELS = {
        ADMIN: _l("Administrator"),
        MANAGER: _l("Manager"),
        ACCOUNT_MANAGER: _l("Account manager"),
        EDITOR: _l("Content editor"),
    }


class StaffUser(UserMixin, db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    #: Part of the login session id: bumping it ends every session of this user.
    session_version: Mapped[int] = mapped_column(default=1)
    preferred_language: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def role_label(self) -> str:
        return str(Role.LABELS.get(self.role, self.role))

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<StaffUser {self.email} {self.role}>"
