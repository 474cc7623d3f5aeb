"""The README's "Sending a helpdesk event by hand" works as printed, on the demo
data, and leaves the demo as it was (issue 12.1).

The shell lines of the README (BODY, timestamp, the openssl signature) run in
bash exactly as a newcomer pastes them; only the key and secret are the ones
``integrations create`` printed, as the README says to paste them. The signed
body then goes to the intake through the test client.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.customers.models import Account, Contact
from portal.mail.models import OutboxMessage

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_event_example() -> tuple[list[str], str]:
    """The example's shell lines from NOW= to SIG=, and its curl command."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Sending a helpdesk event by hand", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("NOW="))
    end = next(i for i, line in enumerate(lines) if line.startswith("SIG="))
    curl = "\n".join(line for line in lines[end + 1 :] if not line.startswith("#"))
    return lines[start : end + 1], curl


def run_readme_lines(lines: list[str], key: str, secret: str) -> tuple[str, str, str]:
    script = "\n".join([f"KEY={key}; SECRET={secret}", *lines, 'printf "%s\\n%s\\n%s" "$TS" "$SIG" "$BODY"'])
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, timeout=30)
    timestamp, signature, body = result.stdout.split("\n", 2)
    return timestamp, signature, body


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the README's example signs with openssl")
def test_the_readme_event_example_invites_its_own_contact_and_leaves_the_demo_alone(runner, client, db):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    created = runner.invoke(args=["integrations", "create", "Helpdesk"])
    assert created.exit_code == 0, created.output
    key = re.search(r"Key id:\s+(\S+)", created.output).group(1)
    secret = re.search(r"Signing secret:\s+(\S+)", created.output).group(1)

    first_account = db.session.scalar(select(Account).order_by(Account.id).limit(1))
    before = (first_account.external_id, first_account.name, db.session.scalar(select(func.count()).select_from(Contact).where(Contact.account_id == first_account.id)))
    accounts_before = db.session.scalar(select(func.count()).select_from(Account))

    lines, curl = readme_event_example()
    timestamp, signature, body = run_readme_lines(lines, key, secret)
    assert "Portal-Signature: t=$TS,v1=$SIG" in curl and "/api/v1/events" in curl  # the headers the README sends

    response = client.post(
        "/api/v1/events",
        data=body.encode(),
        headers={"Content-Type": "application/json", "Portal-Key": key, "Portal-Signature": f"t={timestamp},v1={signature}"},
    )
    assert response.status_code < 300, response.get_data(as_text=True)
    assert response.json["outcome"] == "invited" and response.json["duplicate"] is False  # as the README's comment shows
    assert response.json["event"] == "evt-1001"

    db.session.rollback()  # see what the request committed
    db.session.refresh(first_account)
    assert (first_account.external_id, first_account.name, db.session.scalar(select(func.count()).select_from(Contact).where(Contact.account_id == first_account.id))) == before
    assert db.session.scalar(select(func.count()).select_from(Account)) == accounts_before + 1
    own = db.session.scalar(select(Account).where(Account.external_id == "CRM-README-1"))
    assert own is not None and own.name == "Beispiel Spedition GmbH"

    # "the email is queued under Outbox at once": the newcomer sees it there
    queued = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address.contains("lena.vogel@example.com"))).all()
    assert len(queued) == 1 and "/s/" in queued[0].text_body

    again = client.post(
        "/api/v1/events",
        data=body.encode(),
        headers={"Content-Type": "application/json", "Portal-Key": key, "Portal-Signature": f"t={timestamp},v1={signature}"},
    )
    assert again.json["duplicate"] is True and again.json["outcome"] == "invited"
