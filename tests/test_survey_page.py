"""The customer's side: the email arrives, the link opens, every answer is kept."""

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from portal.mail import services as mail
from portal.surveys.models import Answer, Invitation, InvitationStatus, Response
from portal.timeutil import utcnow
from tests.conftest import post_event, ticket_closed_event

HTMX = {"HX-Request": "true"}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_event_to_email_to_answer_end_to_end(client, db, integration, make_survey, smtp_server):
    recorder, _ = smtp_server
    survey = make_survey("post_ticket", delay_hours=0)
    assert post_event(client, integration, ticket_closed_event()).json["outcome"] == "invited"
    assert mail.deliver_due() == 1

    [email] = recorder.messages
    assert email["To"] == "lena.vogel@mueller-logistik.example"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert "Guten Tag Lena Vogel" in text and "Echo bei Gesprächen" in html
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"(http://localhost/s/[A-Za-z0-9_-]+)", text).group(1)

    invitation = db.session.scalar(select(Invitation))
    assert invitation.status == InvitationStatus.SENT  # the worker marked it
    page = client.get(path_of(link))
    assert page.status_code == 200 and "Wie zufrieden sind Sie mit der Lösung" in page.get_data(as_text=True)
    csat, first_contact, comment = survey.questions
    assert client.post(path_of(link), data={"question": csat.id, "answer": "4"}).status_code == 303
    assert client.post(path_of(link), data={"question": first_contact.id, "answer": "yes"}).status_code == 303
    assert client.post(path_of(link), data={"question": comment.id, "answer": "Schnelle Hilfe, danke!"}).status_code == 303
    assert "Vielen Dank" in client.get(path_of(link)).get_data(as_text=True)

    response = db.session.scalar(select(Response))
    assert response.csat_score == 4 and response.comment == "Schnelle Hilfe, danke!" and response.completed_at
    assert response.ticket_id == invitation.ticket_id and response.account_id == invitation.account_id and response.contact_id == invitation.contact_id
    assert db.session.scalar(select(Invitation)).status == InvitationStatus.ANSWERED


def test_nps_email_links_preselect_but_never_save(client, db, make_invitation):
    invitation, token = make_invitation(kind="nps")
    html = client.get(f"/s/{token}?score=3").get_data(as_text=True)
    assert re.search(r'value="3"\s+checked', html)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0  # a mail scanner's GET saves nothing


def test_a_customer_who_only_gives_the_score_is_counted(client, db, make_invitation):
    invitation, token = make_invitation(kind="nps")
    nps = invitation.survey.questions[0]
    client.post(f"/s/{token}", data={"question": nps.id, "answer": "10"})
    response = db.session.scalar(select(Response))
    assert response.nps_score == 10 and response.completed_at is None


def test_the_follow_up_wording_depends_on_the_score(client, make_invitation):
    invitation, token = make_invitation(kind="nps")
    nps = invitation.survey.questions[0]
    client.post(f"/s/{token}", data={"question": nps.id, "answer": "2"})
    assert "Das tut uns leid" in client.get(f"/s/{token}").get_data(as_text=True)


def test_htmx_swaps_the_next_step_in_place(client, make_invitation):
    invitation, token = make_invitation(kind="nps")
    nps = invitation.survey.questions[0]
    step = client.post(f"/s/{token}", data={"question": nps.id, "answer": "9"}, headers=HTMX)
    html = step.get_data(as_text=True)
    assert step.status_code == 200 and "<html" not in html and "Was gefällt Ihnen" in html
    assert "Frage 2 von 2" in html  # the contact speaks German
    full = client.get(f"/s/{token}")
    assert "<html" in full.get_data(as_text=True) and "HX-Request" in full.headers["Vary"]
    fragment = client.get(f"/s/{token}", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "Was gefällt Ihnen" in fragment


def test_back_shows_the_previous_answer(client, make_invitation):
    invitation, token = make_invitation(kind="nps")
    nps = invitation.survey.questions[0]
    client.post(f"/s/{token}", data={"question": nps.id, "answer": "7"})
    html = client.get(f"/s/{token}?q=1", headers=HTMX).get_data(as_text=True)
    assert re.search(r'value="7"\s+checked', html)


def test_a_double_submit_is_harmless(client, db, make_invitation):
    invitation, token = make_invitation(kind="nps")
    nps = invitation.survey.questions[0]
    for _ in range(3):
        client.post(f"/s/{token}", data={"question": nps.id, "answer": "8"})
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 1


def test_the_page_speaks_the_contacts_language(client, make_invitation, make_contact):
    invitation, token = make_invitation(kind="nps", contact=make_contact(language="en"))
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert 'lang="en"' in html and "recommend us to a business partner" in html


def test_token_pages_leak_no_referrer_and_are_not_cached(client, make_invitation):
    _, token = make_invitation()
    response = client.get(f"/s/{token}")
    assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["Cache-Control"] == "no-store"


def test_unknown_token_404_expired_410_answered_thanks(client, db, make_invitation):
    assert client.get("/s/does-not-exist").status_code == 404
    invitation, token = make_invitation(kind="nps")
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get(f"/s/{token}").status_code == 410
    assert client.post(f"/s/{token}", data={"question": invitation.survey.questions[0].id, "answer": "5"}).status_code == 410

    other, other_token = make_invitation(kind="nps")
    for question in other.survey.questions:
        client.post(f"/s/{other_token}", data={"question": question.id, "answer": "10" if question.type == "nps" else ""})
    page = client.get(f"/s/{other_token}")
    assert page.status_code == 200 and "Vielen Dank!" in page.get_data(as_text=True)


def test_token_guessing_is_rate_limited(app, make_invitation):
    app.config["PORTAL_TOKEN_LIMIT_PER_IP"] = "5 per minute"
    client = app.test_client()
    _, token = make_invitation()
    for n in range(5):
        assert client.get(f"/s/guess{n}").status_code == 404
    assert client.get("/s/guess-more").status_code == 429
    assert client.get(f"/s/{token}").status_code == 429  # the address is blocked for a while


@pytest.mark.parametrize(
    "answer",
    [["11"], ["-1"], ["abc"], ["5", "6"], ["1e3"], ["\x00"], [""], ["9\x00"]],
)
def test_bad_scores_are_4xx_never_500(client, db, make_invitation, answer):
    invitation, token = make_invitation(kind="nps")
    nps = invitation.survey.questions[0]
    for headers in ({}, HTMX):
        response = client.post(f"/s/{token}", data={"question": nps.id, "answer": answer}, headers=headers)
        assert response.status_code == 422 if answer != ["9\x00"] else response.status_code in (303, 200)
    if answer != ["9\x00"]:
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0


@pytest.mark.parametrize("question", ["", "abc", "999999", ["1", "2"]])
def test_bad_question_ids_are_400(client, make_invitation, question):
    _, token = make_invitation()
    assert client.post(f"/s/{token}", data={"question": question, "answer": "5"}).status_code == 400


def test_very_long_comments_are_refused_with_a_message(client, db, make_invitation):
    invitation, token = make_invitation(kind="nps")
    nps, follow_up = invitation.survey.questions
    client.post(f"/s/{token}", data={"question": nps.id, "answer": "9"})
    response = client.post(f"/s/{token}", data={"question": follow_up.id, "answer": "x" * 5001})
    assert response.status_code == 422 and "Ihr Text ist zu lang" in response.get_data(as_text=True)
    ok = client.post(f"/s/{token}", data={"question": follow_up.id, "answer": "ä" * 5000})
    assert ok.status_code == 303
    assert db.session.scalar(select(Response)).comment == "ä" * 5000


def test_choices_are_checked_against_the_options(client, db, make_invitation):
    invitation, token = make_invitation(kind="custom")
    question = invitation.survey.questions[0]
    assert client.post(f"/s/{token}", data={"question": question.id, "answer": "maybe"}).status_code == 422
    assert client.post(f"/s/{token}", data={"question": question.id, "answer": "planned"}).status_code == 303


def test_optional_questions_can_be_skipped(client, db, make_invitation):
    invitation, token = make_invitation(kind="nps")
    nps, follow_up = invitation.survey.questions
    client.post(f"/s/{token}", data={"question": nps.id, "answer": "9"})
    client.post(f"/s/{token}", data={"question": follow_up.id, "answer": ""})
    assert db.session.scalar(select(Response)).completed_at is not None


def test_unsubscribe_confirm_then_opt_out(client, db, make_invitation, smtp_server):
    recorder, _ = smtp_server
    invitation, _ = make_invitation()
    mail.deliver_due()
    url = re.search(r"<(http://localhost/u/[^>]+)>", recorder.messages[0]["List-Unsubscribe"]).group(1)
    page = client.get(path_of(url))
    assert page.status_code == 200 and "Keine Umfragen mehr?" in page.get_data(as_text=True)
    assert db.session.get(Invitation, invitation.id).contact.survey_opt_out is False  # GET changes nothing
    done = client.post(path_of(url))
    assert done.status_code == 200 and db.session.get(Invitation, invitation.id).contact.survey_opt_out is True


def test_rfc8058_one_click_works_without_cookies(app, db, make_invitation, smtp_server):
    recorder, _ = smtp_server
    invitation, _ = make_invitation()
    mail.deliver_due()
    url = re.search(r"<(http://localhost/u/[^>]+)>", recorder.messages[0]["List-Unsubscribe"]).group(1)
    fresh = app.test_client(use_cookies=False)
    response = fresh.post(path_of(url), data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert db.session.get(Invitation, invitation.id).contact.survey_opt_out is True
    assert fresh.post("/u/unknown-token").status_code == 404


def test_unsubscribe_with_htmx_returns_the_fragment(client, db, make_invitation):
    from portal.tokens import new_token

    invitation, _ = make_invitation()
    raw, hashed = new_token()
    db.session.get(Invitation, invitation.id).unsubscribe_token_hash = hashed
    db.session.commit()
    page = client.get(f"/u/{raw}", headers=HTMX).get_data(as_text=True)
    assert "<html" not in page and "Keine Umfragen mehr?" in page
    done = client.post(f"/u/{raw}", headers=HTMX)
    assert done.status_code == 200 and "<html" not in done.get_data(as_text=True)
    assert "Sie erhalten keine Umfragen mehr" in done.get_data(as_text=True)


def test_survey_pages_set_no_cookie_and_switch_language_per_page(client, make_invitation):
    invitation, token = make_invitation(kind="nps")
    page = client.get(f"/s/{token}")
    assert "Set-Cookie" not in page.headers  # secret-link pages keep no session
    english = client.get(f"/s/{token}?lang=en").get_data(as_text=True)
    assert 'lang="en"' in english and "recommend us to a business partner" in english
    assert 'name="lang" value="en"' in english  # the answer keeps the choice
    answered = client.post(f"/s/{token}", data={"question": invitation.survey.questions[0].id, "answer": "9", "lang": "en"})
    assert answered.location.endswith("?lang=en")


def test_the_language_switch_keeps_the_preselected_score(client, make_invitation):
    _, token = make_invitation(kind="nps")
    html = client.get(f"/s/{token}?score=8").get_data(as_text=True)
    links = {code: url.replace("&amp;", "&") for url, code in re.findall(r'<a href="([^"]+)" lang="(de|en)" class="link-button', html)}
    assert urlsplit(links["en"]).path == f"/s/{token}"
    page = client.get(links["en"]).get_data(as_text=True)
    assert "recommend us to a business partner" in page
    assert re.search(r'value="8" checked', page)  # still preselected, still not saved


def test_secret_link_pages_show_no_staff_chrome_to_a_signed_in_user(login_as, make_invitation):
    _, token = make_invitation()
    client = login_as("admin")
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert "staff-nav" not in html and "/logout" not in html  # a forwarded link shows the customer's page only
    assert "hx-headers" not in html  # and no CSRF token
    assert 'class="brand" href' not in html  # nor a link to the staff sign-in


def test_a_blocked_address_is_refused_on_every_secret_link_page(app, make_invitation):
    app.config["PORTAL_TOKEN_LIMIT_PER_IP"] = "3 per minute"
    client = app.test_client()
    invitation, token = make_invitation()
    for n in range(3):
        client.get(f"/u/guess{n}")
    assert client.post(f"/s/{token}", data={"question": invitation.survey.questions[0].id, "answer": "5"}).status_code == 429


def test_an_unknown_link_explains_itself_without_a_way_into_the_staff_area(client, db):
    for path in ("/s/does-not-exist", "/u/does-not-exist"):
        response = client.get(path, headers={"Accept-Language": "de-DE,de;q=0.9"})
        html = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "Dieser Link funktioniert nicht" in html and "vollständigen Link" in html
        assert "/login" not in html and "/staff" not in html and "Startseite" not in html
        assert response.headers["Cache-Control"] == "no-store"
    english = client.get("/s/does-not-exist", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "This link does not work" in english


def test_an_expired_link_says_until_when_it_was_open_in_the_contacts_language(client, db, make_invitation, make_contact):
    invitation, token = make_invitation(kind="nps", contact=make_contact(language="en"))
    invitation.expires_at = datetime(2026, 3, 2, 12, 0)
    db.session.commit()
    for response in (client.get(f"/s/{token}"), client.post(f"/s/{token}", data={"question": invitation.survey.questions[0].id, "answer": "5"})):
        html = response.get_data(as_text=True)
        assert response.status_code == 410
        assert "This survey has ended" in html and "2 March 2026" in html and "/login" not in html
    fragment = client.post(f"/s/{token}", data={"question": invitation.survey.questions[0].id, "answer": "5"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 410 and "<html" not in fragment.get_data(as_text=True) and "This survey has ended" in fragment.get_data(as_text=True)


def test_the_language_chosen_on_the_page_is_kept_when_the_link_is_reopened(client, db, make_invitation):
    invitation, token = make_invitation(kind="nps")  # a German contact
    assert 'lang="de"' in client.get(f"/s/{token}").get_data(as_text=True)
    assert "recommend us" in client.get(f"/s/{token}?lang=en").get_data(as_text=True)
    client.post(f"/s/{token}?lang=en", data={"question": invitation.survey.questions[0].id, "answer": "8", "lang": "en"})
    reopened = client.get(f"/s/{token}").get_data(as_text=True)
    assert 'lang="en"' in reopened
