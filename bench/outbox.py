"""Outbox delivery to a local SMTP sink against raw smtplib to the same sink.

Target (issue 8): the worker's messages/s >= 70% of raw smtplib, with each
message's outcome committed before the next message is handed over (so a
crash repeats at most one message).

    .venv/bin/python bench/outbox.py [--messages N]
"""

from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, ROOT, bench_env, database_name, flask, free_port, fresh_database, record  # noqa: E402

SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller

class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.read()
controller.stop()
"""


def start_sink(port: int) -> subprocess.Popen:
    sink = subprocess.Popen([PYTHON, "-c", SINK, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    return sink


def sample(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "portal@example.net"
    message["To"] = f"kunde{n}@customer.example"
    message["Subject"] = "Würden Sie uns weiterempfehlen?"
    message.set_content("Guten Tag,\n\nwie wahrscheinlich ist es ... " * 20)
    message.add_alternative("<p>Guten Tag,</p>" + "<p>wie wahrscheinlich ist es ...</p>" * 20, subtype="html")
    return message


OUTBOX_ENV: dict[str, str] = {}


def raw_smtplib(port: int, count: int) -> float:
    messages = [sample(n) for n in range(count)]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for message in messages:
            smtp.send_message(message)
    return count / (time.perf_counter() - started)


def outbox(port: int, count: int) -> float:
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        env = bench_env(fresh_database(f"{tmp}/bench.db"), PORTAL_SMTP_URL=f"smtp://127.0.0.1:{port}")
        OUTBOX_ENV.update(env)
        flask(env, "db", "upgrade")
        os.environ.update(env)
        from portal import create_app
        from portal.extensions import db, write_intent
        from portal.mail import services as mail

        app = create_app()
        with app.app_context():
            write_intent.set(True)
            for n in range(count):
                message = sample(n)
                mail.enqueue(
                    to=message["To"],
                    subject=message["Subject"],
                    text=message.get_body(("plain",)).get_content(),
                    html=message.get_body(("html",)).get_content(),
                    kind="bench",
                    locale="de",
                )
            db.session.commit()
            started = time.perf_counter()
            sent = 0
            while sent < count:
                done = mail.deliver_due()
                if not done:
                    break
                sent += done
            elapsed = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()  # the next round drops and recreates a PostgreSQL database
        assert sent == count, f"only {sent} of {count} sent"
        return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="raw and outbox runs alternate this many times; their medians are compared")
    args = parser.parse_args()
    port = free_port()
    sink = start_sink(port)
    baselines, workers = [], []
    try:
        raw_smtplib(port, 100)  # warm up the sink
        for _ in range(args.rounds):
            baselines.append(raw_smtplib(port, args.messages))
            workers.append(outbox(port, args.messages))
    finally:
        sink.stdin.close()
        sink.wait(timeout=10)
    baseline, worker = statistics.median(baselines), statistics.median(workers)
    record(
        "outbox",
        {"raw_smtplib": {"msg_s": round(baseline, 1)}, "outbox_worker": {"msg_s": round(worker, 1), "ratio": round(worker / baseline, 4)}},
        OUTBOX_ENV,
    )
    print(f"{args.messages} multipart messages to a local aiosmtpd sink (separate process), {database_name()}, median of {args.rounds} alternating rounds")
    print(f"raw smtplib, one connection              {baseline:8.1f} msg/s  100.0%")
    print(f"outbox worker (claim, send, record each) {worker:8.1f} msg/s  {worker / baseline:6.1%} of raw smtplib (target >= 70%)")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
