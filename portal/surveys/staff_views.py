"""The survey editor under /staff/surveys: admins edit, managers read.

One page per survey (surveys/staff/survey.html) with a block per part:
``status`` (header, activation, warnings), ``settings``, ``email``,
``questions`` and the two previews. Each change posts to its own URL; a
plain form is redirected back (303), htmx gets the changed block plus the
other blocks it affects as out-of-band swaps. Every form goes through
:func:`_submit`; the request commits what succeeded and rolls back a 4xx
(portal/web/transaction.py). What the page shows comes from definitions.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Response, abort, current_app, flash, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from markupsafe import Markup, escape

from portal.auth.access import admin_required, roles_required
from portal.auth.models import Role
from portal.customers.models import SERVICE_TYPES, TICKET_CATEGORIES
from portal.surveys import bp, definitions, emails
from portal.surveys.definitions import DefinitionError
from portal.surveys.forms import EmailTemplateForm, NewSurveyForm, QuestionForm, SettingsForm
from portal.surveys.models import QuestionType, SurveyKind
from portal.surveys.services import localized
from portal.web.i18n import lazy_gettext as _l
from portal.web.inputs import parse_int
from portal.web.rendering import render, see_other, wants_fragment

T = TypeVar("T")
TEMPLATE = "surveys/staff/survey.html"
survey_readers = roles_required(Role.ADMIN, Role.MANAGER)

CATEGORY_LABELS = {
    "promoter": _l("Promoters (9–10)"),
    "passive": _l("Passives (7–8)"),
    "detractor": _l("Detractors (0–6)"),
}
#: The blocks a question change also updates (the previews follow the questions).
AFTER_QUESTION_CHANGE = ("status", "page_preview", "email_preview")

EMAIL_PREVIEW_CSP = "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'"



def _can_edit() -> bool:
    return current_user.role == Role.ADMIN


def _load(survey_id: int):
    return definitions.get_survey(survey_id) or abort(404)


def _load_question(survey_id: int, question_id: int):
    survey = _load(survey_id)
    return survey, definitions.get_question(survey, question_id) or abort(404)


@dataclass(frozen=True)
class Notice:
    block: str
    text: str
    error: bool = False


def _apply_errors(form, error: DefinitionError) -> None:
    """Put the domain's messages on the form's fields; the rest on the form."""
    for name, messages in error.errors.items():
        field = form._fields.get(name) if name else None
        if field is not None and field.type not in ("HiddenField", "CSRFTokenField"):
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors = [*form.form_errors, *messages]


def _submit(form, change: Callable[[], T], saved: Callable[[T], Response], invalid: Callable[[], Response]) -> Response:
    """Every editor form: validate, make the ``change`` through definitions,
    answer ``saved(result)``; or put the errors on the form and answer
    ``invalid()`` (a 422). The request commits the first and rolls back the
    second; definitions validate before they assign, so the form with errors
    is shown next to the survey as it was."""
    if form.validate():
        try:
            result = change()
        except DefinitionError as error:
            _apply_errors(form, error)
        else:
            return saved(result)
    return invalid()


# --- the list and new surveys ----------------------------------------------------------------


def _index(form: NewSurveyForm | None = None, status: int = 200):
    if _can_edit() and form is None:
        form = NewSurveyForm()
    return render(
        "surveys/staff/index.html",
        "surveys",
        status=status,
        summaries=definitions.list_surveys(),
        form=form if _can_edit() else None,
        can_edit=_can_edit(),
    )


@bp.get("/staff/surveys/")
@survey_readers
def index():
    return _index()


@bp.post("/staff/surveys/")
@admin_required
def create_survey():
    form = NewSurveyForm()
    return _submit(
        form,
        lambda: definitions.create_survey(form.kind.data, name=form.name.data or "", from_defaults=form.start.data == "defaults"),
        saved=_created,
        invalid=lambda: _index(form, status=422),
    )


def _created(survey) -> Response:
    flash(_("The survey has been created. It stays inactive until you activate it."), "success")
    return see_other(url_for("surveys.definition", survey_id=survey.id))


# --- the editor page ---------------------------------------------------------------------------


def _editor(survey, blocks="questions", *, status=200, oob=(), notice: Notice | None = None, position=None, **forms):
    """The editor page, or for htmx the given block(s), with every part's state.

    ``forms`` are the editing forms as submitted (``settings_form``,
    ``email_form``, ``question_form``) and which question form is open
    (``adding`` a type, ``editing`` a question id); see :func:`_forms`.
    The previews' choices (``page_language``, ``step``, ``category``,
    ``email_language``) come from the query string of their GET forms, or
    for htmx from the preview controls every editor request includes, so
    the previews stay as the user left them.
    """
    args = request.values
    step = position if position is not None else parse_int(args.get("step"))
    state = definitions.editor_state(survey, args.get("page_language"), step, args.get("category", "detractor"), args.get("email_language"))
    return render(
        TEMPLATE,
        blocks,
        status=status,
        survey=survey,
        can_edit=_can_edit(),
        **_forms(survey, **forms),
        invitations=state.invitations,
        answered=state.answered,
        warnings=state.warnings,
        problems=state.problems,
        page=state.page,
        step_html=_step_html(survey, state.page),
        email=state.email,
        email_problem=state.email_problem,
        email_language=state.email_language,
        has_follow_up=state.has_follow_up,
        oob=oob,
        notice=notice,
        QuestionType=QuestionType,
        SurveyKind=SurveyKind,
        category_labels=CATEGORY_LABELS,
        ticket_categories=TICKET_CATEGORIES,
        service_types=SERVICE_TYPES,
        placeholders=list(emails.PLACEHOLDERS),
        sample_name=emails.PLACEHOLDERS["contact.name"],
        localized=localized,
    )


def _forms(survey, settings_form=None, email_form=None, question_form=None, adding=None, editing=None) -> dict:
    """The editing forms (none for a reader): the one submitted with its
    errors, the others filled from the survey, and a question form for the
    type being added or the question being edited, if it exists."""
    if not _can_edit():
        return dict.fromkeys(("settings_form", "email_form", "question_form", "adding", "editing"))
    if question_form is None and adding:
        question_form = QuestionForm.blank(adding, prefix="new")
    if question_form is None and editing:
        question = definitions.get_question(survey, editing)
        question_form = QuestionForm.for_question(question, prefix=f"q{question.id}") if question else None
        editing = editing if question else None
    return {
        "settings_form": settings_form or SettingsForm.for_survey(survey),
        "email_form": email_form or EmailTemplateForm.for_survey(survey),
        "question_form": question_form,
        "adding": adding,
        "editing": editing,
    }


def _step_html(survey, page: definitions.PagePreview) -> Markup:
    """The public survey page's own step markup (surveys/survey.html), for a
    question of this survey in the preview language, without an invitation."""
    with force_locale(page.language):
        html = render_block(
            "surveys/survey.html",
            "step",
            survey=survey,
            token="preview",
            question=page.question,
            question_text=page.question_text,
            position=page.position,
            total=page.total,
            selected=[],
            error=None,
            finished=page.finished,
            thank_you=page.thank_you,
            QuestionType=QuestionType,
            language=page.language,
            localized=localized,
        )
    return Markup(html)  # our own autoescaped template; staff texts went through the Markdown sanitizer


def _saved(survey, block: str, message: str, oob: tuple = (), position: int | None = None):
    """After a change: htmx gets the block and what else changed; a plain form is redirected."""
    if wants_fragment():
        return _editor(survey, [block, *oob], oob=oob, notice=Notice(block, message), position=position)
    flash(message, "success")
    return see_other(url_for("surveys.definition", survey_id=survey.id, step=position) + f"#survey-{block}")


def _question_saved(survey, message: str, position: int | None = None):
    """After a question change: the list, and the status and previews it affects."""
    return _saved(survey, "questions", message, AFTER_QUESTION_CHANGE, position=position)


def _refused(survey, block: str, error: DefinitionError, status: int = 409):
    """A change definitions refused: the block with why (the request rolls back)."""
    return _editor(survey, block, status=status, notice=Notice(block, str(error), error=True))


@bp.get("/staff/surveys/<int:survey_id>")
@survey_readers
def definition(survey_id: int):
    """The survey page; ``?add=<type>`` or ``?edit=<question id>`` opens a
    question form in the list (for htmx: the questions block)."""
    survey = _load(survey_id)
    adding = request.args.get("add") if _can_edit() else None
    if adding is not None and adding not in QuestionType.ALL:
        adding = None
    editing = parse_int(request.args.get("edit")) if _can_edit() else None
    return _editor(survey, "questions", adding=adding, editing=editing)


@bp.post("/staff/surveys/<int:survey_id>/settings")
@admin_required
def update_settings(survey_id: int):
    survey = _load(survey_id)
    form = SettingsForm.for_survey(survey, formdata=request.form)
    return _submit(
        form,
        lambda: definitions.update_settings(survey, form.settings()),
        saved=lambda _none: _saved(survey, "settings", _("The settings have been saved."), oob=("status", "page_preview")),
        invalid=lambda: _editor(survey, "settings", status=422, settings_form=form),
    )


@bp.post("/staff/surveys/<int:survey_id>/email")
@admin_required
def update_email_template(survey_id: int):
    survey = _load(survey_id)
    form = EmailTemplateForm.for_survey(survey, formdata=request.form)
    return _submit(
        form,
        lambda: definitions.update_email_template(survey, *form.templates()),
        saved=lambda _none: _saved(survey, "email", _("The invitation email has been saved."), oob=("status", "email_preview")),
        invalid=lambda: _editor(survey, "email", status=422, email_form=form),
    )


@bp.post("/staff/surveys/<int:survey_id>/active")
@admin_required
def set_active(survey_id: int):
    survey = _load(survey_id)
    value = request.form.get("active")
    if value not in ("0", "1"):
        abort(400)
    try:
        definitions.set_active(survey, value == "1")
    except DefinitionError as error:
        return _refused(survey, "status", error)
    message = _("The survey is active.") if survey.active else _("The survey is inactive: it sends no more invitations.")
    return _saved(survey, "status", message)


@bp.post("/staff/surveys/<int:survey_id>/delete")
@admin_required
def delete_survey(survey_id: int):
    survey = _load(survey_id)
    name = survey.name
    try:
        definitions.delete_survey(survey)
    except DefinitionError as error:
        return _refused(survey, "status", error)
    flash(_("The survey “%(name)s” has been deleted.", name=name), "success")
    if wants_fragment():  # the page is gone: htmx navigates to the list
        response = current_app.make_response(("", 204))
        response.headers["HX-Redirect"] = url_for("surveys.index")
        return response
    return see_other(url_for("surveys.index"))


# --- questions -------------------------------------------------------------------------------


@bp.post("/staff/surveys/<int:survey_id>/questions")
@admin_required
def add_question(survey_id: int):
    survey = _load(survey_id)
    form = QuestionForm(prefix="new")
    type_ = form.type.data
    if type_ not in QuestionType.ALL:
        return _editor(survey, "questions", status=422, notice=Notice("questions", _("Choose a type of question."), error=True))
    return _submit(
        form,
        lambda: definitions.add_question(survey, form.question_input(type_)),
        saved=lambda question: _question_saved(survey, _("Question %(n)d has been added.", n=question.position), question.position),
        invalid=lambda: _editor(survey, "questions", status=422, question_form=form, adding=type_),
    )


@bp.post("/staff/surveys/<int:survey_id>/questions/<int:question_id>")
@admin_required
def update_question(survey_id: int, question_id: int):
    survey, question = _load_question(survey_id, question_id)
    form = QuestionForm(prefix=f"q{question.id}")
    return _submit(
        form,
        lambda: definitions.update_question(question, form.question_input(question.type)),
        saved=lambda _none: _question_saved(survey, _("Question %(n)d has been saved.", n=question.position), question.position),
        invalid=lambda: _editor(survey, "questions", status=422, question_form=form, editing=question_id),
    )


@bp.post("/staff/surveys/<int:survey_id>/questions/<int:question_id>/delete")
@admin_required
def remove_question(survey_id: int, question_id: int):
    survey, question = _load_question(survey_id, question_id)
    position = question.position
    try:
        definitions.remove_question(question)
    except DefinitionError as error:
        return _refused(survey, "questions", error)
    return _question_saved(survey, _("Question %(n)d has been removed.", n=position))


@bp.post("/staff/surveys/<int:survey_id>/questions/<int:question_id>/move")
@admin_required
def move_question(survey_id: int, question_id: int):
    """``direction`` up or down by one, or ``position`` to move to."""
    survey, question = _load_question(survey_id, question_id)
    direction = request.form.get("direction")
    if direction in ("up", "down"):
        target = question.position + (-1 if direction == "up" else 1)
    elif (target := parse_int(request.form.get("position"))) is None:
        abort(400)
    definitions.move_question(question, target)
    return _question_saved(survey, _("The question is now number %(n)d.", n=question.position), question.position)


# --- previews --------------------------------------------------------------------------------


@bp.get("/staff/surveys/<int:survey_id>/preview/page")
@survey_readers
def preview_survey_page(survey_id: int):
    """One step of the public survey page (``step``, ``page_language``,
    ``category`` for the NPS follow-up's wording)."""
    return _editor(_load(survey_id), "page_preview")


@bp.get("/staff/surveys/<int:survey_id>/preview/email")
@survey_readers
def preview_email(survey_id: int):
    """Subject, plain text and a frame with the HTML (``email_language``)."""
    return _editor(_load(survey_id), "email_preview")


@bp.get("/staff/surveys/<int:survey_id>/preview/email.html")
@survey_readers
def preview_email_html(survey_id: int):
    """The invitation's HTML with sample values, for the sandboxed frame of the email preview."""
    survey = _load(survey_id)
    email, problem = definitions.email_preview_or_problem(survey, definitions.language_or_german(request.args.get("email_language")))
    body = email.html if email is not None else f"<!doctype html><p>{escape(problem)}</p>"
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = EMAIL_PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
