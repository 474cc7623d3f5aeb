"""The public survey pages (/s/<token>) and the opt-out pages (/u/<token>).

GET only displays: a score from the email's 0–10 links is preselected, never
saved, because mail scanners fetch links. Each answer is a POST; htmx swaps
the next step in place, a plain form posts and is redirected.
"""

from __future__ import annotations

from flask import abort, g, request, url_for

from portal.extensions import csrf, db
from portal.surveys import bp, services
from portal.surveys.models import QuestionType
from portal.web import guessing
from portal.web.errors import error_response
from portal.web.inputs import parse_int, validates_own_text
from portal.web.rendering import render, see_other, wants_fragment
from portal.web.security import token_page_headers



@bp.after_request
def no_referrer_no_cache(response):
    if request.endpoint in PUBLIC_ENDPOINTS:
        token_page_headers(response)
    return response


PUBLIC_ENDPOINTS = ("surveys.survey_page", "surveys.answer", "surveys.unsubscribe")


@bp.before_request
def refuse_guessers():
    if request.endpoint in PUBLIC_ENDPOINTS:
        guessing.refuse_blocked_address()


def _load(token: str) -> services.LinkState:
    link = services.find_link(token)
    if link is None:
        guessing.count_miss()
        abort(404)
    g.person_locale = link.language
    return link


@bp.get("/s/<token>")
def survey_page(token: str):
    link = _load(token)
    if link.is_expired():
        return error_response(410)
    survey = services.survey_definition(link.survey_id, link.survey_updated_at)
    if link.is_finished:
        return _render_thanks(link, survey, token)
    return _render_step(link, survey, token, _requested_question(survey), preselect=request.args.get("score"))


@bp.post("/s/<token>")
@csrf.exempt  # the secret token in the URL authorises the answer
@validates_own_text  # parse_answer drops NUL from answers; question and lang are matched against known values
def answer(token: str):
    link = _load(token)
    if link.is_expired():
        return error_response(410)
    survey = services.survey_definition(link.survey_id, link.survey_updated_at)
    if link.is_finished:  # a double submit after the last step changes nothing
        return see_other(url_for("surveys.survey_page", token=token)) if not wants_fragment() else _render_thanks(link, survey, token)
    question = _posted_question(survey)
    try:
        parsed = services.parse_answer(question, request.form.getlist("answer"))
    except services.AnswerError as error:
        return _render_step(link, survey, token, question, error=error.code, status=422, submitted=request.form.getlist("answer"))
    invitation = services.invitation_for(link)
    response = services.record_answer(invitation, survey, question, parsed)
    db.session.commit()
    if not wants_fragment():
        return see_other(url_for("surveys.survey_page", token=token, **_shown_language()))
    link = services.LinkState.of(invitation, response)
    if link.is_finished:
        return _render_thanks(link, survey, token)
    return _render_step(link, survey, token, None)


def _language(link) -> str:
    """The contact's language, unless they switched this page to another."""
    chosen = request.args.get("lang") or request.form.get("lang")
    return chosen if chosen in ("de", "en") else link.language


def _shown_language() -> dict:
    """Keep a ?lang= choice across the redirect after an answer."""
    lang = request.form.get("lang")
    return {"lang": lang} if lang in ("de", "en") else {}


def _requested_question(survey):
    """?q=<position> shows an earlier question again (the back link)."""
    questions = survey.questions
    position = parse_int(request.args.get("q"), low=1, high=len(questions))
    return questions[position - 1] if position is not None else None


def _posted_question(survey):
    values = request.form.getlist("question")
    question_id = parse_int(values[0]) if len(values) == 1 else None
    question = next((q for q in survey.questions if q.id == question_id), None)
    if question is None:
        abort(400)
    return question


def _render_step(link, survey, token, question, preselect=None, error=None, status=200, submitted=None):
    question = question or services.next_question(survey, link.answers)
    if question is None:
        return _render_thanks(link, survey, token)
    questions = survey.questions
    given = link.answers.get(question.id)
    selected = submitted if submitted is not None else ([preselect] if preselect is not None else given.values if given else [])
    language = _language(link)
    return render(
        "surveys/survey.html",
        "step",
        status=status,
        survey=survey,
        token=token,
        question=question,
        question_text=services.question_text(question, link.nps_score, language),
        position=questions.index(question) + 1,
        total=len(questions),
        selected=[str(v) for v in selected if v is not None],
        error=error,
        QuestionType=QuestionType,
        language=language,
        localized=services.localized,
    )


def _render_thanks(link, survey, token):
    language = _language(link)
    return render(
        "surveys/survey.html",
        "step",
        survey=survey,
        token=token,
        question=None,
        finished=True,
        thank_you=services.localized(survey.thank_you, language),
        language=language,
        localized=services.localized,
    )


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click comes from the mail provider, without cookies
def unsubscribe(token: str):
    """GET asks; POST opts out. RFC 8058 one-click POSTs work without cookies."""
    invitation = services.find_by_unsubscribe_token(token)
    if invitation is None:
        guessing.count_miss()
        abort(404)
    g.person_locale = invitation.language
    done = invitation.contact.survey_opt_out
    if request.method == "POST":
        services.opt_out(invitation.contact)
        db.session.commit()
        done = True
    return render("surveys/unsubscribe.html", "unsubscribe", token=token, done=done, contact=invitation.contact)
