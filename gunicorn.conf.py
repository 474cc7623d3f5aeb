"""gunicorn settings for the portal: `gunicorn -c gunicorn.conf.py 'portal:create_app()'`.

gunicorn also reads this file by itself when started from this folder.
Only checks live here; workers, threads and the bind address stay on the
command line (README, "Production").
"""

from pathlib import Path

from portal.config import read_settings
from portal.serving import rate_limit_warning

_INSTANCE = Path(__file__).resolve().parent / "instance"


def when_ready(server):
    """Before the workers start: warn loudly if the rate limits are not shared."""
    warning = rate_limit_warning(read_settings(_INSTANCE), server.cfg.workers)
    if warning:
        banner = "!" * 78
        server.log.warning("\n%s\n%s\n%s", banner, warning, banner)
