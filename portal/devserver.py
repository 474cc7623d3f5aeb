"""``make run``: web, worker and a local SMTP sink on one machine, for development.

The sink accepts every message on the port of PORTAL_SMTP_URL (default
127.0.0.1:8025) and keeps it as an .eml file in instance/mail/, so nothing
sent during development leaves the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

from portal import create_app
from portal.demo import demo_logins_text


class MaildirSink:
    """aiosmtpd handler: store each message as instance/mail/<time>-<n>.eml."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.count += 1
        path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.count:05d}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        subject = message_from_bytes(envelope.original_content or b"", policy=policy.default).get("Subject", "")
        print(f"[mail] to {', '.join(envelope.rcpt_tos)}: {subject} ({path.name})", flush=True)
        return "250 Message accepted for delivery"


def main() -> int:
    app = create_app()
    smtp = urlsplit(app.config["PORTAL_SMTP_URL"])
    host, port = smtp.hostname or "127.0.0.1", smtp.port or 8025
    sink = None
    if host in ("127.0.0.1", "localhost"):
        sink = Controller(MaildirSink(Path(app.instance_path) / "mail"), hostname=host, port=port)
        sink.start()

    flask = [sys.executable, "-m", "flask", "--app", "portal"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    processes = [
        subprocess.Popen([*flask, "run", "--host", "127.0.0.1", "--port", "5000", "--debug"], env=env),
        subprocess.Popen([*flask, "worker"], env=env),
    ]
    base = app.config["PORTAL_BASE_URL"]
    print(
        "\n"
        f"  Portal:     {base}/login\n"
        f"  SMTP sink:  {host}:{port}{' (mail kept in instance/mail/)' if sink else ' (external)'}\n"
        f"{_indent(demo_logins_text())}\n"
        "  Ctrl+C stops everything.\n",
        flush=True,
    )

    def stop(*_args):
        for process in processes:
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if sink:
            sink.stop()
    return max((p.returncode or 0) for p in processes)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
