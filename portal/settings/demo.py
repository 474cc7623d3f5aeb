"""The demo operator's brand, for ``demo seed``.

Runs inside the seed's unit of work (no commit here). Idempotent: once the
brand has been saved (by an earlier seed or by an admin), it is left alone.
"""

from __future__ import annotations

from portal.settings import services

DEMO_BRAND = {
    "company_name": "Rheinnetz Telekom GmbH",
    "sender_name": "Rheinnetz Kundenservice",
    "sender_email": "kundenservice@rheinnetz.example",
    "logo_url": "",
    "brand_color": "#00594f",
}


def seed_brand() -> bool:
    """Give the demo operator its brand unless one is saved; True if it did."""
    if services.stored_settings() is not None:
        return False
    services.update_brand(DEMO_BRAND, None)
    return True
