"""The brand form. Every field may stay empty: the configuration applies then."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional, Regexp, StopValidation, ValidationError

from portal.settings.models import EMAIL_MAX, LOGO_MAX_BYTES, LOGO_URL_MAX, NAME_MAX
from portal.settings.services import image_type
from portal.web.i18n import lazy_gettext as _l

_HEX_COLOR = r"^#[0-9a-fA-F]{6}$"
#: A path under /static/ as the portal serves it: no "..", no query, no spacing or quotes.
_STATIC_PATH = re.compile(r"^/static/[A-Za-z0-9._~/-]+$")
#: A host name or IPv6-free address, optionally with a port: nothing that could end a CSP source.
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?$")
_URL_PATH = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")


class OneLine:
    """A one-line value for email headers and titles: no line breaks, tabs or
    other control characters (they could add headers to every email)."""

    def __call__(self, form, field):
        value = field.data or ""
        if any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in value):
            raise StopValidation(_l("Use one line without line breaks or control characters."))


class EmailAddress:
    """One plain address (no display name), checked like the event intake does."""

    def __call__(self, form, field):
        if not field.data:
            return
        try:
            field.data = validate_email(field.data, check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise ValidationError(_l("Enter one email address, like kundenservice@example.com.")) from error


class LogoUrl:
    """A path under /static/ or an https:// address of an image, as PORTAL_BRAND_LOGO_URL."""

    def __call__(self, form, field):
        value = field.data or ""
        if not value or _STATIC_PATH.match(value) and ".." not in value.split("/"):
            return
        parts = urlsplit(value)
        if (
            parts.scheme == "https"
            and value.startswith("https://")
            and _HOST.match(parts.netloc)
            and _URL_PATH.match(parts.path + ("?" + parts.query if parts.query else ""))
            and not parts.fragment
        ):
            return
        raise ValidationError(_l("Enter a path under /static/ or an address starting with https://."))


class LogoImage:
    """An uploaded logo: a PNG, JPEG, WebP or GIF (by its bytes, not its name) of at
    most LOGO_MAX_BYTES. Keeps the bytes on the field as ``image``."""

    def __call__(self, form, field):
        field.image = None
        upload = field.data
        if not isinstance(upload, FileStorage) or not upload.filename:
            return
        data = upload.stream.read(LOGO_MAX_BYTES + 1)
        if len(data) > LOGO_MAX_BYTES:
            raise ValidationError(_l("The image is larger than %(size)d kB; please make it smaller.", size=LOGO_MAX_BYTES // 1024))
        if image_type(data) is None:
            raise ValidationError(_l("Upload a PNG, JPEG, WebP or GIF image (SVG is not accepted)."))
        field.image = data


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class BrandForm(FlaskForm):
    company_name = StringField(
        _l("Company name"),
        filters=[_strip],
        validators=[OneLine(), Optional(), Length(max=NAME_MAX)],
        description=_l("Shown in the header of every page and named in survey emails, e.g. “Would you recommend …?”."),
    )
    sender_name = StringField(
        _l("Sender name"),
        filters=[_strip],
        validators=[OneLine(), Optional(), Length(max=NAME_MAX)],
        description=_l("The name customers see as the sender of emails."),
    )
    sender_email = StringField(
        _l("Sender address"),
        filters=[_strip],
        validators=[OneLine(), Optional(), Length(max=EMAIL_MAX), EmailAddress()],
        description=_l("Your mail server must be allowed to send for this address."),
    )
    logo_url = StringField(
        _l("Logo"),
        filters=[_strip],
        validators=[OneLine(), Optional(), Length(max=LOGO_URL_MAX), LogoUrl()],
        description=_l("A path under /static/ or an https:// address of an image."),
    )
    logo_file = FileField(
        _l("Upload a logo"),
        validators=[LogoImage()],
        description=_l("PNG, JPEG, WebP or GIF, at most 200 kB, about 32 px high in the header. Shown instead of the logo address."),
    )
    remove_logo = BooleanField(_l("Remove the uploaded logo"))
    brand_color = StringField(
        _l("Brand colour"),
        filters=[_strip],
        validators=[OneLine(), Optional(), Regexp(_HEX_COLOR, message=_l("Enter a colour like #0b5cad."))],
        description=_l("Like #0b5cad. Text on it is white or black, whichever is easier to read."),
    )

    def show_fallbacks(self, configured) -> None:
        """Add to each description what an empty field stands for (a theme.Brand from the configuration)."""
        fallbacks = {
            "company_name": configured.name,
            "sender_name": _l("the company name, or %(name)s", name=configured.sender_name),
            "sender_email": configured.sender_email,
            "logo_url": _l("no logo") if not configured.logo_url else configured.logo_url,
            "brand_color": configured.color,
        }
        for name, value in fallbacks.items():
            field = getattr(self, name)
            field.description = _l("%(help)s Empty: %(fallback)s.", help=field.description, fallback=value)

    def uploaded_logo(self) -> bytes | None:
        return getattr(self.logo_file, "image", None)

    def values(self) -> dict[str, str]:
        return {name: getattr(self, name).data or "" for name in ("company_name", "sender_name", "sender_email", "logo_url", "brand_color")}

    def first_error(self) -> str | None:
        return next(iter(self.errors), None)
