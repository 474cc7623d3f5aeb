"""Staff pages under /staff/courses/...: the catalogue, access links and
learners' progress per account, and a preview of every course.

Access links are made and revoked here; their URL is shown once (only the
token's hash is stored), so it travels to the next page in the session.
"""

from __future__ import annotations

from flask import abort, request, session, url_for
from flask_login import current_user

from portal.auth.access import customer_staff_required, staff_required
from portal.courses import bp, overviews, services
from portal.courses.catalog import Course
from portal.courses.forms import AccessLinkForm, AccountSearchForm
from portal.courses.views import lesson_of, lesson_page, send_course_file
from portal.customers import services as customers
from portal.web.rendering import render, see_other, wants_fragment

NEW_LINK_KEY = "courses_new_link"


def _account_or_abort(account_id: int):
    """The account, or 404: also one outside an account manager's portfolio."""
    return customers.get_account_for(current_user, account_id) or abort(404)


def _with_account(record):
    """A link or learner and its account, if this staff member may see that account."""
    if record is None:
        abort(404)
    return record, _account_or_abort(record.account_id)


def _link_form(formdata=None) -> AccessLinkForm:
    form = AccessLinkForm(formdata=formdata) if formdata is not None else AccessLinkForm()
    form.courses.choices = [(c.slug, f"{c.title} ({c.language})") for c in services.get_catalog().published()]
    return form


def _account_page(account, form: AccessLinkForm, status: int = 200, new_link_url: str | None = None):
    """The account's links block (the whole page without htmx); a page that
    shows a new link's URL is never stored by the browser."""
    overview = overviews.account_courses(account)
    response = render("courses/staff_account.html", "links", status=status, account=account, overview=overview, form=form, new_link_url=new_link_url)
    if new_link_url:
        response.headers["Cache-Control"] = "no-store"
    return response


def _links_of(account) -> str:
    return url_for("courses.staff_account", account_id=account.id) + "#course--links"


def _new_link_url(account, form: AccessLinkForm) -> str | None:
    """The URL of a new access link from the form, or None with the reason on the form."""
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
        return None
    return services.access_url(raw)


def _shown_once(account) -> str | None:
    """The URL of the link just made for this account, taken out of the session."""
    new_link = session.pop(NEW_LINK_KEY, None)
    return new_link["url"] if isinstance(new_link, dict) and new_link.get("account") == account.id else None


def _preview_course(slug: str) -> Course:
    course = services.get_catalog().course(slug)
    if course is None:
        abort(404)
    if course.draft and not overviews.can_preview_drafts(current_user):
        abort(403)
    return course


@bp.get("/staff/courses/")
@staff_required
def staff_index():
    """The catalogue (with drafts and content problems for editors) and, for
    customer-facing staff, the accounts whose people take courses."""
    form = AccountSearchForm(request.args)
    query = (form.q.data or "").strip() if form.validate() else ""
    index = overviews.staff_catalog(current_user, query)
    return render("courses/staff_index.html", "account_results", index=index, form=form, query=query)


@bp.get("/staff/courses/accounts/<int:account_id>")
@customer_staff_required
def staff_account(account_id: int):
    """Access links and every learner's progress for one account."""
    account = _account_or_abort(account_id)
    return _account_page(account, _link_form(), new_link_url=_shown_once(account))


@bp.post("/staff/courses/accounts/<int:account_id>/links")
@customer_staff_required
def create_link(account_id: int):
    account = _account_or_abort(account_id)
    form = _link_form(request.form)
    url = _new_link_url(account, form) if form.validate() else None
    if url is None:
        return _account_page(account, form, status=422)
    if wants_fragment():
        return _account_page(account, _link_form(), new_link_url=url)
    session[NEW_LINK_KEY] = {"account": account.id, "url": url}  # shown once on the next page
    return see_other(_links_of(account))


@bp.post("/staff/courses/links/<int:link_id>/revoke")
@customer_staff_required
def revoke_link(link_id: int):
    link, account = _with_account(services.get_access_link(link_id))
    services.revoke_access_link(link)
    if wants_fragment():
        return _account_page(account, _link_form())
    return see_other(_links_of(account))


@bp.get("/staff/courses/learners/<int:learner_id>")
@customer_staff_required
def staff_learner(learner_id: int):
    learner, account = _with_account(services.get_learner(learner_id))
    return render("courses/staff_learner.html", "learner", account=account, learner=learner, report=overviews.learner_report(learner))


@bp.get("/staff/courses/preview/<course_slug>/")
@staff_required
def preview_course(course_slug: str):
    course = _preview_course(course_slug)
    return render("courses/course.html", "course", course=course, progress=None, preview=True)


@bp.get("/staff/courses/preview/<course_slug>/lessons/<lesson_slug>")
@staff_required
def preview_lesson(course_slug: str, lesson_slug: str):
    course = _preview_course(course_slug)
    return render("courses/lesson.html", "lesson", **lesson_page(course, lesson_of(course, lesson_slug)))


@bp.get("/staff/courses/preview/<course_slug>/files/<name>")
@staff_required
def preview_file(course_slug: str, name: str):
    return send_course_file(_preview_course(course_slug), name)
