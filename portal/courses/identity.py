"""Who the learner on this device is: the signed cookie that remembers them.

Learners never sign in with a password. Somebody opens their company's access
link, gives name and email, and is remembered by a signed cookie that names
the learner and the link. Every learner page reads the learner from that
cookie only: no learner or account id ever comes from the URL, so one
company's link cannot show another company's people or progress. Who may be
let in as which learner is decided in :func:`services.identify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import abort, current_app, g, request
from flask_babel import get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.courses import services
from portal.courses.models import CourseAccessLink, Learner, LinkStatus
from portal.web.errors import error_response
from portal.web.security import token_page_headers

LEARNER_COOKIE = "portal_learner"
LEARNER_COOKIE_PATH = "/learn"
LEARNER_COOKIE_MAX_AGE = timedelta(days=180)


@dataclass(frozen=True)
class LearnerContext:
    learner: services.LearnerView
    link: services.LinkView


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="portal.courses.learner")


def remember(response, learner: Learner, link: CourseAccessLink):
    """The signed cookie that keeps a learner identified on this device."""
    value = _serializer().dumps({"learner": learner.id, "link": link.id})
    response.set_cookie(
        LEARNER_COOKIE,
        value,
        max_age=int(LEARNER_COOKIE_MAX_AGE.total_seconds()),
        path=LEARNER_COOKIE_PATH,
        secure=current_app.config["PORTAL_HTTPS"],
        httponly=True,
        samesite="Lax",
    )
    return response


def forget(response):
    response.delete_cookie(LEARNER_COOKIE, path=LEARNER_COOKIE_PATH)
    return response


def cookie_identity() -> tuple[int, int] | None:
    """The (learner id, link id) this device's cookie names, if it is genuine and not too old."""
    raw = request.cookies.get(LEARNER_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=int(LEARNER_COOKIE_MAX_AGE.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("learner"), int) or not isinstance(data.get("link"), int):
        return None
    return data["learner"], data["link"]


def stop(status: int, message: str, token_page: bool = False):
    """End the request with an error page that says what to do next."""
    response = current_app.make_response(error_response(status, message))
    if token_page:
        token_page_headers(response)
    abort(response)


def link_gone_message(link: CourseAccessLink | services.LinkView) -> str:
    if link.status() == LinkStatus.REVOKED:
        return _("This course link has been withdrawn. Please ask your contact person for a new one.")
    return _("This course link has expired. Please ask your contact person for a new one.")


def current_learner() -> LearnerContext:
    """The learner this device is remembered as, or a clear error page:
    403 when nobody is identified here, 410 when their access link ended."""
    identity = cookie_identity()
    found = services.load_identity(*identity) if identity is not None else None
    if found is None:
        stop(403, _("Please open the course link your company received from us. If you have taken courses before, enter the same email address there."))
    learner, link = found
    g.person_locale = learner.language
    if not link.is_active:
        stop(410, link_gone_message(link))
    return LearnerContext(learner, link)


def identified_for(link: CourseAccessLink) -> Learner | None:
    """The learner remembered on this device, if they belong to the link's account."""
    identity = cookie_identity()
    learner = services.get_learner(identity[0]) if identity is not None else None
    if learner is None or learner.account_id != link.account_id:
        return None
    return learner


def page_language() -> str:
    """The language this page speaks (the learner's, once they are known)."""
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
