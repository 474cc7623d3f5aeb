from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import StaffUser
from portal.extensions import db
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l

#: What the operator sells; an account may have several.
SERVICE_TYPES = {
    "sip_trunk": _l("SIP trunk"),
    "hosted_pbx": _l("Hosted PBX"),
    "ucaas": _l("UCaaS"),
    "connectivity": _l("Connectivity"),
}

TICKET_CATEGORIES = {
    "technical": _l("Technical"),
    "billing": _l("Billing"),
    "provisioning": _l("Provisioning"),
    "general": _l("General"),
}


class Account(db.Model):
    """A business customer of the operator."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    region: Mapped[str | None] = mapped_column(String(64), index=True)
    account_manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"), index=True)
    contract_renewal_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    account_manager: Mapped[StaffUser | None] = relationship()
    services: Mapped[list[AccountService]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="AccountService.service_type"
    )
    contacts: Mapped[list[Contact]] = relationship(back_populates="account", order_by="Contact.name")

    @property
    def service_types(self) -> list[str]:
        return [s.service_type for s in self.services]

    @service_types.setter
    def service_types(self, values: list[str]) -> None:
        wanted = list(dict.fromkeys(values))
        self.services = [s for s in self.services if s.service_type in wanted] + [
            AccountService(service_type=v) for v in wanted if v not in self.service_types
        ]


class AccountService(db.Model):
    """One service type an account has (a row each, so filters stay indexable)."""

    __tablename__ = "account_services"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    service_type: Mapped[str] = mapped_column(String(32), primary_key=True)

    account: Mapped[Account] = relationship(back_populates="services")

    __table_args__ = (Index("ix_account_services_service_type", "service_type"),)


class Contact(db.Model):
    """A person at a customer who may receive surveys and take courses."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="de")
    survey_opt_out: Mapped[bool] = mapped_column(default=False)
    opted_out_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[Account] = relationship(back_populates="contacts")

    __table_args__ = (UniqueConstraint("account_id", "email"),)


class Ticket(db.Model):
    """A helpdesk ticket, as the helpdesk reported it."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    agent: Mapped[str | None] = mapped_column(String(120))
    #: Closed by the helpdesk without a human (e.g. no reply): never surveyed.
    auto_closed: Mapped[bool] = mapped_column(default=False)

    account: Mapped[Account] = relationship()
    contact: Mapped[Contact | None] = relationship()

    __table_args__ = (
        Index("ix_tickets_account_id_opened_at", "account_id", "opened_at"),
        Index("ix_tickets_closed_at", "closed_at"),
    )

    @property
    def opened_known(self) -> bool:
        """False when the helpdesk never said when the ticket was opened: the
        required ``opened_at`` then holds the closing time, and how long the
        ticket took is unknown (not 0 minutes)."""
        return self.closed_at is None or self.opened_at != self.closed_at

    @property
    def resolution_hours(self) -> float | None:
        if self.closed_at is None or not self.opened_known:
            return None
        return (self.closed_at - self.opened_at).total_seconds() / 3600

    @property
    def first_response_hours(self) -> float | None:
        if self.first_response_at is None or not self.opened_known:
            return None
        return (self.first_response_at - self.opened_at).total_seconds() / 3600


class Project(db.Model):
    """An installation project from the CRM (a new site, a PBX roll-out...)."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    completed_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
