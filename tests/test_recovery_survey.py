"""The recovery survey: editable like every survey, and its answers never
counted as satisfaction (reports, segments, dashboard, account page, API,
answers and their CSV); the loop report and the task page read them
(tests/test_followups_loop.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.reports import answers, dashboard
from portal.reports import services as reports
from portal.reports.query import ReportQuery
from portal.surveys import definitions
from portal.surveys import services as surveys
from portal.surveys.definitions import DefinitionError, QuestionInput
from portal.surveys.models import QuestionType, SurveyKind
from portal.timeutil import utcnow


def _answer(invitation, values: list[str]):
    survey = invitation.survey
    for question, value in zip(survey.questions, values, strict=False):
        surveys.record_answer(invitation, survey, question, surveys.parse_answer(question, [value]))


@pytest.fixture
def two_answers(db, make_account, make_contact, make_ticket, make_survey, make_invitation):
    """One contact: a post-ticket answer (CSAT 4, "Schnell geholfen"), then a recovery
    answer (not resolved, CSAT 1, "Immer noch Abbrüche")."""
    account = make_account(external_id="CRM-REC")
    contact = make_contact(account)
    ticket = make_ticket(contact, subject="Abbrüche bei Gesprächen")
    first, _ = make_invitation(survey=make_survey("post_ticket"), contact=contact, ticket=ticket)
    _answer(first, ["4", "yes", "Schnell geholfen"])
    db.session.commit()
    recovery, _ = make_invitation(survey=make_survey("recovery"), contact=contact)
    _answer(recovery, ["no", "1", "Immer noch Abbrüche"])
    db.session.commit()
    return account, contact


def test_recovery_answers_never_count_as_satisfaction(db, login_as, two_answers):
    account, contact = two_answers
    query = ReportQuery.last_days(30)
    assert reports.report("csat", query)["total"]["responses"] == 1
    assert reports.report("csat", query.but(survey_kinds=(SurveyKind.RECOVERY,)))["total"]["responses"] == 0
    grouped = reports.report("csat", query.but(group_by="survey_kind"))
    assert {row["group"] for row in grouped["rows"]} == {SurveyKind.POST_TICKET}
    assert SurveyKind.RECOVERY not in {value for value, _label in reports.filter_choices().survey_kinds}
    overview = reports.overview(query)
    assert overview.total.csat.responses == 1 and overview.total.comments == 1

    # The answers behind the figures, and their CSV.
    listed = answers.list_answers(query, answers.AnswerFilters())
    assert [row.response.comment for row in listed.items] == ["Schnell geholfen"]
    assert [row[-1] for row in answers.export_rows(query, answers.AnswerFilters())] == ["Schnell geholfen"]

    # The dashboard's comments, the account page's contacts and comments, the CRM's API.
    assert [r.comment for r in dashboard.latest_comments(None, utcnow() - timedelta(days=7))] == ["Schnell geholfen"]
    [row] = dashboard.contact_scores(account)
    assert row.csat.csat_score == 4 and row.csat.ticket_id is not None  # not the recovery answer, shown as "no ticket"
    health = dashboard.account_health(account)
    assert [r.comment for r in health.comments] == ["Schnell geholfen"] and health.comment_count == 1
    # Health reads the contact's latest satisfaction answer: the post-ticket 4, not the recovery survey's 1.
    reasons = [reason.text for reason in reports.account_health(account).reasons]
    assert reasons and not any("1 or 2 of 5" in text for text in reasons), reasons
    api = reports.account_satisfaction("CRM-REC")
    assert api["csat_90_days"]["responses"] == 1 and [c["text"] for c in api["recent_comments"]] == ["Schnell geholfen"]

    # The reports page in a browser's view.
    page = login_as("admin").get("/staff/reports?survey_kind=recovery").get_data(as_text=True)
    assert "Immer noch Abbrüche" not in page


def test_the_contacts_answers_are_in_time_order_with_the_recovery_answer_later(db, two_answers):
    _account, contact = two_answers
    first, later = sorted(contact_responses(db, contact), key=lambda r: r.id)
    lines = surveys.contact_answers(contact.id, first)
    assert [(line.survey_kind, line.csat, line.later) for line in lines] == [(SurveyKind.RECOVERY, 1, True)]
    both = surveys.contact_answers(contact.id, None)
    assert [line.survey_kind for line in both] == [SurveyKind.POST_TICKET, SurveyKind.RECOVERY]  # oldest first


def contact_responses(db, contact):
    from sqlalchemy import select

    from portal.surveys.models import Response

    return list(db.session.scalars(select(Response).where(Response.contact_id == contact.id)))


def test_the_recovery_survey_is_edited_like_the_others(db):
    survey = definitions.create_survey(SurveyKind.RECOVERY)
    assert survey.kind == SurveyKind.RECOVERY and not survey.active
    assert [q.type for q in survey.questions] == [QuestionType.SINGLE, QuestionType.CSAT, QuestionType.TEXT]
    assert definitions.activation_problems(survey) == [] and definitions.survey_warnings(survey) == []
    with pytest.raises(DefinitionError) as refused:
        definitions.add_question(survey, QuestionInput(type=QuestionType.NPS, required=True, text={"de": "Empfehlen Sie uns?"}))
    assert "type" in refused.value.errors
    resolved = survey.questions[0]
    definitions.update_question(
        resolved,
        QuestionInput(type=QuestionType.SINGLE, required=True, text=resolved.text, options=[{"value": "ok", "de": "Ja"}, {"value": "no", "de": "Nein"}]),
    )
    assert any("“yes”" in warning for warning in definitions.survey_warnings(survey))
    email = definitions.preview_email(survey, "de")
    assert email.subject == "Hat sich Ihr Anliegen erledigt?" and "Ihr Anliegen „Echo bei Gesprächen“" in email.text
    blank = definitions.create_survey(SurveyKind.RECOVERY, from_defaults=False)
    assert blank.email_subject["de"] == "Hat sich Ihr Anliegen erledigt?"


def test_the_editor_offers_and_shows_the_recovery_survey(db, login_as):
    admin_client = login_as("admin")
    page = admin_client.get("/staff/surveys/").get_data(as_text=True)
    assert 'value="recovery"' in page
    survey = definitions.create_survey(SurveyKind.RECOVERY)
    db.session.commit()
    editor = admin_client.get(f"/staff/surveys/{survey.id}")
    assert editor.status_code == 200
    text = editor.get_data(as_text=True)
    assert "Has your concern been resolved?" in text or "Hat sich Ihr Anliegen erledigt?" in text
