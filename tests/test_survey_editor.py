"""The survey editor in the staff area: admins edit, managers read, nobody else.

Every change is tried as a plain form (303, then the page) and with htmx (the
changed block in place, the other changed parts out of band).
"""

import re

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.surveys import defaults, definitions
from portal.surveys.definitions import DefinitionError, QuestionInput
from portal.surveys.models import Question, QuestionType, Survey, SurveyKind

HTMX = {"HX-Request": "true"}


def survey_url(survey, suffix=""):
    return f"/staff/surveys/{survey.id}{suffix}"


def positions(db, survey):
    db.session.expire_all()
    return [(q.position, q.id) for q in db.session.get(Survey, survey.id).questions]


def settings_data(survey, **changes):
    """The settings form as the page fills it in, with changes."""
    data = {
        "name": survey.name,
        "title_de": survey.title.get("de", ""),
        "title_en": survey.title.get("en", ""),
        "intro_de": survey.intro.get("de", ""),
        "intro_en": survey.intro.get("en", ""),
        "thank_you_de": survey.thank_you.get("de", ""),
        "thank_you_en": survey.thank_you.get("en", ""),
        "min_days_since_any": survey.min_days_since_any,
        "min_days_since_this": survey.min_days_since_this,
        "max_per_90_days": survey.max_per_90_days,
        "expires_after_days": survey.expires_after_days,
        "reminder_after_days": survey.reminder_after_days or "",
        "delay_hours": survey.delay_hours,
        "interval_days": survey.interval_days or "",
        "daily_cap": survey.daily_cap or "",
    }
    data.update(changes)
    return data


def question_data(prefix, type_=None, **fields):
    data = {f"{prefix}-{name}": value for name, value in fields.items()}
    if type_:
        data[f"{prefix}-type"] = type_
    return data


# --- the list and new surveys -------------------------------------------------------------


def test_the_list_has_an_empty_state_and_the_create_form_for_admins(login_as):
    admin = login_as(Role.ADMIN)
    html = admin.get("/staff/surveys/").get_data(as_text=True)
    assert "No surveys yet." in html and 'action="/staff/surveys/"' in html
    manager = login_as(Role.MANAGER)
    html = manager.get("/staff/surveys/").get_data(as_text=True)
    assert "No surveys yet." in html and 'action="/staff/surveys/"' not in html


def test_the_list_shows_surveys_with_their_counts(login_as, make_survey, make_invitation):
    survey = make_survey("nps")
    make_invitation(survey=survey)
    admin = login_as(Role.ADMIN)
    page = admin.get("/staff/surveys/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and survey.name in html and "Periodic NPS" in html
    fragment = admin.get("/staff/surveys/", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and survey.name in fragment


@pytest.mark.parametrize("kind", SurveyKind.ALL)
def test_an_admin_creates_each_kind_from_our_proposal(login_as, db, kind):
    admin = login_as(Role.ADMIN)
    response = admin.post("/staff/surveys/", data={"csrf_token": admin.csrf, "kind": kind, "start": "defaults", "name": ""})
    assert response.status_code == 303
    survey = db.session.scalar(select(Survey))
    assert response.headers["Location"].endswith(f"/staff/surveys/{survey.id}")
    assert survey.kind == kind and survey.active is False  # activated after checking
    expected = {s.kind: s for s in defaults.all_default_surveys()}[kind]
    assert survey.name == expected.name and [q.type for q in survey.questions] == [q.type for q in expected.questions]
    assert [q.position for q in survey.questions] == list(range(1, len(expected.questions) + 1))
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "It stays inactive until you activate it." in page


@pytest.mark.parametrize("kind", SurveyKind.ALL)
def test_an_admin_creates_a_blank_survey_of_each_kind(login_as, db, kind):
    admin = login_as(Role.ADMIN)
    response = admin.post("/staff/surveys/", data={"csrf_token": admin.csrf, "kind": kind, "start": "blank", "name": "  Pilot   Umfrage "})
    assert response.status_code == 303
    survey = db.session.scalar(select(Survey))
    assert survey.name == "Pilot Umfrage" and survey.questions == [] and not survey.active
    assert survey.email_subject == defaults.EMAIL_SUBJECT[kind] and survey.email_body["de"]
    assert (survey.interval_days is not None) == (kind == SurveyKind.NPS)


def test_creating_with_an_unknown_kind_is_refused(login_as, db):
    admin = login_as(Role.ADMIN)
    response = admin.post("/staff/surveys/", data={"csrf_token": admin.csrf, "kind": "lottery", "start": "defaults"})
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 0


def test_every_post_needs_the_csrf_token(login_as, make_survey, db):
    """The surveys blueprint is CSRF-exempt for the token pages: the editor checks itself."""
    survey = make_survey("nps")
    admin = login_as(Role.ADMIN)
    question = survey.questions[0]
    for url, data in [
        ("/staff/surveys/", {"kind": "nps", "start": "defaults"}),
        (survey_url(survey, "/settings"), settings_data(survey, name="Neu")),
        (survey_url(survey, "/active"), {"active": "0"}),
        (survey_url(survey, "/delete"), {}),
        (survey_url(survey, f"/questions/{question.id}/delete"), {}),
        (survey_url(survey, f"/questions/{question.id}/move"), {"direction": "down"}),
    ]:
        response = admin.post(url, data=data)
        assert response.status_code == 400, url
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 1 and survey.active and len(survey.questions) == 2


# --- settings ---------------------------------------------------------------------------------


def test_settings_are_saved_and_the_page_redirects(login_as, make_survey, db):
    survey = make_survey("post_ticket")
    admin = login_as(Role.ADMIN)
    data = settings_data(
        survey,
        name="Support-Umfrage",
        title_en="Our support",
        trigger_categories=["billing", "technical"],
        trigger_service_types=["ucaas"],
        delay_hours=6,
        min_days_since_any=10,
        min_days_since_this=20,
        max_per_90_days=2,
        expires_after_days=10,
        reminder_after_days="",
        csrf_token=admin.csrf,
    )
    response = admin.post(survey_url(survey, "/settings"), data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith("#survey-settings")
    db.session.expire_all()
    assert survey.name == "Support-Umfrage" and survey.title == {"de": "Wie war unser Support?", "en": "Our support"}
    assert survey.trigger_categories == ["technical", "billing"] and survey.trigger_service_types == ["ucaas"]
    assert (survey.delay_hours, survey.min_days_since_any, survey.min_days_since_this, survey.max_per_90_days) == (6, 10, 20, 2)
    assert survey.expires_after_days == 10 and survey.reminder_after_days is None
    assert "The settings have been saved." in admin.get(response.headers["Location"]).get_data(as_text=True)


def test_settings_with_htmx_return_the_block_and_update_status_and_preview(login_as, make_survey, db):
    survey = make_survey("nps")
    admin = login_as(Role.ADMIN)
    response = admin.post(survey_url(survey, "/settings"), data=settings_data(survey, name="NPS 2027", title_de="Neuer Titel", interval_days=90, daily_cap=50), headers={**HTMX, "X-CSRFToken": admin.csrf})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section id="survey-settings"')
    assert 'id="survey-status" class="survey-status" hx-swap-oob="true"' in html and "NPS 2027" in html
    assert 'id="survey-page-preview" class="card preview-pane" hx-swap-oob="true"' in html and "Neuer Titel" in html
    db.session.expire_all()
    assert (survey.interval_days, survey.daily_cap) == (90, 50)


def test_settings_only_show_what_the_kind_uses(login_as, make_survey):
    admin = login_as(Role.ADMIN)
    ticket = admin.get(survey_url(make_survey("post_ticket"))).get_data(as_text=True)
    assert 'name="trigger_categories"' in ticket and 'name="delay_hours"' in ticket and 'name="interval_days"' not in ticket
    nps = admin.get(survey_url(make_survey("nps"))).get_data(as_text=True)
    assert 'name="trigger_categories"' not in nps and 'name="interval_days"' in nps and 'name="delay_hours"' not in nps
    custom = admin.get(survey_url(make_survey("custom"))).get_data(as_text=True)
    assert 'name="trigger_service_types"' not in custom and 'name="min_days_since_any"' in custom


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title_de": ""}, "title_de", "This field is required."),
        ({"min_days_since_any": "-1"}, "min_days_since_any", "Number must be between 0 and 365."),
        ({"max_per_90_days": "viele"}, "max_per_90_days", "Not a valid integer value."),
        ({"reminder_after_days": "14", "expires_after_days": "14"}, "reminder_after_days", "The reminder must go out before the invitation expires"),
        ({"trigger_categories": ["technical", "astrology"]}, "trigger_categories", "is not a valid choice"),
    ],
)
def test_invalid_settings_are_refused_with_field_errors_and_nothing_is_saved(login_as, make_survey, db, htmx, changes, field, message):
    survey = make_survey("post_ticket")
    before = (survey.name, dict(survey.title), survey.expires_after_days, survey.reminder_after_days, list(survey.trigger_categories))
    admin = login_as(Role.ADMIN)
    data = settings_data(survey, name="Soll nicht gespeichert werden", csrf_token=admin.csrf, **changes)
    response = admin.post(survey_url(survey, "/settings"), data=data, headers=HTMX if htmx else {})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("<html" in html) is not htmx
    assert "Please correct the marked fields." in html and message in html
    assert re.search(rf'id="{field}(-0)?"[^>]*|aria-describedby="[^"]*{field}-error', html)
    assert f'id="{field}-error"' in html
    assert 'value="Soll nicht gespeichert werden"' in html  # the input is kept for correction
    db.session.expire_all()
    assert (survey.name, survey.title, survey.expires_after_days, survey.reminder_after_days, survey.trigger_categories) == before


# --- the invitation email ----------------------------------------------------------------------


def email_data(admin, **changes):
    data = {
        "csrf_token": admin.csrf,
        "subject_de": "Ihre Meinung, {{ contact.first_name }}",
        "body_de": "Guten Tag {{ contact.name }},\n\nbitte bewerten Sie **{{ account.name }}**.",
        "subject_en": "",
        "body_en": "",
    }
    data.update(changes)
    return data


def test_a_valid_email_template_is_saved(login_as, make_survey, db):
    survey = make_survey("custom")
    admin = login_as(Role.ADMIN)
    response = admin.post(survey_url(survey, "/email"), data=email_data(admin))
    assert response.status_code == 303 and response.headers["Location"].endswith("#survey-email")
    db.session.expire_all()
    assert survey.email_subject == {"de": "Ihre Meinung, {{ contact.first_name }}"} and "en" not in survey.email_body
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "No English email subject, email body" in page  # recommended, not required
    fragment = admin.post(survey_url(survey, "/email"), data=email_data(admin, subject_en="Hi {{ contact.first_name }}", body_en="Hello!"), headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and html.lstrip().startswith('<section id="survey-email"')
    assert 'id="survey-email-preview" class="card preview-pane" hx-swap-oob="true"' in html and "Ihre Meinung, Lena" in html


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize(
    ("field", "source", "message"),
    [
        ("subject_de", "Hallo {{ contact.name", "Line 1: a placeholder {{ … }} or an instruction {% … %} is not closed"),
        ("body_de", "Zeile 1\n{% if contact.name %}\nkein Ende", "Line 3: {% if %} is not closed: add {% endif %}."),
        ("body_de", "Hallo,\n{{ ticket.subjekt }}", "Line 2: the placeholder {{ ticket.subjekt }} does not exist."),
        ("body_de", "{{ contact.__class__ }}", "Not allowed in an email template"),
        ("body_de", "{{ ''.__class__.__mro__ }}", "Not allowed in an email template"),
        ("subject_en", "{{ cycler.__init__.__globals__ }}", "Not allowed in an email template"),
        ("body_de", "Hallo {{ contact.nmae }}", "Line 1: the placeholder {{ contact.nmae }} does not exist."),
        ("body_de", "{% for i in range(10**9) %}{% endfor %}", "asks for too much work"),
        ("subject_de", "", "This field is required."),
        ("subject_en", "", "Write the subject too"),  # an English body without a subject
    ],
)
def test_a_bad_email_template_is_reported_on_its_field_and_not_saved(login_as, make_survey, db, htmx, field, source, message):
    survey = make_survey("post_ticket")
    before = (dict(survey.email_subject), dict(survey.email_body))
    admin = login_as(Role.ADMIN)
    changes = {field: source, **({"body_en": "Only a body"} if field == "subject_en" and not source else {})}
    response = admin.post(survey_url(survey, "/email"), data=email_data(admin, **changes), headers=HTMX if htmx else {})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert f'id="{field}-error"' in html and ("<html" in html) is not htmx
    db.session.expire_all()
    assert (survey.email_subject, survey.email_body) == before


def test_template_problem_uses_the_invitations_sandbox(app):
    assert definitions.template_problem("{{ contact.name }} bei {{ account.name }}") is None
    assert "Not allowed" in definitions.template_problem("{{ contact.__class__ }}")
    assert definitions.template_problem("{{ brand|upper }} {% if ticket.id %}{{ ticket.id }}{% endif %}") is None


# --- questions ---------------------------------------------------------------------------------


VALID_QUESTIONS = {
    QuestionType.NPS: {"text_de": "Würden Sie uns empfehlen?", "text_en": "Would you recommend us?", "required": "y"},
    QuestionType.CSAT: {"text_de": "Wie zufrieden sind Sie?", "text_en": "How satisfied are you?"},
    QuestionType.RATING: {"text_de": "Wie schnell?", "scale_min": "0", "scale_max": "7", "low_de": "langsam", "high_de": "schnell", "high_en": "fast"},
    QuestionType.SINGLE: {"text_de": "Welcher Kanal?", "options": "phone | Telefon | Phone\nmail | E-Mail\n"},
    QuestionType.MULTIPLE: {"text_de": "Was nutzen Sie?", "options": "trunk | SIP-Trunk | SIP trunk\npbx | Telefonanlage | PBX\nteams | Teams"},
    QuestionType.TEXT: {"text_de": "Noch etwas?", "text_en": "Anything else?"},
}


@pytest.mark.parametrize("type_", list(VALID_QUESTIONS))
def test_an_admin_adds_each_type_of_question(login_as, make_survey, db, type_):
    survey = make_survey("custom", questions=[])
    admin = login_as(Role.ADMIN)
    response = admin.post(survey_url(survey, "/questions"), data={"csrf_token": admin.csrf, **question_data("new", type_, **VALID_QUESTIONS[type_])})
    assert response.status_code == 303 and "step=1" in response.headers["Location"]
    [question] = db.session.get(Survey, survey.id).questions
    assert question.type == type_ and question.position == 1 and question.text["de"]
    if type_ == QuestionType.SINGLE:
        assert question.options == [{"value": "phone", "de": "Telefon", "en": "Phone"}, {"value": "mail", "de": "E-Mail"}]
    if type_ == QuestionType.RATING:
        assert (question.scale_min, question.scale_max) == (0, 7)
        assert question.scale_labels == {"low": {"de": "langsam"}, "high": {"de": "schnell", "en": "fast"}}
    assert question.required == (type_ == QuestionType.NPS)
    assert "Question 1 has been added." in admin.get(response.headers["Location"]).get_data(as_text=True)


def test_the_nps_follow_up_needs_the_nps_question_and_three_wordings(login_as, make_survey, db):
    survey = make_survey("custom", questions=[])
    admin = login_as(Role.ADMIN)
    texts = {"promoter_de": "Was gefällt Ihnen?", "passive_de": "Was fehlt?", "detractor_de": "Was lief schief?", "detractor_en": "What went wrong?"}
    refused = admin.post(survey_url(survey, "/questions"), data={"csrf_token": admin.csrf, **question_data("new", QuestionType.NPS_FOLLOW_UP, **texts)})
    assert refused.status_code == 422 and "Add the NPS question first" in refused.get_data(as_text=True)
    admin.post(survey_url(survey, "/questions"), data={"csrf_token": admin.csrf, **question_data("new", QuestionType.NPS, text_de="Empfehlen?")})
    missing = admin.post(survey_url(survey, "/questions"), data={"csrf_token": admin.csrf, **question_data("new", QuestionType.NPS_FOLLOW_UP, **{**texts, "passive_de": ""})})
    assert missing.status_code == 422 and 'id="new-passive_de-error"' in missing.get_data(as_text=True)
    added = admin.post(survey_url(survey, "/questions"), data={"csrf_token": admin.csrf, **question_data("new", QuestionType.NPS_FOLLOW_UP, **texts)})
    assert added.status_code == 303
    follow_up = db.session.get(Survey, survey.id).questions[1]
    assert follow_up.text == {"promoter": {"de": "Was gefällt Ihnen?"}, "passive": {"de": "Was fehlt?"}, "detractor": {"de": "Was lief schief?", "en": "What went wrong?"}}


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize(
    ("type_", "fields", "field", "message"),
    [
        (QuestionType.TEXT, {"text_de": "", "text_en": "Only English"}, "text_de", "The German text is required."),
        (QuestionType.SINGLE, {"text_de": "Wahl?", "options": "only | Nur eine"}, "options", "at least two options"),
        (QuestionType.MULTIPLE, {"text_de": "Wahl?", "options": "a | A\na | Noch mal A"}, "options", "is used twice"),
        (QuestionType.SINGLE, {"text_de": "Wahl?", "options": "a | A\nb"}, "options", "Line 2: write a value and a German label"),
        (QuestionType.SINGLE, {"text_de": "Wahl?", "options": "a b | A\nb | B"}, "options", "Line 1: a value uses only letters"),
        (QuestionType.RATING, {"text_de": "Skala?", "scale_min": "5", "scale_max": "5"}, "scale_max", "greater than the lowest"),
        (QuestionType.RATING, {"text_de": "Skala?", "scale_min": "1", "scale_max": "11"}, "scale_max", "Number must be between 0 and 10."),
        (QuestionType.RATING, {"text_de": "Skala?", "scale_min": "", "scale_max": "5"}, "scale_min", "Enter a number."),
        (QuestionType.CSAT, {"text_de": "Zweite CSAT?"}, None, "only one question of the type"),
    ],
)
def test_invalid_questions_are_refused_and_nothing_is_added(login_as, make_survey, db, htmx, type_, fields, field, message):
    survey = make_survey("post_ticket")  # has a CSAT question already
    before = positions(db, survey)
    admin = login_as(Role.ADMIN)
    response = admin.post(survey_url(survey, "/questions"), data={"csrf_token": admin.csrf, **question_data("new", type_, **fields)}, headers=HTMX if htmx else {})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    if field:
        assert f'id="new-{field}-error"' in html
    assert ("<html" in html) is not htmx
    if htmx:
        assert html.lstrip().startswith('<section id="survey-questions"')
    assert positions(db, survey) == before


def test_add_form_and_edit_form_open_in_place(login_as, make_survey):
    survey = make_survey("post_ticket")
    admin = login_as(Role.ADMIN)
    for query, marker in [("?add=rating", 'name="new-scale_min"'), (f"?edit={survey.questions[1].id}", f'name="q{survey.questions[1].id}-options"')]:
        page = admin.get(survey_url(survey, query))
        fragment = admin.get(survey_url(survey, query), headers=HTMX)
        assert page.status_code == fragment.status_code == 200
        assert "<html" in page.get_data(as_text=True) and marker in page.get_data(as_text=True)
        html = fragment.get_data(as_text=True)
        assert "<html" not in html and html.lstrip().startswith('<section id="survey-questions"') and marker in html
    assert 'name="new-' not in admin.get(survey_url(survey, "?add=bogus")).get_data(as_text=True)


@pytest.mark.parametrize("htmx", [False, True])
def test_an_admin_edits_a_question(login_as, make_survey, db, htmx):
    survey = make_survey("post_ticket")
    question = survey.questions[1]
    admin = login_as(Role.ADMIN)
    prefix = f"q{question.id}"
    data = {"csrf_token": admin.csrf, **question_data(prefix, None, text_de="Im ersten Anlauf gelöst?", text_en="Solved first time?", options="yes | Ja | Yes\nno | Nein | No\nunsure | Weiß nicht", required="y")}
    response = admin.post(survey_url(survey, f"/questions/{question.id}"), data=data, headers=HTMX if htmx else {})
    if htmx:
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "Question 2 has been saved." in html and "Weiß nicht" in html
        assert 'hx-swap-oob="true"' in html
    else:
        assert response.status_code == 303
    db.session.expire_all()
    question = db.session.get(Question, question.id)
    assert question.text == {"de": "Im ersten Anlauf gelöst?", "en": "Solved first time?"} and question.required and len(question.options) == 3
    assert question.type == QuestionType.SINGLE
    bad = admin.post(survey_url(survey, f"/questions/{question.id}"), data={**data, f"{prefix}-text_de": ""}, headers=HTMX if htmx else {})
    assert bad.status_code == 422 and f'id="{prefix}-text_de-error"' in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Question, question.id).text["de"] == "Im ersten Anlauf gelöst?"


def test_a_question_of_another_survey_is_not_found(login_as, make_survey):
    first, second = make_survey("post_ticket"), make_survey("nps")
    admin = login_as(Role.ADMIN)
    other = second.questions[0]
    assert admin.post(survey_url(first, f"/questions/{other.id}/delete"), data={"csrf_token": admin.csrf}).status_code == 404
    assert admin.post(survey_url(first, f"/questions/{other.id}/move"), data={"csrf_token": admin.csrf, "direction": "up"}).status_code == 404
    assert admin.get("/staff/surveys/999").status_code == 404


@pytest.mark.parametrize("htmx", [False, True])
def test_removing_a_question_keeps_positions_contiguous(login_as, make_survey, db, htmx):
    survey = make_survey("post_installation")  # four questions
    ids = [q.id for q in survey.questions]
    admin = login_as(Role.ADMIN)
    response = admin.post(survey_url(survey, f"/questions/{ids[1]}/delete"), data={"csrf_token": admin.csrf}, headers=HTMX if htmx else {})
    if htmx:
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "Question 2 has been removed." in html and f'id="question-{ids[1]}"' not in html
        assert html.lstrip().startswith('<section id="survey-questions"') and 'id="survey-page-preview" class="card preview-pane" hx-swap-oob="true"' in html
    else:
        assert response.status_code == 303 and response.headers["Location"].endswith("#survey-questions")
    assert positions(db, survey) == [(1, ids[0]), (2, ids[2]), (3, ids[3])]
    assert db.session.get(Question, ids[1]) is None


@pytest.mark.parametrize("htmx", [False, True])
def test_moving_questions_keeps_positions_contiguous(login_as, make_survey, db, htmx):
    survey = make_survey("post_installation")
    a, b, c, d = (q.id for q in survey.questions)
    admin = login_as(Role.ADMIN)
    headers = HTMX if htmx else {}

    def move(question_id, **data):
        return admin.post(survey_url(survey, f"/questions/{question_id}/move"), data={"csrf_token": admin.csrf, **data}, headers=headers)

    response = move(c, direction="up")
    assert response.status_code == (200 if htmx else 303)
    if htmx:
        assert "The question is now number 2." in response.get_data(as_text=True)
    assert [i for _, i in positions(db, survey)] == [a, c, b, d]
    move(a, direction="up")  # already first: stays
    move(d, direction="down")  # already last: stays
    assert [p for p, _ in positions(db, survey)] == [1, 2, 3, 4]
    assert [i for _, i in positions(db, survey)] == [a, c, b, d]
    move(a, position="4")
    assert positions(db, survey) == [(1, c), (2, b), (3, d), (4, a)]
    move(a, position="1")
    move(b, direction="down")
    assert positions(db, survey) == [(1, a), (2, c), (3, d), (4, b)]
    assert move(a, direction="sideways").status_code == 400


def test_definitions_keep_positions_contiguous_through_any_sequence(app, make_survey, db):
    survey = make_survey("post_installation")
    definitions.add_question(survey, QuestionInput(type=QuestionType.TEXT, text={"de": "Fünf?"}))
    definitions.move_question(survey.questions[4], 1)
    definitions.remove_question(survey.questions[2])
    definitions.move_question(survey.questions[0], 99)
    definitions.add_question(survey, QuestionInput(type=QuestionType.TEXT, text={"de": "Sechs?"}))
    db.session.commit()
    db.session.expire_all()
    reloaded = db.session.get(Survey, survey.id)
    assert [q.position for q in reloaded.questions] == [1, 2, 3, 4, 5]
    assert [q.text["de"] for q in reloaded.questions][-2:] == ["Fünf?", "Sechs?"]


def test_an_answered_question_cannot_be_removed(login_as, client, make_invitation, db):
    invitation, token = make_invitation(kind="nps")
    nps = invitation.survey.questions[0]
    assert client.post(f"/s/{token}", data={"question": nps.id, "answer": "9"}).status_code == 303
    admin = login_as(Role.ADMIN)
    page = admin.get(survey_url(invitation.survey)).get_data(as_text=True)
    assert "Answered: cannot be removed" in page
    response = admin.post(survey_url(invitation.survey, f"/questions/{nps.id}/delete"), data={"csrf_token": admin.csrf}, headers=HTMX)
    assert response.status_code == 409 and "cannot be removed" in response.get_data(as_text=True)
    assert db.session.get(Question, nps.id) is not None


def test_an_edited_question_reaches_the_public_survey_page(login_as, client, make_invitation):
    invitation, token = make_invitation(kind="nps")
    question = invitation.survey.questions[0]
    assert "Geschäftspartner weiterempfehlen" in client.get(f"/s/{token}").get_data(as_text=True)
    admin = login_as(Role.ADMIN)
    data = {"csrf_token": admin.csrf, **question_data(f"q{question.id}", None, text_de="Würden Sie uns einem Kollegen empfehlen?", required="y")}
    assert admin.post(survey_url(invitation.survey, f"/questions/{question.id}"), data=data).status_code == 303
    assert "einem Kollegen empfehlen" in client.get(f"/s/{token}").get_data(as_text=True)


# --- activation and deletion -----------------------------------------------------------------


def test_activation_needs_questions_and_deactivation_always_works(login_as, db):
    admin = login_as(Role.ADMIN)
    admin.post("/staff/surveys/", data={"csrf_token": admin.csrf, "kind": "custom", "start": "blank"})
    survey = db.session.scalar(select(Survey))
    page = admin.get(survey_url(survey)).get_data(as_text=True)
    assert "Before this survey can be activated:" in page and "Add at least one question." in page
    refused = admin.post(survey_url(survey, "/active"), data={"csrf_token": admin.csrf, "active": "1"}, headers=HTMX)
    assert refused.status_code == 409 and "Add at least one question." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert not survey.active
    admin.post(survey_url(survey, "/questions"), data={"csrf_token": admin.csrf, **question_data("new", QuestionType.TEXT, text_de="Wie geht's?")})
    still = admin.post(survey_url(survey, "/active"), data={"csrf_token": admin.csrf, "active": "1"}, headers=HTMX)
    assert still.status_code == 409 and "Give the survey a German title." in still.get_data(as_text=True)
    db.session.expire_all()
    assert admin.post(survey_url(survey, "/settings"), data=settings_data(survey, title_de="Kurze Umfrage", csrf_token=admin.csrf)).status_code == 303
    activated = admin.post(survey_url(survey, "/active"), data={"csrf_token": admin.csrf, "active": "1"}, headers=HTMX)
    html = activated.get_data(as_text=True)
    assert activated.status_code == 200 and "The survey is active." in html and html.lstrip().startswith('<section id="survey-status"')
    deactivated = admin.post(survey_url(survey, "/active"), data={"csrf_token": admin.csrf, "active": "0"})
    assert deactivated.status_code == 303
    db.session.expire_all()
    assert not survey.active
    assert admin.post(survey_url(survey, "/active"), data={"csrf_token": admin.csrf, "active": "yes"}).status_code == 400


def test_a_survey_with_invitations_cannot_be_deleted_only_deactivated(login_as, make_invitation, db):
    invitation, _token = make_invitation(kind="nps")
    survey = invitation.survey
    admin = login_as(Role.ADMIN)
    page = admin.get(survey_url(survey)).get_data(as_text=True)
    assert "Delete survey" not in page and "can be deactivated but not deleted" in page
    response = admin.post(survey_url(survey, "/delete"), data={"csrf_token": admin.csrf})
    assert response.status_code == 409 and "Deactivate it instead." in response.get_data(as_text=True)
    assert db.session.get(Survey, survey.id) is not None


@pytest.mark.parametrize("htmx", [False, True])
def test_a_survey_without_invitations_is_deleted(login_as, make_survey, db, htmx):
    survey = make_survey("post_ticket")
    survey_id = survey.id
    admin = login_as(Role.ADMIN)
    response = admin.post(survey_url(survey, "/delete"), data={"csrf_token": admin.csrf}, headers=HTMX if htmx else {})
    if htmx:
        assert response.status_code == 204 and response.headers["HX-Redirect"] == "/staff/surveys/"
    else:
        assert response.status_code == 303 and response.headers["Location"].endswith("/staff/surveys/")
    db.session.expire_all()
    assert db.session.get(Survey, survey_id) is None
    assert db.session.scalar(select(func.count()).select_from(Question)) == 0
    assert "has been deleted" in admin.get("/staff/surveys/").get_data(as_text=True)


# --- previews ----------------------------------------------------------------------------------


def test_the_email_preview_shows_sample_values_and_the_sanitized_body(login_as, make_survey):
    survey = make_survey(
        "nps",
        email_body={"de": "Guten Tag {{ contact.name }},\n\n**wichtig** <script>alert(1)</script> [Link](javascript:alert(1))", "en": "Dear {{ contact.first_name }}"},
    )
    admin = login_as(Role.ADMIN)
    fragment = admin.get(survey_url(survey, "/preview/email?email_language=de"), headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html and html.lstrip().startswith('<section id="survey-email-preview"')
    assert "Würden Sie Kundenportal weiterempfehlen?" in html and "Guten Tag Lena Vogel" in html
    assert f'src="/staff/surveys/{survey.id}/preview/email.html?email_language=de' in html

    frame = admin.get(survey_url(survey, "/preview/email.html?email_language=de"))
    body = frame.get_data(as_text=True)
    assert frame.status_code == 200 and frame.mimetype == "text/html"
    assert frame.headers["Content-Security-Policy"] == "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "Guten Tag Lena Vogel" in body and "<strong>wichtig</strong>" in body
    assert "<script" not in body and "javascript:" not in body
    assert "?score=10" in body  # the first question is NPS: the score links are shown

    english = admin.get(survey_url(survey, "/preview/email.html?email_language=en")).get_data(as_text=True)
    assert "Dear Lena" in english
    page = admin.get(survey_url(survey, "/preview/email?email_language=en"))
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True) and "Would you recommend Kundenportal?" in page.get_data(as_text=True)


def test_the_survey_page_preview_in_german_and_english(login_as, make_survey):
    survey = make_survey("post_ticket")
    admin = login_as(Role.ADMIN)
    german = admin.get(survey_url(survey, "/preview/page?page_language=de&step=2"), headers=HTMX)
    html = german.get_data(as_text=True)
    assert german.status_code == 200 and "<html" not in html and html.lstrip().startswith('<section id="survey-page-preview"')
    assert "Wurde Ihr Anliegen beim ersten Kontakt gelöst?" in html and "Nein, es waren mehrere Kontakte nötig" in html
    assert "Wie war unser Support?" in html and 'class="survey-preview" inert lang="de"' in html
    english = admin.get(survey_url(survey, "/preview/page?page_language=en&step=2"), headers=HTMX).get_data(as_text=True)
    assert "Was your request resolved at the first contact?" in english and "No, it took several contacts" in english
    assert "How was our support?" in english and 'lang="en"' in english
    thanks = admin.get(survey_url(survey, "/preview/page?page_language=en&step=99")).get_data(as_text=True)
    assert "<html" in thanks and "Thank you for your feedback!" in thanks


def test_the_page_preview_shows_the_follow_up_wording_per_category(login_as, make_survey):
    survey = make_survey("nps")
    admin = login_as(Role.ADMIN)
    promoter = admin.get(survey_url(survey, "/preview/page?step=2&category=promoter"), headers=HTMX).get_data(as_text=True)
    detractor = admin.get(survey_url(survey, "/preview/page?step=2&category=detractor&page_language=en"), headers=HTMX).get_data(as_text=True)
    assert "Was gefällt Ihnen besonders an uns?" in promoter
    assert "What went wrong, and what should we improve first?" in detractor


def test_the_previews_keep_their_language_through_an_htmx_edit(login_as, make_survey):
    """The editor's htmx requests include the preview controls (hx-include)."""
    survey = make_survey("post_ticket")
    question = survey.questions[2]
    admin = login_as(Role.ADMIN)
    data = {"csrf_token": admin.csrf, "page_language": "en", "email_language": "en", "step": "1"}
    html = admin.post(survey_url(survey, f"/questions/{question.id}/move"), data={**data, "direction": "up"}, headers=HTMX).get_data(as_text=True)
    preview = html.split('id="survey-page-preview"')[1]
    assert 'lang="en"' in preview and "Is there anything else you would like to tell us?" in preview  # the moved question, in English
    assert "How satisfied were you with our help?" in html.split('id="survey-email-preview"')[1]


def test_missing_english_is_pointed_out_in_the_page_preview(login_as, make_survey):
    survey = make_survey("custom", title={"de": "Nur Deutsch"})
    survey.questions[0].text = {"de": "Nur auf Deutsch?"}
    admin = login_as(Role.ADMIN)
    html = admin.get(survey_url(survey, "/preview/page?page_language=en&step=1")).get_data(as_text=True)
    assert "Nur auf Deutsch?" in html and "English-speaking contacts see the German text" in html
    assert "Question 1 lacks English text" in html


# --- roles -------------------------------------------------------------------------------------


def test_managers_read_everything_but_see_no_forms(login_as, make_survey):
    survey = make_survey("post_ticket")
    manager = login_as(Role.MANAGER)
    html = manager.get(survey_url(survey)).get_data(as_text=True)
    assert "Wie zufrieden sind Sie mit der Lösung Ihres Anliegens?" in html and "Wie war unser Support?" in html
    assert "{{ ticket.subject }}" in html  # the email template, as text
    assert 'hx-post="/staff/' not in html and 'method="post" action="/staff/surveys' not in html
    assert "You can read this survey; administrators change it." in html
    assert 'name="new-' not in manager.get(survey_url(survey, "?add=text")).get_data(as_text=True)
    assert manager.get(survey_url(survey, "/preview/email.html")).status_code == 200


def test_managers_get_403_on_every_post(login_as, make_survey, db):
    survey = make_survey("post_ticket")
    question = survey.questions[0]
    manager = login_as(Role.MANAGER)
    for htmx in (False, True):
        for url, data in [
            ("/staff/surveys/", {"kind": "nps", "start": "defaults"}),
            (survey_url(survey, "/settings"), settings_data(survey, name="Manager war hier")),
            (survey_url(survey, "/email"), {"subject_de": "x", "body_de": "y"}),
            (survey_url(survey, "/active"), {"active": "0"}),
            (survey_url(survey, "/delete"), {}),
            (survey_url(survey, "/questions"), question_data("new", QuestionType.TEXT, text_de="Neu?")),
            (survey_url(survey, f"/questions/{question.id}"), question_data(f"q{question.id}", None, text_de="Geändert?")),
            (survey_url(survey, f"/questions/{question.id}/delete"), {}),
            (survey_url(survey, f"/questions/{question.id}/move"), {"direction": "down"}),
        ]:
            response = manager.post(url, data={"csrf_token": manager.csrf, **data}, headers=HTMX if htmx else {})
            assert response.status_code == 403, url
    db.session.expire_all()
    assert survey.name == "Zufriedenheit nach Ticket" and survey.active and len(survey.questions) == 3
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 1


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.EDITOR])
def test_account_managers_and_editors_cannot_open_the_editor(login_as, make_survey, role):
    survey = make_survey("nps")
    client = login_as(role)
    for url in ("/staff/surveys/", survey_url(survey), survey_url(survey, "/preview/page"), survey_url(survey, "/preview/email"), survey_url(survey, "/preview/email.html")):
        assert client.get(url).status_code == 403, url
    assert b"/staff/surveys/" not in client.get("/staff/profile").data  # not in the navigation


# --- every fragment URL with and without htmx ----------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "block_id"),
    [
        ("", "survey-questions"),
        ("?add=single_choice", "survey-questions"),
        ("?edit={question}", "survey-questions"),
        ("/preview/page?page_language=en&step=1", "survey-page-preview"),
        ("/preview/page?step=3&category=passive", "survey-page-preview"),
        ("/preview/email?email_language=en", "survey-email-preview"),
    ],
)
@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER])
def test_every_fragment_url_with_and_without_htmx(login_as, make_survey, role, suffix, block_id):
    survey = make_survey("nps")
    client = login_as(role)
    url = survey_url(survey, suffix.format(question=survey.questions[0].id))
    page = client.get(url)
    fragment = client.get(url, headers=HTMX)
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.get_data(as_text=True) and f'id="{block_id}"' in page.get_data(as_text=True)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith(f'<section id="{block_id}"')
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in page.headers["Vary"]
    # a boosted navigation and a history restore need the whole page
    assert "<html" in client.get(url, headers={**HTMX, "HX-Boosted": "true"}).get_data(as_text=True)
    assert "<html" in client.get(url, headers={**HTMX, "HX-History-Restore-Request": "true"}).get_data(as_text=True)


def test_the_editor_page_has_no_inline_script_or_style(login_as, make_survey):
    survey = make_survey("post_installation")
    admin = login_as(Role.ADMIN)
    for url in (survey_url(survey), survey_url(survey, f"?edit={survey.questions[1].id}"), survey_url(survey, "?add=nps_follow_up"), "/staff/surveys/"):
        html = admin.get(url).get_data(as_text=True)
        assert "style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html), url


def test_definition_errors_name_the_fields(app, make_survey):
    survey = make_survey("custom")
    with pytest.raises(DefinitionError) as raised:
        definitions.add_question(survey, QuestionInput(type=QuestionType.RATING, text={"en": "Only English"}, scale_min=3, scale_max=2))
    assert set(raised.value.errors) == {"text_de", "scale_max"}


def test_template_errors_read_in_the_staff_members_language(login_as, make_survey, db):
    survey = make_survey("post_ticket")
    admin = login_as(Role.ADMIN, preferred_language="de")
    html = admin.post(survey_url(survey, "/email"), data=email_data(admin, body_de="Hallo,\n{{ ticket.subjekt }}")).get_data(as_text=True)
    assert "Zeile 2: Den Platzhalter {{ ticket.subjekt }} gibt es nicht." in html
    assert "dict object" not in html and "has no attribute" not in html
    html = admin.post(survey_url(survey, "/email"), data=email_data(admin, subject_de="Hallo {{ contact.name")).get_data(as_text=True)
    assert "unexpected end of template" not in html and "Zeile 1:" in html
