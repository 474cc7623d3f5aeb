"""The rule engine and the task workflow of the follow-ups package: each rule,
its thresholds, umlauts, the significance of an account's fall, one task per
response, the workflow, who sees what, the digest and the CRM's open tasks."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.followups import digest, evaluation, lists, recovery, rules as alert_rules, services, taskpage, titles, workflow
from portal.followups.models import ActivityKind, AlertRule, Priority, RuleChange, RuleKind, Task, TaskStatus
from portal.mail.models import OutboxMessage
from portal.reports.metrics import NpsFigures
from portal.surveys import services as surveys
from portal.surveys.models import Response
from portal.timeutil import utcnow


# --- helpers ------------------------------------------------------------------------------


def answer(survey, invitation, position: int, *values, now=None) -> Response:
    """Record one answer step the way the survey page does (the signal runs the rules)."""
    question = survey.questions[position - 1]
    parsed = surveys.parse_answer(question, [str(v) for v in values])
    return surveys.record_answer(invitation, survey, question, parsed, now=now)


@pytest.fixture
def answered(db, make_survey, make_contact, make_invitation):
    """answered(score, comment=None, kind="nps", contact=None, at=None) -> the Response, committed."""
    surveys_by_kind = {}

    def _answer(score, comment=None, kind="nps", contact=None, at=None):
        if kind not in surveys_by_kind:
            surveys_by_kind[kind] = make_survey(kind)
        survey = surveys_by_kind[kind]
        invitation, _token = make_invitation(survey=survey, contact=contact or make_contact())
        response = answer(survey, invitation, 1, score, now=at)
        if comment is not None:
            position = 2 if kind == "nps" else len(survey.questions)
            response = answer(survey, invitation, position, comment, now=at)
        db.session.commit()
        return response

    return _answer


def task_of(db, response) -> Task | None:
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.response_id == response.id))


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def rule(db, kind) -> AlertRule:
    alert_rules.seed_default_rules()
    return db.session.scalar(select(AlertRule).where(AlertRule.kind == kind))


# --- keywords (pure) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Wir werden kündigen.",
        "Wir werden KUENDIGEN, wenn das so bleibt",
        "Wir prüfen die Kündigung",
        "Die Kuendigungsfrist läuft bald ab",
        "Wir denken über eine Vertragskündigung nach",  # long keywords also inside compounds
        "Ich kündige zum Jahresende",
        "Wir wollen den Vertrag   beenden",  # any whitespace between the words
        "Wir überlegen, den ANBIETER WECHSELN zu lassen",
        "Wechsel zur Konkurrenz ist geplant",
        "We will cancel the contract",
        "Cancellation is on the table",
    ],
)
def test_keywords_match_case_and_umlaut_insensitively(text):
    assert alert_rules.matching_keywords(alert_rules.DEFAULT_KEYWORDS, [text])


@pytest.mark.parametrize(
    "text",
    [
        "Sehr zufrieden, danke!",
        "Die Kundin war freundlich",
        "Wir haben den Anbieter gelobt",
        "Rückrufwechsel zügig",  # short keywords only at the start of a word
        "",
    ],
)
def test_ordinary_comments_match_no_keyword(text):
    assert alert_rules.matching_keywords(alert_rules.DEFAULT_KEYWORDS, [text]) == []


def test_umlauts_in_the_keyword_match_written_out_in_the_text_and_back():
    assert alert_rules.matching_keywords(["Kündigung"], ["kuendigung"]) == ["Kündigung"]
    assert alert_rules.matching_keywords(["Kuendigung"], ["KÜNDIGUNG"]) == ["Kuendigung"]
    assert alert_rules.matching_keywords(["Straße"], ["STRASSE"]) == ["Straße"]
    assert alert_rules.matching_keywords(["kündigen"], ["ku\u0308ndigen"]) == ["kündigen"]  # decomposed ü


# --- each rule, its threshold -----------------------------------------------------------------


def fake(nps=None, csat=None, comment=None) -> Response:
    return Response(nps_score=nps, csat_score=csat, comment=comment, answers=[])


@pytest.mark.parametrize(("score", "hit"), [(0, True), (6, True), (7, False), (10, False), (None, False)])
def test_detractor_rule_threshold(score, hit):
    assert alert_rules.matches(AlertRule(kind=RuleKind.DETRACTOR, threshold=6), fake(nps=score)) is hit


def test_detractor_threshold_is_the_rules():
    assert alert_rules.matches(AlertRule(kind=RuleKind.DETRACTOR, threshold=4), fake(nps=5)) is False
    assert alert_rules.matches(AlertRule(kind=RuleKind.DETRACTOR, threshold=4), fake(nps=4)) is True


@pytest.mark.parametrize(("score", "hit"), [(1, True), (2, True), (3, False), (5, False), (None, False)])
def test_low_csat_rule_threshold(score, hit):
    assert alert_rules.matches(AlertRule(kind=RuleKind.LOW_CSAT, threshold=2), fake(csat=score)) is hit


@pytest.mark.parametrize(("previous", "score", "hit"), [(9, 6, True), (10, 7, True), (9, 7, False), (None, 2, False), (5, 8, False)])
def test_score_drop_rule_threshold(previous, score, hit):
    assert alert_rules.matches(AlertRule(kind=RuleKind.SCORE_DROP, threshold=3), fake(nps=score), previous) is hit


def test_account_drop_is_never_matched_on_one_answer():
    assert alert_rules.matches(AlertRule(kind=RuleKind.ACCOUNT_DROP), fake(nps=0)) is False


def test_a_fall_must_be_significant_not_just_large():
    before = NpsFigures(responses=30, promoters=21, passives=6, detractors=3)
    fell = NpsFigures(responses=30, promoters=6, passives=9, detractors=15)
    assert alert_rules.is_significant_drop(before, fell)
    # The same shares from 20 answers each: under 30 a period never makes a fall significant.
    assert not alert_rules.is_significant_drop(NpsFigures(20, 14, 4, 2), NpsFigures(20, 4, 6, 10))
    # The same fall in points from three answers each is not significant.
    assert not alert_rules.is_significant_drop(NpsFigures(3, 2, 1, 0), NpsFigures(3, 1, 0, 2))
    assert not alert_rules.is_significant_drop(fell, before)  # a rise
    assert not alert_rules.is_significant_drop(NpsFigures(0, 0, 0, 0), fell)
    # One promoter before, one detractor now: "unanimous" periods, but one answer each proves nothing.
    assert not alert_rules.is_significant_drop(NpsFigures(1, 1, 0, 0), NpsFigures(1, 0, 0, 1))
    # Three unanimous answers a side: no variance at all, yet still too few to call it real.
    assert not alert_rules.is_significant_drop(NpsFigures(3, 3, 0, 0), NpsFigures(3, 0, 0, 3))


# --- tasks from answers ---------------------------------------------------------------------------


def test_rules_are_seeded_once_on_a_fresh_database(db):
    assert {r.kind for r in alert_rules.rules()} == set(RuleKind.ALL)
    assert alert_rules.seed_default_rules() == 0
    assert count(db, AlertRule) == len(RuleKind.ALL)
    keywords = rule(db, RuleKind.KEYWORDS)
    assert "Kündigung" in keywords.keywords and keywords.priority == Priority.URGENT and keywords.due_hours == 24
    assert rule(db, RuleKind.ACCOUNT_DROP).follow_up_days is None


def test_a_detractor_answer_becomes_a_task_for_the_account_manager(db, answered, make_staff, make_account, make_contact):
    manager = make_staff(role=Role.ACCOUNT_MANAGER)
    account = make_account(name="Müller Logistik GmbH", account_manager_id=manager.id)
    before = utcnow()
    response = answered(4, contact=make_contact(account))
    task = task_of(db, response)
    assert task is not None
    assert task.rule_kinds == [RuleKind.DETRACTOR]
    assert task.assignee_id == manager.id and task.status == TaskStatus.OPEN and task.priority == Priority.HIGH
    assert before + timedelta(hours=47) < task.due_at <= utcnow() + timedelta(hours=48)
    assert task.follow_up_days == 14
    assert titles.task_title(task, "en") == "Follow up with Müller Logistik GmbH — NPS fell to 4"
    assert [r.kind for r in task.rules] == [RuleKind.DETRACTOR]
    notification = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "followup_task"))
    assert notification.to_address == manager.email
    assert f"/staff/tasks/{task.id}" in notification.text_body


def test_the_title_is_in_the_readers_language(db, answered, make_account, make_contact):
    response = answered(4, contact=make_contact(make_account(name="Müller Logistik GmbH")))
    task = task_of(db, response)
    assert titles.task_title(task, "de") == "Nachfassen bei Müller Logistik GmbH — NPS auf 4 gefallen"


def test_a_passive_or_promoter_answer_makes_no_task(db, answered):
    assert task_of(db, answered(7)) is None
    assert task_of(db, answered(10, comment="Alles bestens")) is None
    assert count(db, Task) == 0 and count(db, OutboxMessage, OutboxMessage.kind == "followup_task") == 0


def test_the_comment_step_adds_its_rule_to_the_same_task(db, answered, make_staff, make_account, make_contact):
    manager = make_staff(role=Role.ACCOUNT_MANAGER)
    response = answered(5, comment="Wenn das so bleibt, werden wir kündigen.", contact=make_contact(make_account(account_manager_id=manager.id)))
    task = task_of(db, response)
    assert count(db, Task) == 1
    assert task.rule_kinds == [RuleKind.DETRACTOR, RuleKind.KEYWORDS]
    assert task.priority == Priority.URGENT
    assert task.due_at <= task.created_at + timedelta(hours=24)
    assert task.title_values["reason"] == "keywords"
    assert titles.task_title(task, "en").endswith("— comment mentions cancelling")
    assert count(db, OutboxMessage, OutboxMessage.kind == "followup_task") == 1  # one email per task, not per step


def test_a_keyword_alone_makes_a_task(db, answered):
    task = task_of(db, answered(8, comment="Wir überlegen, zu einem anderen Anbieter zu wechseln. Kündigung ist vorbereitet."))
    assert task is not None and task.rule_kinds == [RuleKind.KEYWORDS]


def test_a_low_csat_makes_a_task(db, answered):
    task = task_of(db, answered(2, kind="post_ticket"))
    assert task.rule_kinds == [RuleKind.LOW_CSAT]
    assert titles.task_title(task, "en").endswith("— satisfaction 2 of 5")
    assert task_of(db, answered(3, kind="post_ticket")) is None


def test_a_contacts_fall_by_three_points_names_both_scores(db, answered, make_contact):
    contact = make_contact()
    answered(9, contact=contact, at=utcnow() - timedelta(days=200))
    task = task_of(db, answered(6, contact=contact))
    assert set(task.rule_kinds) == {RuleKind.DETRACTOR, RuleKind.SCORE_DROP}
    assert titles.task_title(task, "en").endswith("— NPS fell from 9 to 6")
    other = make_contact()
    answered(9, contact=other, at=utcnow() - timedelta(days=200))
    assert task_of(db, answered(7, contact=other)) is None  # two points: no task


def test_a_disabled_rule_does_not_match(db, answered):
    rule(db, RuleKind.DETRACTOR).enabled = False
    db.session.commit()
    assert task_of(db, answered(3)) is None


def test_evaluating_again_never_makes_a_second_task(db, answered):
    response = answered(3, comment="schlecht")
    evaluation.evaluate_response(response)
    evaluation.evaluate_response(response)
    db.session.commit()
    assert count(db, Task) == 1


def test_the_first_question_answered_again_later_keeps_the_one_task(db, make_survey, make_invitation):
    """A response with one answer is not new when it is answered again (the back link):
    its task, committed with the first answer, is found and updated, not made twice."""
    survey = make_survey("nps")
    invitation, _token = make_invitation(survey=survey)
    response = answer(survey, invitation, 1, 3)
    db.session.commit()
    again = answer(survey, invitation, 1, 2)
    db.session.commit()
    assert again.id == response.id and count(db, Task) == 1
    assert task_of(db, response).title_values["score"] == 2


def test_without_an_account_manager_the_rules_fallback_user_gets_the_task(db, answered, make_staff, make_account, make_contact):
    fallback = make_staff(role=Role.MANAGER)
    rule(db, RuleKind.DETRACTOR).fallback_user_id = fallback.id
    db.session.commit()
    assert task_of(db, answered(2, contact=make_contact(make_account()))).assignee_id == fallback.id
    gone = make_staff(role=Role.ACCOUNT_MANAGER, active=False)
    assert task_of(db, answered(2, contact=make_contact(make_account(account_manager_id=gone.id)))).assignee_id == fallback.id


# --- account drops ------------------------------------------------------------------------------------


def history(db, make_contact, account, scores, days_ago):
    """One NPS answer per new contact of ``account``, ``days_ago`` days back (no rules run)."""
    from portal.surveys import defaults
    from portal.surveys.models import Invitation, Survey

    survey = db.session.scalar(select(Survey).where(Survey.kind == "nps")) or defaults.nps_survey()
    db.session.add(survey)
    db.session.flush()
    at = utcnow() - timedelta(days=days_ago)
    contacts = []
    for n, score in enumerate(scores):
        contact = make_contact(account)
        invitation = Invitation(
            survey=survey, contact=contact, account_id=account.id, token_hash=f"h{account.id}-{days_ago}-{n}",
            unsubscribe_token_hash=f"u{account.id}-{days_ago}-{n}", language="de", status="answered", created_at=at, expires_at=at + timedelta(days=21),
        )  # fmt: skip
        db.session.add(invitation)
        db.session.flush()
        db.session.add(Response(invitation_id=invitation.id, survey_id=survey.id, account_id=account.id, contact_id=contact.id, nps_score=score, created_at=at))
        contacts.append(contact)
    db.session.commit()
    return contacts


def test_a_significant_fall_of_the_account_nps_makes_one_account_task(db, make_account, make_contact, make_staff):
    manager = make_staff(role=Role.ACCOUNT_MANAGER)
    account = make_account(name="Nordlicht Hotel GmbH", account_manager_id=manager.id)
    history(db, make_contact, account, [10, 9, 9, 10, 9, 8, 9, 10, 9, 9, 10, 9] * 3, days_ago=120)  # 30 answers a side at least
    history(db, make_contact, account, [2, 3, 5, 4, 6, 1, 7, 3, 4, 2, 5, 9] * 3, days_ago=10)
    task = evaluation.check_account_drop(account)
    db.session.commit()
    assert task is not None and task.rule_kinds == [RuleKind.ACCOUNT_DROP] and task.response_id is None
    assert task.open_drop_account_id == account.id and task.priority == Priority.URGENT and task.assignee_id == manager.id
    assert titles.task_title(task, "en") == "Follow up with Nordlicht Hotel GmbH — account NPS fell significantly"
    assert evaluation.check_account_drop(account) is None  # one active per account
    workflow.change_status(task, manager, TaskStatus.DISMISSED, "Known: outage in May, credited.")
    db.session.commit()
    assert task.open_drop_account_id is None
    assert evaluation.check_account_drop(account) is None  # not again right after it was closed


def test_a_large_but_not_significant_fall_makes_no_account_task(db, make_account, make_contact):
    account = make_account()
    history(db, make_contact, account, [10, 9], days_ago=120)
    history(db, make_contact, account, [3, 9], days_ago=10)
    assert evaluation.check_account_drop(account) is None


def test_an_answer_checks_its_accounts_trend(db, make_account, make_contact, answered):
    account = make_account()
    history(db, make_contact, account, [10, 9, 9, 10, 9, 9, 10, 9, 9, 10] * 3, days_ago=120)
    history(db, make_contact, account, [2, 3, 5, 4, 1, 3, 4, 2, 5] * 3 + [3, 2], days_ago=10)
    answered(8, contact=make_contact(account))  # a passive: no task of its own, but the account's fall shows
    assert count(db, Task, Task.open_drop_account_id == account.id) == 1
    assert evaluation.check_account_drops() == 0  # the hourly job finds it open already


# --- the workflow ---------------------------------------------------------------------------------------


@pytest.fixture
def task(db, answered, make_staff, make_account, make_contact):
    manager = make_staff(role=Role.ACCOUNT_MANAGER)
    return task_of(db, answered(3, contact=make_contact(make_account(account_manager_id=manager.id))))


def test_logging_a_call_is_the_first_action_and_starts_the_task(db, task):
    user = task.assignee
    workflow.log_activity(task, user, ActivityKind.CALL, "Rückruf vereinbart")
    db.session.commit()
    assert task.first_action_at is not None and task.status == TaskStatus.IN_PROGRESS
    first = task.first_action_at
    workflow.log_activity(task, user, ActivityKind.NOTE, "Noch eine Notiz", now=utcnow() + timedelta(hours=3))
    assert task.first_action_at == first
    assert [a.kind for a in task.activities] == [ActivityKind.CALL, ActivityKind.STATUS, ActivityKind.NOTE]
    with pytest.raises(workflow.WorkflowError, match="unknown_kind"):
        workflow.log_activity(task, user, ActivityKind.STATUS, "x")
    with pytest.raises(workflow.WorkflowError, match="body_required"):
        workflow.log_activity(task, user, ActivityKind.CALL, "   ")


def test_status_transitions_and_outcomes(db, task):
    user = task.assignee
    with pytest.raises(workflow.WorkflowError, match="outcome_required"):
        workflow.change_status(task, user, TaskStatus.RESOLVED, "  ")
    with pytest.raises(workflow.WorkflowError, match="unknown_status"):
        workflow.change_status(task, user, "closed")
    with pytest.raises(workflow.WorkflowError, match="wait_until_required"):
        workflow.change_status(task, user, TaskStatus.WAITING)
    today = utcnow().date()
    for day in (today, today + timedelta(days=366)):
        with pytest.raises(workflow.WorkflowError, match="wait_until_out_of_range"):
            workflow.change_status(task, user, TaskStatus.WAITING, wait_until=day)
    waiting = workflow.change_status(task, user, TaskStatus.WAITING, wait_until=today + timedelta(days=7))
    assert waiting.change == {"from": TaskStatus.OPEN, "to": TaskStatus.WAITING, "until": (today + timedelta(days=7)).isoformat()}
    assert task.waiting_until == today + timedelta(days=7) and task.due_at == datetime.combine(today + timedelta(days=7), time())  # due again that day
    workflow.change_status(task, user, TaskStatus.IN_PROGRESS)
    assert task.waiting_until is None
    with pytest.raises(workflow.WorkflowError, match="transition_not_allowed"):
        workflow.change_status(task, user, TaskStatus.OPEN)
    now = utcnow()
    activity = workflow.change_status(task, user, TaskStatus.RESOLVED, "Gutschrift vereinbart", now=now)
    assert activity.change == {"from": TaskStatus.IN_PROGRESS, "to": TaskStatus.RESOLVED}
    assert task.closed_at == now and task.outcome == "Gutschrift vereinbart"
    assert task.follow_up_due_at == now + timedelta(days=14)
    with pytest.raises(workflow.WorkflowError, match="transition_not_allowed"):
        workflow.change_status(task, user, TaskStatus.DISMISSED, "x")
    workflow.change_status(task, user, TaskStatus.OPEN)  # reopened: no follow-up survey while it is open
    assert task.closed_at is None and task.follow_up_due_at is None
    workflow.change_status(task, user, TaskStatus.DISMISSED, "Doppelt erfasst")
    assert task.follow_up_due_at is None
    db.session.commit()


def test_reassigning_needs_an_active_customer_facing_user_and_tells_them(db, task, make_staff):
    editor = make_staff(role=Role.EDITOR)
    inactive = make_staff(role=Role.ACCOUNT_MANAGER, active=False)
    for bad in (editor.id, inactive.id, 999999, None):
        with pytest.raises(workflow.WorkflowError, match="invalid_assignee"):
            workflow.reassign(task, task.assignee, bad)
    colleague = make_staff(role=Role.ACCOUNT_MANAGER, language="de")
    first = task.assignee
    activity = workflow.reassign(task, task.assignee, colleague.id)
    db.session.commit()
    assert task.assignee_id == colleague.id and activity.kind == ActivityKind.REASSIGN and activity.change["to"] == colleague.name
    told = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == colleague.email))
    assert told is not None and told.locale == "de" and told.status == "queued"
    stale = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == first.email))
    assert stale.status == "cancelled"  # still queued when the task changed hands: withdrawn
    assert workflow.reassign(task, colleague, colleague.id) is None
    assert colleague in workflow.assignable_users() and editor not in workflow.assignable_users()


# --- who sees what --------------------------------------------------------------------------------------


def test_account_managers_see_their_portfolio_and_their_assignments_only(db, answered, make_staff, make_account, make_contact):
    anna, jonas = make_staff(role=Role.ACCOUNT_MANAGER), make_staff(role=Role.ACCOUNT_MANAGER)
    manager, editor = make_staff(role=Role.MANAGER), make_staff(role=Role.EDITOR)
    annas = task_of(db, answered(2, contact=make_contact(make_account(account_manager_id=anna.id))))
    jonass = task_of(db, answered(2, contact=make_contact(make_account(account_manager_id=jonas.id))))
    assert lists.get_task(anna, annas.id) is not None
    assert lists.get_task(anna, jonass.id) is None
    assert lists.get_task(editor, annas.id) is None
    assert lists.get_task(manager, jonass.id) is not None
    workflow.reassign(jonass, manager, anna.id)
    db.session.commit()
    assert lists.get_task(anna, jonass.id) is not None  # assigned to her now
    assert lists.get_task(jonas, jonass.id) is not None  # still his portfolio
    assert {t.id for t in lists.list_tasks(manager, lists.TaskFilters()).items} == {annas.id, jonass.id}
    assert lists.list_tasks(editor, lists.TaskFilters()).total == 0
    assert lists.counts_for(anna) == lists.TaskCounts(active=2, overdue=0)
    assert lists.counts_for(jonas) == lists.TaskCounts(active=0, overdue=0)
    assert lists.counts_for(manager).active == 2 and lists.counts_for(editor).active == 0


def test_lists_put_overdue_first_then_priority(db, answered, make_staff, make_account, make_contact):
    anna = make_staff(role=Role.ACCOUNT_MANAGER)
    account = make_account(account_manager_id=anna.id)
    keyword = task_of(db, answered(8, comment="Wir werden kündigen", contact=make_contact(account)))  # urgent, due in 24 h
    late = task_of(db, answered(3, contact=make_contact(account)))
    late.due_at = utcnow() - timedelta(hours=1)  # high, overdue
    normal = task_of(db, answered(5, contact=make_contact(account)))  # high, due in 48 h
    db.session.commit()
    order = [t.id for t in lists.my_tasks(anna)]
    assert order == [late.id, keyword.id, normal.id]
    assert lists.counts_for(anna) == lists.TaskCounts(active=3, overdue=1)
    page = lists.list_tasks(anna, lists.TaskFilters(overdue=True))
    assert [t.id for t in page.items] == [late.id]
    by_rule = lists.list_tasks(anna, lists.TaskFilters(rule_kind=RuleKind.KEYWORDS))
    assert [t.id for t in by_rule.items] == [keyword.id]
    workflow.change_status(normal, anna, TaskStatus.RESOLVED, "erledigt")
    db.session.commit()
    assert [t.id for t in lists.list_tasks(anna, lists.TaskFilters(statuses=[TaskStatus.RESOLVED])).items] == [normal.id]
    assert normal.id not in [t.id for t in lists.my_tasks(anna)]


# --- rules are audited ----------------------------------------------------------------------------------


def test_rule_changes_are_audited(db, make_staff):
    admin = make_staff(role=Role.ADMIN)
    detractor = rule(db, RuleKind.DETRACTOR)
    change = alert_rules.update_rule(detractor, admin, {"threshold": 5, "priority": Priority.URGENT, "due_hours": 48})
    db.session.commit()
    assert change.changes == {"threshold": [6, 5], "priority": [Priority.HIGH, Priority.URGENT]}
    assert alert_rules.update_rule(detractor, admin, {"threshold": 5}) is None
    with pytest.raises(workflow.WorkflowError, match="threshold_out_of_range"):
        alert_rules.update_rule(detractor, admin, {"threshold": 11})
    keywords = rule(db, RuleKind.KEYWORDS)
    alert_rules.update_rule(keywords, admin, {"keywords": "Kündigung\n\n kündigung \nWiderruf"})
    assert keywords.keywords == ["Kündigung", "Widerruf"]
    latest = alert_rules.rule_changes()[0]
    assert latest.rule_id == keywords.id and latest.user_id == admin.id and count(db, RuleChange) == 2


# --- suppression, CRM, digest, follow-up ------------------------------------------------------------------


def test_an_open_task_throttles_routine_surveys_to_the_accounts_contacts(db, task, make_contact, make_survey):
    colleague = make_contact(task.account)
    survey = make_survey("nps")
    assert surveys.throttle_reason(survey, colleague) == "open_follow_up"
    workflow.change_status(task, task.assignee, TaskStatus.DISMISSED, "erledigt")
    db.session.commit()
    assert surveys.throttle_reason(survey, colleague) is None


def test_open_tasks_for_the_crm(db, task):
    [entry] = services.open_tasks_for_account(task.account)
    assert entry["id"] == task.id and entry["status"] == "open" and entry["assignee"] == task.assignee.email
    assert entry["url"] == f"http://localhost/staff/tasks/{task.id}"
    assert entry["due"].endswith("Z") and entry["created"].endswith("Z")
    assert entry["title"] == titles.task_title(task, "en")
    assert services.open_tasks_for_account(task.account.external_id) == [entry]
    assert services.open_tasks_for_account("NO-SUCH-ACCOUNT") == []
    workflow.change_status(task, task.assignee, TaskStatus.RESOLVED, "erledigt")
    assert services.open_tasks_for_account(task.account) == []


def test_the_overdue_digest_goes_once_a_day_per_assignee(db, task):
    later = (task.due_at + timedelta(days=1)).replace(hour=9)  # after the digest hour, and always after the due time
    assert digest.send_overdue_digest(later) == 1
    assert digest.send_overdue_digest(later + timedelta(minutes=5)) == 0
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "followup_digest"))
    assert message.to_address == task.assignee.email and titles.task_title(task, "en") in message.text_body
    assert digest.send_overdue_digest(later + timedelta(days=1)) == 1
    workflow.change_status(task, task.assignee, TaskStatus.RESOLVED, "erledigt")
    assert digest.send_overdue_digest(later + timedelta(days=2)) == 0


def test_the_follow_up_survey_respects_an_opt_out(db, task):
    now = utcnow()
    workflow.change_status(task, task.assignee, TaskStatus.RESOLVED, "Gutschrift", now=now)
    task.contact.survey_opt_out = True
    db.session.commit()
    assert recovery.send_due_follow_ups(now + timedelta(days=13)) == 0
    assert task.follow_up_due_at is not None  # not due yet
    assert recovery.send_due_follow_ups(now + timedelta(days=14)) == 0
    assert task.follow_up_due_at is None and task.follow_up_invitation_id is None


def test_the_task_context_has_everything_for_the_call(db, make_staff, make_account, make_contact, make_ticket, make_survey, make_invitation, answered):
    anna = make_staff(role=Role.ACCOUNT_MANAGER)
    account = make_account(account_manager_id=anna.id)
    contact = make_contact(account, name="Lena Vogel")
    answered(9, contact=contact, at=utcnow() - timedelta(days=120))
    ticket = make_ticket(contact, subject="Echo bei Gesprächen", category="technical")
    survey = make_survey("post_ticket")
    invitation, _ = make_invitation(survey=survey, contact=contact, ticket=ticket)
    answer(survey, invitation, 1, 1)
    answer(survey, invitation, 2, "no")
    response = answer(survey, invitation, 3, "Niemand ruft zurück.")
    db.session.commit()
    other = task_of(db, answered(2, contact=make_contact(account)))
    task = task_of(db, response)
    context = taskpage.task_context(task, "en")
    assert context.title == titles.task_title(task, "en")
    assert [(line.value) for line in context.answers] == ["1", "No, it took several contacts", "Niemand ruft zurück."]
    assert context.answers[0].question == "How satisfied are you with the resolution of your request?"
    assert context.comment == "Niemand ruft zurück." and context.contact.name == "Lena Vogel"
    assert [(s.nps, s.csat) for s in context.previous_scores] == [(9, None)]
    assert context.ticket.subject == "Echo bei Gesprächen" and round(context.ticket.resolution_hours) == 20
    assert ticket.id in [t.id for t in context.recent_tickets]
    assert [t.id for t in context.other_tasks] == [other.id]
    assert context.health.status in ("healthy", "at_risk", "critical", "unknown") and context.health.rule
    assert context.renewal == account.contract_renewal_on
    assert context.courses.learners == 0
    assert context.follow_up_response is None and context.recovered is None and not context.overdue
    assert set(context.allowed_statuses) == {TaskStatus.IN_PROGRESS, TaskStatus.WAITING, TaskStatus.RESOLVED, TaskStatus.DISMISSED}
