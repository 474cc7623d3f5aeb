"""/staff/outbox: every message the portal sent or will send (admins only)."""

from __future__ import annotations

from flask import Response, abort, flash, request, url_for
from flask_babel import gettext as _

from portal.auth.access import admin_required
from portal.extensions import db
from portal.mail import bp, services
from portal.mail.models import MessageStatus, OutboxMessage
from portal.web.inputs import parse_int
from portal.web.rendering import render, see_other, wants_fragment


@bp.get("/")
@admin_required
def outbox():
    status = request.args.get("status", "")
    if status and status not in MessageStatus.ALL:
        abort(400)
    page_number = parse_int(request.args.get("page"), 1)
    page = services.list_messages(status or None, page_number)
    return render("mail/outbox.html", "messages", page=page, selected_status=status, statuses=MessageStatus.LABELS)


@bp.get("/<int:message_id>")
@admin_required
def message(message_id: int):
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    return render("mail/message.html", "message_status", message=message)


@bp.get("/<int:message_id>/html")
@admin_required
def message_html(message_id: int):
    """The HTML body, shown in a sandboxed frame on the message page."""
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    response = Response(message.html_body or "", mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.post("/<int:message_id>/resend")
@admin_required
def resend(message_id: int):
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    if services.resend(message):
        notice = _("The message is queued again.")
    else:
        notice = _("Only failed messages can be sent again.")
    if wants_fragment():
        return render("mail/message.html", "message_status", message=message, notice=notice)
    flash(notice, "info")
    return see_other(url_for("mail.message", message_id=message.id))
