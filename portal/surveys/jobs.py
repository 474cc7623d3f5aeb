"""What the worker runs for surveys: expiry, reminders, periodic NPS waves.

Each job calls one service, which flushes; the worker commits each job's
run as one unit of work (portal/worker.py)."""

from portal.surveys import services
from portal.worker import job


@job("expire_invitations")
def expire_invitations() -> int:
    return services.expire_invitations()


@job("survey_reminders")
def survey_reminders() -> int:
    return services.send_reminders()


@job("nps_waves")
def nps_waves() -> int:
    return services.run_nps_waves()
