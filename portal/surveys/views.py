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


def _load(token: str):
    invitation = services.find_invitation(token)
    if invitation is None:
        guessing.count_miss()
        abort(404)
    g.person_locale = invitation.language
    return invitation


@bp.get("/s/<token>")
def survey_page(token: str):
    invitation = _load(token)
    if services.is_expired(invitation):
        return error_response(410)
    survey = services.survey_definition(invitation.survey_id)
    if services.is_finished(invitation):
        return _render_thanks(invitation, survey, token)
    return _render_step(invitation, survey, token, _requested_question(survey), preselect=request.args.get("score"))


@bp.post("/s/<token>")
@csrf.exempt  # the secret token in the URL authorises the answer
def answer(token: str):
    invitation = _load(token)
    if services.is_expired(invitation):
        return error_response(410)
    survey = services.survey_definition(invitation.survey_id)
    if services.is_finished(invitation):  # a double submit after the last step changes nothing
        return see_other(url_for("surveys.survey_page", token=token)) if not wants_fragment() else _render_thanks(invitation, survey, token)
    question = _posted_question(survey)
    try:
        parsed = services.parse_answer(question, request.form.getlist("answer"))
    except services.AnswerError as error:
        return _render_step(invitation, survey, token, question, error=error.code, status=422, submitted=request.form.getlist("answer"))
    services.record_answer(invitation, survey, question, parsed)
    db.session.commit()
    if not wants_fragment():
        return see_other(url_for("surveys.survey_page", token=token, **_shown_language()))
    if services.is_finished(invitation):
        return _render_thanks(invitation, survey, token)
    return _render_step(invitation, survey, token, None)


def _language(invitation) -> str:
    """The contact's language, unless they switched this page to another."""
    chosen = request.args.get("lang") or request.form.get("lang")
    return chosen if chosen in ("de", "en") else invitation.language


def _shown_language() -> dict:
    """Keep a ?lang= choice across the redirect after an answer."""
    lang = request.form.get("lang")
    return {"lang": lang} if lang in ("de", "en") else {}


def _requested_question(survey):
    """?q=<position> shows an earlier question again (the back link)."""
    position = request.args.get("q", type=int)
    if position is None:
        return None
    questions = survey.questions
    return questions[position - 1] if 1 <= position <= len(questions) else None


def _posted_question(survey):
    values = request.form.getlist("question")
    question_id = int(values[0]) if len(values) == 1 and values[0].isdigit() else None
    question = next((q for q in survey.questions if q.id == question_id), None)
    if question is None:
        abort(400)
    return question


def _render_step(invitation, survey, token, question, preselect=None, error=None, status=200, submitted=None):
    response = invitation.response
    question = question or services.next_question(survey, response)
    if question is None:
        return _render_thanks(invitation, survey, token)
    questions = survey.questions
    position = questions.index(question) + 1
    previous = _previous_answer(response, question)
    selected = submitted if submitted is not None else ([preselect] if preselect is not None else previous)
    return render(
        "surveys/survey.html",
        "step",
        status=status,
        invitation=invitation,
        survey=survey,
        token=token,
        question=question,
        question_text=services.question_text(question, response, _language(invitation)),
        position=position,
        total=len(questions),
        selected=[str(v) for v in selected if v is not None],
        error=error,
        QuestionType=QuestionType,
        language=_language(invitation),
        localized=services.localized,
    )


def _previous_answer(response, question) -> list:
    if response is None:
        return []
    answer = next((a for a in response.answers if a.question_id == question.id), None)
    if answer is None or answer.skipped:
        return []
    if answer.number is not None:
        return [answer.number]
    if answer.choices:
        return list(answer.choices)
    return [answer.text] if answer.text else []


def _render_thanks(invitation, survey, token):
    return render(
        "surveys/survey.html",
        "step",
        invitation=invitation,
        survey=survey,
        token=token,
        question=None,
        finished=True,
        thank_you=services.localized(survey.thank_you, _language(invitation)),
        language=_language(invitation),
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
