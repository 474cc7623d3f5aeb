"""What integrations adds to other packages: the events an account sent, on its page.

Registered here rather than asked for by customers, because the event intake
builds on customers' upserts: the dependency runs one way only.
"""

from portal.customers import services as customers
from portal.integrations import services

customers.TIMELINE_SOURCES.append(services.account_events)
