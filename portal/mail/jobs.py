from portal.mail import services
from portal.worker import job


@job("send_mail")
def send_mail() -> int:
    return services.deliver_due()
