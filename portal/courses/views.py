"""Learner pages under /learn/... and staff pages under /staff/courses/...

Learners never sign in with a password. Somebody opens their company's access
link (/learn/<token>), gives name and email, and is remembered by a signed
cookie that names the learner and the link. Every learner page reads the
learner from that cookie only: no learner or account id ever comes from the
URL, so one company's link cannot show another company's people or progress.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, current_app, g, redirect, request, send_from_directory, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.auth.access import customer_staff_required, staff_required
from portal.auth.models import Role
from portal.courses import bp, services
from portal.courses.catalog import Course, Lesson
from portal.courses.forms import AccessLinkForm, AccountSearchForm, IdentifyForm
from portal.courses.models import CourseAccessLink, Learner, LinkStatus
from portal.customers import services as customers
from portal.extensions import db, limiter
from portal.web.errors import error_response
from portal.web.inputs import validates_own_text
from portal.web.rendering import render, see_other, wants_fragment
from portal.web.security import token_page_headers

LEARNER_COOKIE = "portal_learner"
LEARNER_COOKIE_PATH = "/learn"
LEARNER_COOKIE_MAX_AGE = timedelta(days=180)
#: Roles that may open draft courses in the preview.
DRAFT_PREVIEW_ROLES = (Role.ADMIN, Role.EDITOR)


# --- who is the learner -----------------------------------------------------------------


@dataclass(frozen=True)
class LearnerContext:
    learner: services.LearnerView
    link: services.LinkView


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="portal.courses.learner")


def _remember(response, learner: Learner, link: CourseAccessLink):
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


def _cookie_identity() -> tuple[int, int] | None:
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


def _stop(status: int, message: str, token_page: bool = False):
    response = error_response(status, message)
    response = current_app.make_response(response)
    if token_page:
        token_page_headers(response)
    abort(response)


def _link_gone_message(link: CourseAccessLink) -> str:
    if link.status() == LinkStatus.REVOKED:
        return _("This course link has been withdrawn. Please ask your contact person for a new one.")
    return _("This course link has expired. Please ask your contact person for a new one.")


def current_learner() -> LearnerContext:
    """The learner this device is remembered as, or a clear error page:
    403 when nobody is identified here, 410 when their access link ended."""
    identity = _cookie_identity()
    found = services.load_identity(*identity) if identity is not None else None
    if found is None:
        _stop(403, _("Please open the course link your company received from us. If you have taken courses before, enter the same email address there."))
    learner, link = found
    g.person_locale = learner.language
    if not link.is_active:
        _stop(410, _link_gone_message(link))
    return LearnerContext(learner, link)


def _identified_for(link: CourseAccessLink) -> Learner | None:
    """The learner remembered on this device, if they belong to the link's account."""
    identity = _cookie_identity()
    if identity is None:
        return None
    learner = db.session.get(Learner, identity[0])
    if learner is None or learner.account_id != link.account_id:
        return None
    return learner


class PageCache:
    """Rendered learner pages, per process: a learner re-reading a lesson costs
    one query instead of three and a template.

    The key holds everything such a page shows: the catalog (a new serial
    after each content reload), the learner and their ``last_active_at``
    (moved by every completion and quiz attempt, see services.touch), the
    link, the language, the session's CSRF secret (the forms carry a token
    made from it), the URL, and whether htmx asked for a fragment. Pages with
    flashed messages or for a signed-in staff member are not cached.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._pages: OrderedDict[tuple, tuple[bytes, int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, context: LearnerContext) -> tuple | None:
        csrf_secret = session.get("csrf_token")
        if csrf_secret is None or session.get("_flashes") or current_user.is_authenticated:
            return None
        return (
            request.full_path,
            wants_fragment(),
            context.learner.id,
            context.learner.last_active_at,
            context.link.id,
            _locale(),
            csrf_secret,
            services.get_catalog().serial,
        )

    def get(self, key: tuple) -> tuple[bytes, int, str] | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: tuple[bytes, int, str]) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


pages = PageCache()


def _learner_page(context: LearnerContext, build: Callable[[], object]):
    """A learner's GET page from the cache, or built and remembered."""
    key = pages.key(context)
    if key is not None and (page := pages.get(key)) is not None:
        body, status, mimetype = page
        response = current_app.response_class(body, status=status, mimetype=mimetype)
        response.vary.add("HX-Request")
        return response
    response = build()
    if key is not None and response.status_code == 200:
        pages.put(key, (response.get_data(), response.status_code, response.mimetype))
    return response


def _locale() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def _course_for(context: LearnerContext, slug: str) -> Course:
    course = services.get_catalog().course(slug)
    if course is None or not services.link_allows(context.link, course):
        abort(404)
    return course


def _lesson_of(course: Course, slug: str) -> Lesson:
    lesson = course.lesson(slug)
    if lesson is None:
        abort(404)
    return lesson


# --- the access link and signing in -------------------------------------------------------


def _unknown_token(response) -> bool:
    return response.status_code == 404


#: Guessing tokens costs: unknown ones count against PORTAL_TOKEN_LIMIT_PER_IP (shared by both routes).
token_guessing_limit = limiter.shared_limit(
    lambda: current_app.config["PORTAL_TOKEN_LIMIT_PER_IP"], scope="course-tokens", deduct_when=_unknown_token
)


@bp.route("/learn/<token>", methods=["GET", "POST"])
@validates_own_text  # the identify form says which field has characters we cannot keep
@token_guessing_limit
@limiter.limit("30 per minute", methods=["POST"], scope="course-identify")  # each may send a sign-in email
def access(token: str):
    """The access link: identify with name and email (remembered on this device)."""
    link = services.find_access_link(token)
    if link is None:
        _stop(404, _("This course link does not exist. Please check that you copied the whole address."), token_page=True)
    if not link.is_active:
        _stop(410, _link_gone_message(link), token_page=True)
    known = _identified_for(link)
    if request.method == "GET" and known is not None:
        return token_page_headers(_remember(redirect(url_for("courses.my_courses")), known, link))
    form = IdentifyForm()
    if form.validate_on_submit():
        existing = services.find_learner(link.account_id, form.email.data)
        if existing is not None and (known is None or known.id != existing.id):
            # Someone else may know a colleague's address: only a link in the mailbox lets them in.
            g.person_locale = existing.language
            sent = services.send_sign_in_link(existing)
            db.session.commit()
            return token_page_headers(render("courses/check_email.html", "check_email", email=existing.email, sent=sent))
        if existing is None:
            try:
                learner = services.create_learner(link, name=form.name.data, email=form.email.data, language=_locale())
            except services.CourseError:  # the same person, a moment earlier, in another tab
                learner = services.find_learner(link.account_id, form.email.data)
        else:
            learner = existing
        services.touch(learner, link)
        db.session.commit()
        return token_page_headers(_remember(see_other(url_for("courses.my_courses")), learner, link))
    courses = services.courses_for_link(link, _locale())
    status = 422 if form.errors else 200
    response = render("courses/access.html", "identify", status=status, form=form, account=link.account, courses=courses)
    return token_page_headers(response)


@bp.route("/learn/sign-in/<token>", methods=["GET", "POST"])
@token_guessing_limit
def sign_in(token: str):
    """A one-time link from an email. GET only shows a button (mail scanners
    open links); the POST spends the token and remembers the learner."""
    login = services.find_login_token(token)
    if login is None:
        _stop(404, _("This sign-in link does not exist. Please check that you copied the whole address."), token_page=True)
    learner = login.learner
    g.person_locale = learner.language
    state = services.login_token_state(login)
    if state != services.LoginTokenState.VALID:
        message = (
            _("This sign-in link has already been used.")
            if state == services.LoginTokenState.USED
            else _("This sign-in link has expired.")
        )
        _stop(410, message + " " + _("Open your company's course link and enter your email address to get a new one."), token_page=True)
    link = learner.access_link
    if link is None or not link.is_active:
        _stop(410, _("Your course link has ended. Please ask your contact person for a new one."), token_page=True)
    if request.method == "POST":
        if not services.use_login_token(login):
            _stop(410, _("This sign-in link has already been used."), token_page=True)
        db.session.commit()
        return token_page_headers(_remember(see_other(url_for("courses.my_courses")), learner, link))
    return token_page_headers(render("courses/sign_in.html", "sign_in", learner=learner))


@bp.post("/learn/sign-out")
def sign_out():
    response = see_other(url_for("courses.signed_out"))
    response.delete_cookie(LEARNER_COOKIE, path=LEARNER_COOKIE_PATH)
    return response


@bp.get("/learn/signed-out")
def signed_out():
    return render("courses/signed_out.html", "signed_out")


# --- learning -------------------------------------------------------------------------


@bp.get("/learn/courses/")
def my_courses():
    context = current_learner()

    def build():
        courses = services.courses_for_link(context.link, _locale())
        progress = services.progress_for(context.learner.id, courses, with_scores=False)
        return render("courses/my_courses.html", "courses", learner=context.learner, courses=courses, progress=progress)

    return _learner_page(context, build)


@bp.get("/learn/courses/<course_slug>/")
def course(course_slug: str):
    context = current_learner()
    course = _course_for(context, course_slug)

    def build():
        progress = services.progress_for(context.learner.id, [course], with_scores=False)[course.slug]
        return render("courses/course.html", "course", learner=context.learner, course=course, progress=progress, preview=False)

    return _learner_page(context, build)


def _lesson_context(context: LearnerContext, course: Course, lesson: Lesson, **extra) -> dict:
    progress = services.progress_for(context.learner.id, [course], with_scores=False)[course.slug]
    previous, following = course.neighbours(lesson)
    latest = services.latest_attempt(context.learner.id, lesson)
    return dict(
        learner=context.learner,
        course=course,
        lesson=lesson,
        progress=progress,
        state=progress.state(lesson),
        previous=previous,
        following=following,
        attempt=latest[0] if latest else None,
        result=latest[1] if latest else None,
        preview=False,
        missing=(),
        oob=False,
        **extra,
    )


@bp.get("/learn/courses/<course_slug>/lessons/<lesson_slug>")
def lesson(course_slug: str, lesson_slug: str):
    context = current_learner()
    course = _course_for(context, course_slug)
    lesson = _lesson_of(course, lesson_slug)
    return _learner_page(context, lambda: render("courses/lesson.html", "lesson", **_lesson_context(context, course, lesson)))


@bp.post("/learn/courses/<course_slug>/lessons/<lesson_slug>/complete")
def complete_lesson(course_slug: str, lesson_slug: str):
    """Mark a lesson without a quiz complete (again, after it changed). Idempotent."""
    context = current_learner()
    course = _course_for(context, course_slug)
    lesson = _lesson_of(course, lesson_slug)
    if lesson.quiz is not None:
        _stop(400, _("This lesson is completed by passing its quiz."))
    services.record_completion(context.learner, lesson, context.link)
    db.session.commit()
    page = _lesson_context(context, course, lesson)
    if wants_fragment():
        return render("courses/lesson.html", ["lesson_status", "progress"], **{**page, "oob": True})
    if page["progress"].complete:
        return see_other(url_for("courses.course_completed", course_slug=course.slug))
    return see_other(url_for("courses.lesson", course_slug=course.slug, lesson_slug=lesson.slug) + "#lesson--status")


@bp.post("/learn/courses/<course_slug>/lessons/<lesson_slug>/quiz")
def submit_quiz(course_slug: str, lesson_slug: str):
    """Score a quiz; the score is kept, and passing completes the lesson."""
    context = current_learner()
    course = _course_for(context, course_slug)
    lesson = _lesson_of(course, lesson_slug)
    if lesson.quiz is None:
        abort(404)
    answers, missing = services.parse_answers(lesson, request.form)
    if missing:
        page = _lesson_context(context, course, lesson, chosen=answers)
        page["missing"] = tuple(missing)
        page["retake"] = True
        return render("courses/lesson.html", "quiz", status=422, **page)
    services.record_quiz(context.learner, lesson, answers, context.link)
    db.session.commit()
    page = _lesson_context(context, course, lesson)
    if wants_fragment():
        return render("courses/lesson.html", ["quiz", "progress"], **{**page, "oob": True})
    return see_other(url_for("courses.lesson", course_slug=course.slug, lesson_slug=lesson.slug) + "#quiz--panel")


@bp.get("/learn/courses/<course_slug>/completed")
def course_completed(course_slug: str):
    context = current_learner()
    course = _course_for(context, course_slug)
    progress = services.progress_for(context.learner.id, [course])[course.slug]
    if not progress.complete:
        return redirect(url_for("courses.course", course_slug=course.slug))
    return render("courses/completed.html", "completed", learner=context.learner, course=course, progress=progress)


@bp.get("/learn/courses/<course_slug>/files/<name>")
def course_file(course_slug: str, name: str):
    context = current_learner()
    course = _course_for(context, course_slug)
    return _send_course_file(course, name)


def _send_course_file(course: Course, name: str):
    if name not in course.files:
        abort(404)
    response = send_from_directory(course.path, name, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# --- staff ------------------------------------------------------------------------------


@bp.get("/staff/courses/")
@staff_required
def staff_index():
    """The catalogue (with drafts and content problems for editors) and, for
    customer-facing staff, the accounts whose people take courses."""
    catalog = services.get_catalog()
    can_preview_drafts = current_user.role in DRAFT_PREVIEW_ROLES
    sees_accounts = current_user.role in Role.CUSTOMER_FACING
    form = AccountSearchForm(request.args)
    query = (form.q.data or "").strip() if form.validate() else ""
    matches = None
    if sees_accounts and query:
        matches = customers.search_accounts(current_user, customers.AccountFilters(query=query)).items
    return render(
        "courses/staff_index.html",
        "account_results",
        courses=[c for c in catalog.courses.values() if can_preview_drafts or not c.draft],
        problems=catalog.problems if can_preview_drafts else (),
        summaries=services.account_summaries(current_user) if sees_accounts else [],
        sees_accounts=sees_accounts,
        form=form,
        query=query,
        matches=matches,
    )


def _account_or_abort(account_id: int):
    account = customers.get_account(account_id)
    if account is None:
        abort(404)
    if not customers.can_view_account(current_user, account):
        abort(403)
    return account


def _link_form(formdata=None) -> AccessLinkForm:
    form = AccessLinkForm(formdata=formdata) if formdata is not None else AccessLinkForm()
    form.courses.choices = [(c.slug, f"{c.title} ({c.language})") for c in services.get_catalog().published()]
    return form


def _account_page(account, form: AccessLinkForm, status: int = 200, new_link_url: str | None = None):
    return render(
        "courses/staff_account.html",
        "links",
        status=status,
        account=account,
        links=services.access_links_for(account),
        overviews=services.account_progress(account),
        form=form,
        new_link_url=new_link_url,
        catalog=services.get_catalog(),
    )


@bp.get("/staff/courses/accounts/<int:account_id>")
@customer_staff_required
def staff_account(account_id: int):
    """Access links and every learner's progress for one account."""
    account = _account_or_abort(account_id)
    new_link = session.pop("courses_new_link", None)
    new_link_url = new_link["url"] if isinstance(new_link, dict) and new_link.get("account") == account.id else None
    response = _account_page(account, _link_form(), new_link_url=new_link_url)
    if new_link_url:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/staff/courses/accounts/<int:account_id>/links")
@customer_staff_required
def create_link(account_id: int):
    account = _account_or_abort(account_id)
    form = _link_form(request.form)
    if not form.validate():
        return _account_page(account, form, status=422)
    try:
        _link, raw = services.create_access_link(
            account,
            created_by=current_user,
            course_slugs=form.courses.data or None,
            days=form.days.data,
            reminder_days=form.reminder_days.data,
        )
    except services.CourseError as error:
        form.courses.errors = [str(error)]
        return _account_page(account, form, status=422)
    db.session.commit()
    url = services.access_url(raw)
    if wants_fragment():
        response = _account_page(account, _link_form(), new_link_url=url)
        response.headers["Cache-Control"] = "no-store"
        return response
    # Shown once on the next page; only the hash is stored.
    session["courses_new_link"] = {"account": account.id, "url": url}
    return see_other(url_for("courses.staff_account", account_id=account.id) + "#course--links")


@bp.post("/staff/courses/links/<int:link_id>/revoke")
@customer_staff_required
def revoke_link(link_id: int):
    link = db.session.get(CourseAccessLink, link_id)
    if link is None:
        abort(404)
    account = _account_or_abort(link.account_id)
    services.revoke_access_link(link)
    db.session.commit()
    if wants_fragment():
        return _account_page(account, _link_form())
    return see_other(url_for("courses.staff_account", account_id=account.id) + "#course--links")


@bp.get("/staff/courses/learners/<int:learner_id>")
@customer_staff_required
def staff_learner(learner_id: int):
    learner = db.session.get(Learner, learner_id)
    if learner is None:
        abort(404)
    account = _account_or_abort(learner.account_id)
    courses = services.courses_for_learner(learner)
    return render(
        "courses/staff_learner.html",
        "learner",
        account=account,
        learner=learner,
        progress=services.progress_for(learner.id, courses),
        history=services.completion_history(learner),
        attempts=services.quiz_attempts_of(learner),
        catalog=services.get_catalog(),
    )


def _preview_course(slug: str) -> Course:
    course = services.get_catalog().course(slug)
    if course is None:
        abort(404)
    if course.draft and current_user.role not in DRAFT_PREVIEW_ROLES:
        abort(403)
    return course


@bp.get("/staff/courses/preview/<course_slug>/")
@staff_required
def preview_course(course_slug: str):
    course = _preview_course(course_slug)
    return render("courses/course.html", "course", course=course, progress=None, preview=True)


@bp.get("/staff/courses/preview/<course_slug>/lessons/<lesson_slug>")
@staff_required
def preview_lesson(course_slug: str, lesson_slug: str):
    course = _preview_course(course_slug)
    lesson = _lesson_of(course, lesson_slug)
    previous, following = course.neighbours(lesson)
    return render(
        "courses/lesson.html",
        "lesson",
        course=course,
        lesson=lesson,
        progress=None,
        state=None,
        previous=previous,
        following=following,
        attempt=None,
        result=None,
        preview=True,
        missing=(),
        oob=False,
    )


@bp.get("/staff/courses/preview/<course_slug>/files/<name>")
@staff_required
def preview_file(course_slug: str, name: str):
    return _send_course_file(_preview_course(course_slug), name)


@bp.context_processor
def course_labels() -> dict:
    from portal.customers.models import SERVICE_TYPES

    labels = {"service_labels": SERVICE_TYPES, "link_status": LinkStatus}
    if request.path.startswith("/learn/") and _cookie_identity() is not None:
        return {**labels, "home_url": url_for("courses.my_courses")}  # the brand leads learners to their courses
    return labels
