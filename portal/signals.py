"""Named signals for reactions that cross packages (DESIGN.md §4).

A package sends; others subscribe in their own module. Senders never know
who listens, so surveys need not know about follow-up tasks or reports.
"""

from blinker import Namespace

_signals = Namespace()

#: kwargs: message_ids (outbox messages the SMTP server accepted), sent_at.
message_sent = _signals.signal("message-sent")
#: kwargs: message_ids (outbox messages that failed for good).
message_failed = _signals.signal("message-failed")
#: sender: the surveys.models.Response that was created or changed; kwargs: created (bool: inserted
#: in this transaction, so nothing committed refers to it yet), survey (its surveys.models.Survey
#: definition, possibly detached from the session).
response_recorded = _signals.signal("response-recorded")
