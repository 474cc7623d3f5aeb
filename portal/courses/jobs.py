"""Worker jobs of the courses package."""

from portal.courses import services
from portal.worker import job


@job("course_reminders")
def course_reminders() -> int:
    """Remind learners who stalled (links with reminders on), once per pause."""
    return services.send_reminders()
