"""The public survey pages (/s/<token>) and the opt-out pages (/u/<token>).

GET only displays: a score from the email's 0–10 links is preselected, never
saved, because mail scanners fetch links. Each answer is a POST; htmx swaps
the next step in place, a plain form posts and is redirected. What a step
shows comes from services.step; an answer commits through run_in_transaction
(two first answers may race), an opt-out with the request.
"""

from __future__ import annotations

from flask import abort, g, request, url_for
from flask_babel import gettext as _

from portal.extensions import csrf
from portal.surveys import bp, services
from portal.surveys.models import QuestionType, Survey
from portal.web import guessing
from portal.web.inputs import validates_own_text
from portal.web.rendering import render, see_other, wants_fragment
from portal.web.security import token_page_headers
from portal.web.transaction import run_in_transaction


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
        abort(_link_problem("unknown"))
    g.person_locale = link.language
    return link


def _open(token: str) -> tuple[services.LinkState, Survey]:
    """The link and its survey; 404 for an unknown token, 410 for an expired link."""
    link = _load(token)
    if link.is_expired():
        abort(_link_problem("expired", link.expires_at))
    return link, services.survey_definition(link.survey_id, link.survey_updated_at)


def _link_problem(problem: str, expired_on=None):
    """What happened to the link and what the customer can do, in their language (the
    contact's, else the browser's), with no way into the staff area."""
    heading = _("This survey has ended") if problem == "expired" else _("This link does not work")
    response = render("surveys/link_problem.html", "problem", status=410 if problem == "expired" else 404, problem=problem, heading=heading, expired_on=expired_on)
    return token_page_headers(response)


@bp.get("/s/<token>")
def survey_page(token: str):
    link, survey = _open(token)
    question = services.requested_question(survey, request.args.get("q"))
    score = request.args.get("score")
    return _render_step(link, survey, token, question, selected=[score] if score is not None else None)


@bp.post("/s/<token>")
@csrf.exempt  # the secret token in the URL authorises the answer
@validates_own_text  # parse_answer drops NUL from answers; question and lang are matched against known values
def answer(token: str):
    """The first answer may race another submit of it: run_in_transaction
    commits the answer and lets the slower request record it again."""
    link, survey = _open(token)
    if link.is_finished:  # a double submit after the last step changes nothing
        return _render_step(link, survey, token) if wants_fragment() else see_other(url_for("surveys.survey_page", token=token))
    question = services.posted_question(survey, request.form.getlist("question")) or abort(400)
    values, chosen = request.form.getlist("answer"), _shown_language().get("lang")
    try:
        answered = run_in_transaction(lambda: services.submit_answer(link, survey, question, values, chosen))
    except services.AnswerError as error:
        return _render_step(link, survey, token, question, selected=values, error=error.code, status=422)
    if not wants_fragment():
        return see_other(url_for("surveys.survey_page", token=token, **_shown_language()))
    return _render_step(answered, survey, token)


def _language(link) -> str:
    """The contact's language, unless they switched this page to another."""
    chosen = request.args.get("lang") or request.form.get("lang")
    return chosen if chosen in ("de", "en") else link.language


def _shown_language() -> dict:
    """Keep a ?lang= choice across the redirect after an answer."""
    lang = request.form.get("lang")
    return {"lang": lang} if lang in ("de", "en") else {}


def _render_step(link, survey, token, question=None, selected=None, error=None, status=200):
    """The page, or for htmx its step: ``question`` or the next one, or the thank-you."""
    language = _language(link)
    step = services.step(link, survey, language, question, selected)
    return render(
        "surveys/survey.html",
        "step",
        status=status,
        survey=survey,
        token=token,
        question=step.question,
        question_text=step.question_text,
        position=step.position,
        total=step.total,
        selected=step.selected,
        error=error,
        finished=step.finished,
        thank_you=step.thank_you,
        QuestionType=QuestionType,
        language=language,
        localized=services.localized,
    )


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click comes from the mail provider, without cookies
def unsubscribe(token: str):
    """GET asks; POST opts out (the request commits it). RFC 8058 one-click POSTs work without cookies."""
    invitation = services.find_by_unsubscribe_token(token)
    if invitation is None:
        guessing.count_miss()
        abort(_link_problem("unknown"))
    g.person_locale = invitation.language
    if request.method == "POST":
        services.opt_out(invitation.contact)
    done = invitation.contact.survey_opt_out
    return render("surveys/unsubscribe.html", "unsubscribe", token=token, done=done, contact=invitation.contact)
