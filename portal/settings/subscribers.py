"""What this package adds to others: the saved brand as the portal's brand
(``portal.web.theme.BRAND_PROVIDER``), and forgetting the cached brand once a
request that saved it has committed."""

from portal.settings import bp, services

services.register()
bp.teardown_app_request(services.forget_after_saving)
