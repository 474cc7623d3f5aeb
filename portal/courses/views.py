"""Learner pages under /learn/...: the access link, signing in, courses, lessons, quizzes.

Who the learner is comes from identity.py (a signed cookie, never the URL);
staff pages are in staff_views.py.
"""

from __future__ import annotations

from flask import abort, current_app, g, redirect, request, send_from_directory, url_for
from flask_babel import gettext as _

from portal.courses import bp, services
from portal.courses.catalog import Course, Lesson
from portal.courses.forms import IdentifyForm
from portal.courses.identity import (
    LearnerContext,
    cookie_identity,
    current_learner,
    forget,
    identified_for,
    link_gone_message,
    page_language,
    remember,
    stop,
)
from portal.courses.models import (
    CourseAccessLink,
    Learner,
    LearnerLoginToken,
    LinkStatus,
)
from portal.courses.page_cache import learner_page
from portal.extensions import limiter
from portal.web.inputs import validates_own_text
from portal.web.rendering import render, see_other, wants_fragment
from portal.web.security import token_page_headers
from portal.web.transaction import run_in_transaction

LESSON_PAGE = "courses/lesson.html"


def lesson_of(course: Course, slug: str) -> Lesson:
    lesson = course.lesson(slug)
    if lesson is None:
        abort(404)
    return lesson


def lesson_page(course: Course, lesson: Lesson, **learner_values) -> dict:
    """What lesson.html needs; a staff preview has no learner, progress or attempts."""
    previous, following = course.neighbours(lesson)
    page = {"course": course, "lesson": lesson, "previous": previous, "following": following, "preview": True}
    page.update({"progress": None, "state": None, "attempt": None, "result": None, "missing": (), "oob": False})
    return {**page, **learner_values}


def send_course_file(course: Course, name: str):
    if name not in course.files:
        abort(404)
    response = send_from_directory(course.path, name, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _course_for(context: LearnerContext, slug: str) -> Course:
    course = services.get_catalog().course(slug)
    if course is None or not services.link_allows(context.link, course):
        abort(404)
    return course


def _lesson_for(context: LearnerContext, course_slug: str, lesson_slug: str) -> tuple[Course, Lesson]:
    course = _course_for(context, course_slug)
    return course, lesson_of(course, lesson_slug)


def _learner_lesson_page(context: LearnerContext, course: Course, lesson: Lesson, **extra) -> dict:
    progress = services.progress_for(context.learner.id, [course], with_scores=False)[course.slug]
    latest = services.latest_attempt(context.learner.id, lesson)
    attempt, result = latest if latest else (None, None)
    learner_values = {"learner": context.learner, "progress": progress, "state": progress.state(lesson), "attempt": attempt, "result": result}
    return lesson_page(course, lesson, **learner_values, preview=False, **extra)


def _lesson_url(lesson: Lesson, anchor: str) -> str:
    return url_for("courses.lesson", course_slug=lesson.course_slug, lesson_slug=lesson.slug) + anchor


# --- the access link and signing in -------------------------------------------------------


def _unknown_token(response) -> bool:
    return response.status_code == 404


#: Guessing tokens costs: unknown ones count against PORTAL_TOKEN_LIMIT_PER_IP (shared by both routes).
token_guessing_limit = limiter.shared_limit(
    lambda: current_app.config["PORTAL_TOKEN_LIMIT_PER_IP"], scope="course-tokens", deduct_when=_unknown_token
)


def _open_link(token: str) -> CourseAccessLink:
    link = services.find_access_link(token)
    if link is None:
        stop(404, _("This course link does not exist. Please check that you copied the whole address."), token_page=True)
    if not link.is_active:
        stop(410, link_gone_message(link), token_page=True)
    return link


@bp.route("/learn/<token>", methods=["GET", "POST"])
@validates_own_text  # the identify form says which field has characters we cannot keep
@token_guessing_limit
@limiter.limit("30 per minute", methods=["POST"], scope="course-identify")  # each may send a sign-in email
def access(token: str):
    """The access link: identify with name and email (remembered on this device)."""
    link = _open_link(token)
    known = identified_for(link)
    if request.method == "GET" and known is not None:
        return token_page_headers(remember(redirect(url_for("courses.my_courses")), known, link))
    form = IdentifyForm()
    if form.validate_on_submit():
        return token_page_headers(_identify(link, form, known))
    courses = services.courses_for_link(link, page_language())
    status = 422 if form.errors else 200
    return token_page_headers(render("courses/access.html", "identify", status=status, form=form, account=link.account, courses=courses))


def _identify(link: CourseAccessLink, form: IdentifyForm, known: Learner | None):
    """In, and remembered; or, for a colleague's address, told to check that mailbox."""
    name, email, language = form.name.data, form.email.data, page_language()
    outcome = run_in_transaction(lambda: services.identify(link, name=name, email=email, language=language, remembered=known))
    if not outcome.let_in:
        g.person_locale = outcome.learner.language
        return render("courses/check_email.html", "check_email", email=outcome.learner.email, sent=outcome.sent)
    return remember(see_other(url_for("courses.my_courses")), outcome.learner, link)


def _usable_login(token: str) -> LearnerLoginToken:
    """The one-time sign-in token, or a page that says why it no longer works."""
    login = services.find_login_token(token)
    if login is None:
        stop(404, _("This sign-in link does not exist. Please check that you copied the whole address."), token_page=True)
    g.person_locale = login.learner.language
    state = services.login_token_state(login)
    if state != services.LoginTokenState.VALID:
        used = state == services.LoginTokenState.USED
        message = _("This sign-in link has already been used.") if used else _("This sign-in link has expired.")
        stop(410, message + " " + _("Open your company's course link and enter your email address to get a new one."), token_page=True)
    link = login.learner.access_link
    if link is None or not link.is_active:
        stop(410, _("Your course link has ended. Please ask your contact person for a new one."), token_page=True)
    return login


@bp.route("/learn/sign-in/<token>", methods=["GET", "POST"])
@token_guessing_limit
def sign_in(token: str):
    """A one-time link from an email. GET only shows a button (mail scanners
    open links); the POST spends the token and remembers the learner."""
    login = _usable_login(token)
    learner = login.learner
    if request.method != "POST":
        return token_page_headers(render("courses/sign_in.html", "sign_in", learner=learner))
    if not services.use_login_token(login):
        stop(410, _("This sign-in link has already been used."), token_page=True)
    return token_page_headers(remember(see_other(url_for("courses.my_courses")), learner, learner.access_link))


@bp.post("/learn/sign-out")
def sign_out():
    return forget(see_other(url_for("courses.signed_out")))


@bp.get("/learn/signed-out")
def signed_out():
    return render("courses/signed_out.html", "signed_out")


# --- learning -------------------------------------------------------------------------


@bp.get("/learn/courses/")
def my_courses():
    context = current_learner()

    def build():
        courses = services.courses_for_link(context.link, page_language())
        progress = services.progress_for(context.learner.id, courses, with_scores=False)
        return render("courses/my_courses.html", "courses", learner=context.learner, courses=courses, progress=progress)

    return learner_page(context, build)


@bp.get("/learn/courses/<course_slug>/")
def course(course_slug: str):
    context = current_learner()
    course = _course_for(context, course_slug)

    def build():
        progress = services.progress_for(context.learner.id, [course], with_scores=False)[course.slug]
        return render("courses/course.html", "course", learner=context.learner, course=course, progress=progress, preview=False)

    return learner_page(context, build)


@bp.get("/learn/courses/<course_slug>/lessons/<lesson_slug>")
def lesson(course_slug: str, lesson_slug: str):
    context = current_learner()
    course, lesson = _lesson_for(context, course_slug, lesson_slug)
    return learner_page(context, lambda: render(LESSON_PAGE, "lesson", **_learner_lesson_page(context, course, lesson)))


@bp.post("/learn/courses/<course_slug>/lessons/<lesson_slug>/complete")
def complete_lesson(course_slug: str, lesson_slug: str):
    """Mark a lesson without a quiz complete (again, after it changed). Idempotent."""
    context = current_learner()
    course, lesson = _lesson_for(context, course_slug, lesson_slug)
    if lesson.quiz is not None:
        stop(400, _("This lesson is completed by passing its quiz."))
    services.record_completion(context.learner, lesson, context.link)
    page = _learner_lesson_page(context, course, lesson, oob=True)
    if wants_fragment():
        return render(LESSON_PAGE, ["lesson_status", "progress", "lesson_nav"], **page)
    if page["progress"].complete:
        return see_other(url_for("courses.course_completed", course_slug=course.slug))
    return see_other(_lesson_url(lesson, "#lesson--status"))


@bp.post("/learn/courses/<course_slug>/lessons/<lesson_slug>/quiz")
def submit_quiz(course_slug: str, lesson_slug: str):
    """Score a quiz; the score is kept, and passing completes the lesson."""
    context = current_learner()
    course, lesson = _lesson_for(context, course_slug, lesson_slug)
    if lesson.quiz is None:
        abort(404)
    answers, missing = services.parse_answers(lesson, request.form)
    if missing:
        page = _learner_lesson_page(context, course, lesson, chosen=answers, missing=tuple(missing), retake=True)
        return render(LESSON_PAGE, "quiz", status=422, **page)
    services.record_quiz(context.learner, lesson, answers, context.link)
    if wants_fragment():
        return render(LESSON_PAGE, ["quiz", "progress"], **_learner_lesson_page(context, course, lesson, oob=True))
    return see_other(_lesson_url(lesson, "#quiz--panel"))


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
    return send_course_file(_course_for(context, course_slug), name)


@bp.context_processor
def course_labels() -> dict:
    from portal.customers.models import SERVICE_TYPES

    labels = {"service_labels": SERVICE_TYPES, "link_status": LinkStatus}
    if request.path.startswith("/learn/") and cookie_identity() is not None:
        return {**labels, "home_url": url_for("courses.my_courses")}  # the brand leads learners to their courses
    return labels
