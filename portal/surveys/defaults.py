"""Sensible starting surveys, one per kind, in German and English.

Used by the demo seed and offered to admins as a starting point. Texts are
written for a telecom operator's business customers.
"""

from __future__ import annotations

from portal.surveys.models import Question, QuestionType, Survey, SurveyKind

EMAIL_SUBJECT = {
    SurveyKind.POST_TICKET: {
        "de": "Wie zufrieden waren Sie mit unserer Hilfe?{% if ticket.id %} (Ticket {{ ticket.id }}){% endif %}",
        "en": "How satisfied were you with our help?{% if ticket.id %} (ticket {{ ticket.id }}){% endif %}",
    },
    SurveyKind.POST_INSTALLATION: {
        "de": "Wie lief Ihre Installation{% if project.name %} „{{ project.name }}“{% endif %}?",
        "en": "How did your installation{% if project.name %} “{{ project.name }}”{% endif %} go?",
    },
    SurveyKind.NPS: {
        "de": "Würden Sie {{ brand }} weiterempfehlen?",
        "en": "Would you recommend {{ brand }}?",
    },
    SurveyKind.CUSTOM: {
        "de": "Ihre Meinung ist uns wichtig",
        "en": "We value your opinion",
    },
    SurveyKind.RECOVERY: {
        "de": "Hat sich Ihr Anliegen erledigt?",
        "en": "Has your concern been resolved?",
    },
}

EMAIL_BODY = {
    SurveyKind.POST_TICKET: {
        "de": "Guten Tag {{ contact.name }},\n\nwir haben Ihr Anliegen{% if ticket.subject %} **„{{ ticket.subject }}“**{% endif %} abgeschlossen. "
        "Wie zufrieden sind Sie mit der Bearbeitung? Die Antwort dauert weniger als eine Minute.\n\nVielen Dank!",
        "en": "Hello {{ contact.name }},\n\nwe have closed your request{% if ticket.subject %} **“{{ ticket.subject }}”**{% endif %}. "
        "How satisfied are you with how we handled it? Answering takes less than a minute.\n\nThank you!",
    },
    SurveyKind.POST_INSTALLATION: {
        "de": "Guten Tag {{ contact.name }},\n\ndie Installation{% if project.name %} **{{ project.name }}**{% endif %} für {{ account.name }} ist abgeschlossen. "
        "Wir möchten wissen, wie zufrieden Sie mit Planung, Termintreue und Ergebnis sind.",
        "en": "Hello {{ contact.name }},\n\nthe installation{% if project.name %} **{{ project.name }}**{% endif %} for {{ account.name }} is complete. "
        "We would like to know how satisfied you are with the planning, the schedule and the result.",
    },
    SurveyKind.NPS: {
        "de": "Guten Tag {{ contact.name }},\n\neinmal im Halbjahr fragen wir unsere Geschäftskunden: "
        "Wie wahrscheinlich ist es, dass Sie uns einem Geschäftspartner empfehlen? Klicken Sie einfach auf eine Zahl.",
        "en": "Hello {{ contact.name }},\n\ntwice a year we ask our business customers: "
        "how likely is it that you would recommend us to a business partner? Just click a number.",
    },
    SurveyKind.CUSTOM: {
        "de": "Guten Tag {{ contact.name }},\n\nwir haben ein paar kurze Fragen an Sie.",
        "en": "Hello {{ contact.name }},\n\nwe have a few short questions for you.",
    },
    # {{ concern }} is written by the portal: "Ihr Anliegen „Echo bei Gesprächen“", or "Ihre Rückmeldung vom 3. November 2026".
    SurveyKind.RECOVERY: {
        "de": "Guten Tag {{ contact.name }},\n\nvor einigen Tagen haben wir uns um {% if concern %}{{ concern }}{% else %}Ihr Anliegen{% endif %} gekümmert. "
        "Hat sich Ihr Anliegen damit erledigt? Ihre Antwort dauert weniger als eine Minute und zeigt uns, ob noch etwas zu tun ist.\n\nVielen Dank!",
        "en": "Hello {{ contact.name }},\n\na few days ago we followed up on {% if concern %}{{ concern }}{% else %}your concern{% endif %}. "
        "Has your concern been resolved? Answering takes less than a minute and tells us whether anything is still to be done.\n\nThank you!",
    },
}

NPS_TEXT = {
    "de": "Wie wahrscheinlich ist es, dass Sie uns einem Geschäftspartner weiterempfehlen?",
    "en": "How likely is it that you would recommend us to a business partner?",
}
NPS_FOLLOW_UP = {
    "promoter": {"de": "Schön! Was gefällt Ihnen besonders an uns?", "en": "Great! What do you like most about us?"},
    "passive": {"de": "Was müssten wir besser machen, damit Sie uns eine 9 oder 10 geben?", "en": "What would we have to do better for you to give us a 9 or 10?"},
    "detractor": {"de": "Das tut uns leid. Was ist schiefgelaufen, und was sollten wir zuerst verbessern?", "en": "We are sorry. What went wrong, and what should we improve first?"},
}
THANK_YOU = {
    "de": "Vielen Dank für Ihre Rückmeldung! Ihre Ansprechperson bei uns sieht Ihre Antworten und meldet sich, wenn etwas zu klären ist.",
    "en": "Thank you for your feedback! Your account manager sees your answers and will get in touch if anything needs clarifying.",
}


def _q(position: int, type_: str, text: dict, required: bool = False, **kwargs) -> Question:
    return Question(position=position, type=type_, text=text, required=required, **kwargs)


def post_ticket_survey() -> Survey:
    return Survey(
        name="Zufriedenheit nach Ticket",
        kind=SurveyKind.POST_TICKET,
        active=True,
        title={"de": "Wie war unser Support?", "en": "How was our support?"},
        intro={"de": "Drei kurze Fragen zu Ihrem abgeschlossenen Ticket.", "en": "Three short questions about your closed ticket."},
        thank_you=THANK_YOU,
        email_subject=EMAIL_SUBJECT[SurveyKind.POST_TICKET],
        email_body=EMAIL_BODY[SurveyKind.POST_TICKET],
        delay_hours=2,
        min_days_since_any=7,
        min_days_since_this=14,
        max_per_90_days=4,
        expires_after_days=14,
        reminder_after_days=4,
        questions=[
            _q(1, QuestionType.CSAT, {"de": "Wie zufrieden sind Sie mit der Lösung Ihres Anliegens?", "en": "How satisfied are you with the resolution of your request?"}, required=True),
            _q(
                2,
                QuestionType.SINGLE,
                {"de": "Wurde Ihr Anliegen beim ersten Kontakt gelöst?", "en": "Was your request resolved at the first contact?"},
                options=[
                    {"value": "yes", "de": "Ja", "en": "Yes"},
                    {"value": "no", "de": "Nein, es waren mehrere Kontakte nötig", "en": "No, it took several contacts"},
                ],
            ),
            _q(3, QuestionType.TEXT, {"de": "Möchten Sie uns noch etwas mitteilen?", "en": "Is there anything else you would like to tell us?"}),
        ],
    )


def post_installation_survey() -> Survey:
    return Survey(
        name="Zufriedenheit nach Installation",
        kind=SurveyKind.POST_INSTALLATION,
        active=True,
        title={"de": "Wie lief Ihre Installation?", "en": "How did your installation go?"},
        thank_you=THANK_YOU,
        email_subject=EMAIL_SUBJECT[SurveyKind.POST_INSTALLATION],
        email_body=EMAIL_BODY[SurveyKind.POST_INSTALLATION],
        delay_hours=24,
        min_days_since_any=7,
        min_days_since_this=30,
        max_per_90_days=4,
        expires_after_days=21,
        reminder_after_days=5,
        questions=[
            _q(1, QuestionType.CSAT, {"de": "Wie zufrieden sind Sie insgesamt mit der Installation?", "en": "Overall, how satisfied are you with the installation?"}, required=True),
            _q(
                2,
                QuestionType.RATING,
                {"de": "Wie gut wurden vereinbarte Termine eingehalten?", "en": "How well were agreed dates kept?"},
                scale_min=1,
                scale_max=7,
                scale_labels={"low": {"de": "gar nicht", "en": "not at all"}, "high": {"de": "vollständig", "en": "completely"}},
            ),
            _q(
                3,
                QuestionType.MULTIPLE,
                {"de": "Was hat gut funktioniert?", "en": "What worked well?"},
                options=[
                    {"value": "planning", "de": "Planung und Abstimmung", "en": "Planning and coordination"},
                    {"value": "technician", "de": "Techniker:in vor Ort", "en": "Technician on site"},
                    {"value": "porting", "de": "Rufnummernportierung", "en": "Number porting"},
                    {"value": "documentation", "de": "Dokumentation", "en": "Documentation"},
                ],
            ),
            _q(4, QuestionType.TEXT, {"de": "Was hätten wir besser machen können?", "en": "What could we have done better?"}),
        ],
    )


def nps_survey() -> Survey:
    return Survey(
        name="Halbjährlicher NPS",
        kind=SurveyKind.NPS,
        active=True,
        title={"de": "Ihre Empfehlung", "en": "Your recommendation"},
        thank_you=THANK_YOU,
        email_subject=EMAIL_SUBJECT[SurveyKind.NPS],
        email_body=EMAIL_BODY[SurveyKind.NPS],
        min_days_since_any=14,
        min_days_since_this=150,
        max_per_90_days=3,
        expires_after_days=21,
        reminder_after_days=5,
        interval_days=180,
        daily_cap=100,
        questions=[
            _q(1, QuestionType.NPS, NPS_TEXT, required=True),
            _q(2, QuestionType.NPS_FOLLOW_UP, NPS_FOLLOW_UP),
        ],
    )


def custom_survey() -> Survey:
    return Survey(
        name="Umfrage: Microsoft-Teams-Telefonie",
        kind=SurveyKind.CUSTOM,
        active=True,
        title={"de": "Telefonie in Microsoft Teams", "en": "Calling in Microsoft Teams"},
        thank_you=THANK_YOU,
        email_subject=EMAIL_SUBJECT[SurveyKind.CUSTOM],
        email_body=EMAIL_BODY[SurveyKind.CUSTOM],
        questions=[
            _q(
                1,
                QuestionType.SINGLE,
                {"de": "Nutzen Sie Microsoft Teams in Ihrem Unternehmen?", "en": "Does your company use Microsoft Teams?"},
                required=True,
                options=[
                    {"value": "yes", "de": "Ja", "en": "Yes"},
                    {"value": "planned", "de": "Geplant", "en": "Planned"},
                    {"value": "no", "de": "Nein", "en": "No"},
                ],
            ),
            _q(2, QuestionType.RATING, {"de": "Wie wichtig wäre Ihnen Telefonie direkt in Teams?", "en": "How important would calling directly in Teams be to you?"}, scale_min=1, scale_max=5, scale_labels={"low": {"de": "unwichtig", "en": "unimportant"}, "high": {"de": "sehr wichtig", "en": "very important"}}),
        ],
    )


def recovery_survey() -> Survey:
    """Goes to the contact of a resolved follow-up task (the alert rule says how many days
    later); throttling does not apply to it, an opt-out does. The first single choice's
    ``yes`` (SurveyKind.RESOLVED_YES) means recovered."""
    return Survey(
        name="Nach der Nachfassaufgabe",
        kind=SurveyKind.RECOVERY,
        active=True,
        title={"de": "Kurze Nachfrage zu Ihrem Anliegen", "en": "A quick check on your concern"},
        intro={"de": "Drei kurze Fragen dazu, ob unsere Hilfe gewirkt hat.", "en": "Three short questions on whether our help worked."},
        thank_you={
            "de": "Vielen Dank für Ihre Antwort! Ihre Ansprechperson bei uns sieht sie und meldet sich, falls noch etwas offen ist.",
            "en": "Thank you for your answer! Your account manager sees it and will get in touch if anything is still open.",
        },
        email_subject=EMAIL_SUBJECT[SurveyKind.RECOVERY],
        email_body=EMAIL_BODY[SurveyKind.RECOVERY],
        expires_after_days=14,
        reminder_after_days=5,
        questions=[
            _q(
                1,
                QuestionType.SINGLE,
                {"de": "Hat sich Ihr Anliegen erledigt?", "en": "Has your concern been resolved?"},
                required=True,
                options=[
                    {"value": SurveyKind.RESOLVED_YES, "de": "Ja, es ist erledigt", "en": "Yes, it has been resolved"},
                    {"value": "partly", "de": "Teilweise", "en": "Partly"},
                    {"value": "no", "de": "Nein, noch nicht", "en": "No, not yet"},
                ],
            ),
            _q(2, QuestionType.CSAT, {"de": "Wie zufrieden sind Sie damit, wie wir uns um Ihr Anliegen gekümmert haben?", "en": "How satisfied are you with how we took care of your concern?"}, required=True),
            _q(3, QuestionType.TEXT, {"de": "Möchten Sie uns noch etwas mitteilen?", "en": "Is there anything else you would like to tell us?"}),
        ],
    )


def all_default_surveys() -> list[Survey]:
    return [post_ticket_survey(), post_installation_survey(), nps_survey(), custom_survey(), recovery_survey()]
