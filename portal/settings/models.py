"""The operator's settings: one row, and the package's constants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import StaffUser
from portal.extensions import db
from portal.web.i18n import lazy_gettext as _l

#: The id of the one row (created on the first save).
SETTINGS_ID = 1

NAME_MAX = 120
EMAIL_MAX = 254
LOGO_URL_MAX = 500
#: An uploaded logo: at most this many bytes (a header logo is a few kB).
LOGO_MAX_BYTES = 200 * 1024

#: The text colours portal.web.theme.on_brand_color() chooses from, as the brand page names them.
ON_COLOR_LABELS = {"#ffffff": _l("white"), "#111111": _l("near-black"), "#000000": _l("black")}


class OperatorSettings(db.Model):
    """What admins set for the whole portal. An empty text means "use the
    server configuration" (``PORTAL_BRAND_NAME``, ``PORTAL_MAIL_FROM``...)."""

    __tablename__ = "operator_settings"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    company_name: Mapped[str] = mapped_column(String(NAME_MAX), default="", server_default="")
    sender_name: Mapped[str] = mapped_column(String(NAME_MAX), default="", server_default="")
    sender_email: Mapped[str] = mapped_column(String(EMAIL_MAX), default="", server_default="")
    logo_url: Mapped[str] = mapped_column(String(LOGO_URL_MAX), default="", server_default="")
    #: ``#rrggbb`` in lower case, or empty.
    brand_color: Mapped[str] = mapped_column(String(7), default="", server_default="")
    #: An uploaded logo (PNG, JPEG, WebP or GIF), served at /brand/logo. Deferred: every
    #: page reads this row for the brand, only the logo route needs the bytes.
    logo_image: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_type: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: Names the image's version in its URL (browsers keep it for good); empty: no upload.
    logo_digest: Mapped[str] = mapped_column(String(16), default="", server_default="")
    updated_at: Mapped[datetime | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    updated_by: Mapped[StaffUser | None] = relationship()
