"""What this package adds to others: the saved brand as the portal's brand
(``portal.web.theme.BRAND_PROVIDER``)."""

from portal.settings import services

services.register()
