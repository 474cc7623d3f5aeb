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
