"""The operator's settings that admins edit in the staff area: for now the
brand (company name, email sender, logo, colour) at /staff/settings/brand,
and an uploaded logo at /brand/logo.

``services.current_brand()`` is registered as ``portal.web.theme.BRAND_PROVIDER``
(``subscribers.py``), so the layout, the brand stylesheet, the CSP and every
email read the saved brand without the shared base importing this package.
Empty fields fall back to the ``PORTAL_BRAND_*`` / ``PORTAL_MAIL_FROM``
configuration. No jobs, CLI or emails of its own; ``demo.py`` seeds an
operator brand for ``demo seed``.
"""

from flask import Blueprint

#: No URL prefix: the brand page is under /staff/settings/, the uploaded logo at /brand/logo
#: (customers' pages show it, without a staff session).
bp = Blueprint("settings", __name__, template_folder="templates")

from portal.settings import models, subscribers, views  # noqa: E402,F401
