"""What the browser sends, made safe before any view or error page reads it.

Hostile or broken input must end in a 4xx page, never in a 500 from deep
inside: PostgreSQL refuses NUL in text and integers beyond 2**31-1, Python's
int() refuses numbers of more than 4300 digits, and a body over the size
limit raises again every time something reads the form, error pages included.

- Numbers in URLs use :class:`BoundedIntegerConverter` (installed as ``int``):
  a too large id does not match the route, so it is a plain 404.
- Numbers in query strings and forms go through :func:`parse_int`.
- :func:`refuse_unusable_input` runs before everything else on each request
  (CSRF check, rate limits, views): it refuses a body over the limit (413),
  a body cut short and text no database can store (400), and leaves the
  request looking empty, so nothing that runs afterwards, the error page
  included, fails again.
- Views that would rather tell the user which field is wrong, or that clean
  the text themselves, are marked with :func:`validates_own_text`.
- GET forms of filters derive from :class:`FilterForm`: a value of only
  spaces is no filter, as an empty one is.
- :class:`RefuseUnusableHost` wraps the whole app: a Host header that is no
  host name (a label over 63 characters, a broken ``xn--`` label, a port
  beyond 65535) is a plain 400 before Flask sees it. Flask cannot build a
  single URL for such a host, so even its error page would fail.
"""

from __future__ import annotations

import re
import unicodedata

from flask import abort, current_app, request
from flask_wtf import FlaskForm
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from wtforms.validators import StopValidation

from portal.web.i18n import lazy_gettext as _l

#: The largest value of a PostgreSQL ``integer`` (our ids and counters).
MAX_INT = 2**31 - 1

_DIGITS = re.compile(r"[0-9]{1,10}")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# NUL: PostgreSQL text cannot hold it. Lone surrogates: not encodable as UTF-8.
# Werkzeug turns invalid UTF-8 in URLs and forms into %XX text or U+FFFD, so
# surrogates only come from a server that decodes differently; refused all the same.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class BoundedIntegerConverter(IntegerConverter):
    """``<int:id>`` for ASCII digits up to :data:`MAX_INT`: anything larger
    does not match, instead of reaching the database and failing there."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_INT, signed: bool = False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_int(value: str | None, default: int | None = None, *, low: int = 0, high: int = MAX_INT) -> int | None:
    """A whole number from a query or form value, or ``default`` when it is
    missing, not plain ASCII digits, or outside ``low``..``high``.

    Unlike ``int()`` (and ``request.args.get(type=int)``), this never accepts
    signs, spaces, underscores or other scripts' digits, and never parses
    thousands of digits."""
    if value is None or not _DIGITS.fullmatch(value):
        return default
    number = int(value)
    return number if low <= number <= high else default


def validates_own_text(view):
    """The view deals with unstorable characters in every form value it uses
    (a field error through :class:`PlainText`, or a service that removes
    them): the request guard leaves its form values alone. The query string
    and the path are still checked."""
    view.validates_own_text = True
    return view


class PlainText:
    """A WTForms validator for names and other one-line text: no control
    characters (NUL, escape, delete...) and no lone surrogates. Tabs and line
    breaks pass: they are spacing, which the services collapse. It ends the
    field's validation: nothing else about such a value matters."""

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field):
        value = field.data or ""
        if any(unicodedata.category(c) in ("Cc", "Cs") and not c.isspace() for c in value):
            raise StopValidation(self.message or _l("This contains characters that are not allowed."))


_HOST = re.compile(
    r"(?:(?P<name>(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?)"
    r"|\[[0-9A-Fa-f:.]{2,45}\])(?::(?P<port>[0-9]{1,5}))?"
)


def usable_host(host: str) -> bool:
    """A DNS name (labels of 1–63 letters, digits, hyphens), an IPv4 or a
    bracketed IPv6 address, with an optional port up to 65535."""
    match = _HOST.fullmatch(host)
    if match is None or len(host) > 260 or int(match["port"] or 0) > 65535:
        return False
    try:
        (match["name"] or "").encode("ascii").decode("idna")  # xn-- labels must be valid punycode
    except UnicodeError:
        return False
    return True


class RefuseUnusableHost:
    """WSGI middleware: see the module docstring."""

    BODY = "400 Ungültige Anfrage: Der Host-Name ist ungültig.\n400 Bad Request: the Host header is not a valid host name.\n".encode()

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        host = environ.get("HTTP_HOST")
        if host is not None and not usable_host(host):
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(self.BODY))), ("Cache-Control", "no-store")])
            return [self.BODY]
        return self.wsgi_app(environ, start_response)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class FilterForm(FlaskForm):
    """A list's search and filters: a GET form, so no CSRF token.

    Every value loses its surrounding whitespace before validation, so
    ``?manager=%20`` means what ``?manager=`` means (no filter). Without this,
    WTForms' ``Optional`` lets a blank value through unchecked and it reaches
    ``int()`` as it came."""

    class Meta:
        csrf = False

        def bind_field(self, form, unbound_field, options):
            filters = [*unbound_field.kwargs.get("filters", ()), _strip]
            return unbound_field.bind(form=form, filters=filters, **options)


def refuse_unusable_input(endpoint: str | None, _view_args: dict | None) -> None:
    """Runs first on every request: see the module docstring."""
    try:
        request.query_string.decode()  # what request.args decodes; raw non-UTF-8 bytes fail there
        texts = [request.path, *_texts(request.args)]
        if request.mimetype in _FORM_TYPES:
            request.get_data()  # kept, so a view can still read the raw body (a webhook sent as a form)
        form = _texts(request.form)  # parses the body once, here: over the limit raises 413
    except HTTPException:  # reading the body: over the limit (413) or cut short (400)
        _forget_input()
        raise
    except UnicodeDecodeError:
        _forget_input()
        abort(400)
    if not _validates_own_text(endpoint):
        texts += form
    if any(_UNSTORABLE.search(text) for text in texts):
        _forget_input()
        abort(400)


def _texts(values: ImmutableMultiDict) -> list[str]:
    return [text for key, value in values.items(multi=True) for text in (key, value)]


def _validates_own_text(endpoint: str | None) -> bool:
    return getattr(current_app.view_functions.get(endpoint), "validates_own_text", False)


def _forget_input() -> None:
    """A refused request looks empty to everything that runs after: the error
    handler, the language selection, the layout's links to this page."""
    request.query_string = b""  # request.full_path and request.url too
    request.args = ImmutableMultiDict()
    request.form = ImmutableMultiDict()
    request.files = ImmutableMultiDict()


def install(state) -> None:
    """Blueprint ``record_once``: the bounded ``int`` converter for every
    blueprint registered after ``web`` (all of them), the host check, and the guard. The guard
    is a URL value preprocessor because Flask runs those before every
    before_request hook, so it comes before the CSRF check and the rate
    limits, which read the form."""
    app = state.app
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.wsgi_app = RefuseUnusableHost(app.wsgi_app)
    app.url_value_preprocessor(refuse_unusable_input)
