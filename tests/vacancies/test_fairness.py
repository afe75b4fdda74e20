"""Reasonable adjustments and equal-opportunity monitoring (issue #17), through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from assessments.vacancies import service
from assessments.vacancies.models import MonitoringResponse, VacancyStatus
from assessments.vacancies.schemas import AdjustmentInput, DecisionInput
from backend.audit import AuditEntry
from tests.vacancies import helpers


def _two_candidates(session, settings, comp):
    rosa = helpers.external_candidate(session, settings)
    pablo = helpers.external_candidate(session, settings, "Pablo", "Ortiz Ramos")
    return (
        (rosa, helpers.apply(session, settings, comp.vacancy, rosa)),
        (pablo, helpers.apply(session, settings, comp.vacancy, pablo)),
    )


def _ask(session, application, user, **fields):
    data = AdjustmentInput(**fields)
    request = service.request_adjustment(session, application=application, user=user, data=data)
    session.commit()
    return request


def _decide(session, comp, request, **fields):
    decided = service.decide_adjustment(
        session,
        vacancy=comp.vacancy,
        request_id=request.id,
        data=DecisionInput(**fields),
        actor=comp.hr,
    )
    session.commit()
    return decided


def test_granted_extra_time_lengthens_only_that_candidates_test(
    session, settings, fake_clock, published
):
    comp = published
    (rosa, rosa_app), (pablo, pablo_app) = _two_candidates(session, settings, comp)
    request = _ask(
        session,
        rosa_app,
        rosa,
        kinds=["extra_time", "large_print"],
        extra_percent="50",
        details="Dyslexia: I read slowly.",
    )
    assert service.requested_minutes(request, comp.vacancy.test_minutes) == 15
    _decide(session, comp, request, decision="granted", reason="Medical report on file.")
    assert service.test_format(session, rosa_app) == {"large_print"}
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    start = fake_clock.moment
    rosa_attempt = service.start_test(session, application=rosa_app, user=rosa)
    pablo_attempt = service.start_test(session, application=pablo_app, user=pablo)
    session.commit()
    assert rosa_attempt.deadline_at == start + timedelta(minutes=45)
    assert pablo_attempt.deadline_at == start + timedelta(minutes=30)
    # 40 minutes in: Pablo's answers are refused, Rosa's accepted; after 45 she is refused too.
    fake_clock.advance(minutes=40)
    question = rosa_attempt.question_ids[0]
    service.answer(session, attempt=rosa_attempt, question_id=question, chosen=0)
    with pytest.raises(service.VacancyError, match="time limit has passed"):
        service.answer(
            session, attempt=pablo_attempt, question_id=pablo_attempt.question_ids[0], chosen=0
        )
    fake_clock.advance(minutes=6)
    with pytest.raises(service.VacancyError, match="time limit has passed"):
        service.submit(session, attempt=rosa_attempt, user=rosa)
    # Started: the decision can no longer change.
    with pytest.raises(service.VacancyError) as refused:
        _decide(session, comp, request, decision="refused", reason="Changed our mind.")
    assert refused.value.status_code == 409
    actions = session.exec(
        select(AuditEntry.action, AuditEntry.after).where(
            AuditEntry.action.in_(["vacancy.adjustment_requested", "vacancy.adjustment_decided"])
        )
    ).all()
    assert sorted(a for a, _after in actions) == [
        "vacancy.adjustment_decided",
        "vacancy.adjustment_requested",
    ]
    # The free text (health) stays out of the audit log.
    assert "Dyslexia" not in str(actions)


def test_requests_and_decisions_are_checked(session, settings, fake_clock, published):
    comp = published
    (rosa, rosa_app), (pablo, _pablo_app) = _two_candidates(session, settings, comp)
    with pytest.raises(service.VacancyError) as err:
        _ask(session, rosa_app, rosa, kinds=[])
    assert set(err.value.errors) == {"kinds"}
    with pytest.raises(service.VacancyError) as err:
        _ask(session, rosa_app, rosa, kinds=["extra_time"], extra_minutes="10", extra_percent="5")
    assert set(err.value.errors) == {"extra_minutes"}
    with pytest.raises(service.VacancyError) as err:
        _ask(session, rosa_app, rosa, kinds=["extra_time", "another_sitting"], extra_minutes="x")
    assert set(err.value.errors) == {"extra_minutes", "details"}
    with pytest.raises(service.VacancyError) as err:  # someone else's application
        _ask(session, rosa_app, pablo, kinds=["breaks"])
    assert err.value.status_code == 404
    session.rollback()
    request = _ask(session, rosa_app, rosa, kinds=["extra_time", "breaks"], extra_minutes="20")
    # Changed while pending: still one request.
    request = _ask(session, rosa_app, rosa, kinds=["extra_time", "breaks"], extra_minutes="25")
    assert service.adjustments_of(session, comp.vacancy)[0].asked_minutes == 25
    with pytest.raises(service.VacancyError) as err:
        _decide(session, comp, request, decision="partly", granted_kinds=[], reason="")
    assert set(err.value.errors) == {"granted_kinds", "reason"}
    session.rollback()
    _decide(
        session,
        comp,
        request,
        decision="partly",
        granted_kinds=["extra_time"],
        granted_minutes="10",
        reason="Ten minutes suit the test's length; breaks are not needed in 30 minutes.",
    )
    assert service.granted_minutes(session, rosa_app) == 10
    with pytest.raises(service.VacancyError, match="already decided"):
        _ask(session, rosa_app, rosa, kinds=["breaks"])
    session.rollback()
    stats = service.adjustment_statistics(session, comp.vacancy)
    assert stats.requests == 1 and stats.by_decision["partly"] == 1
    assert stats.asked["breaks"] == 1 and stats.granted["breaks"] == 0
    assert stats.granted["extra_time"] == 1 and stats.granted_minutes == [10]


def test_monitoring_answers_are_kept_apart_and_suppressed(session, settings, fake_clock, published):
    comp = published
    people = [
        helpers.external_candidate(session, settings, f"Persona{n}", f"Apellido{n} Uno")
        for n in range(8)
    ]
    applications = [helpers.apply(session, settings, comp.vacancy, p) for p in people]
    sexes = ["woman"] * 6 + ["man"] * 1
    for person, application, sex in zip(people, applications, sexes, strict=False):
        service.answer_questionnaire(
            session,
            settings,
            application=application,
            user=person,
            answers={"sex": sex, "age_band": "from_30", "disability": "no"},
        )
    session.commit()
    with pytest.raises(service.VacancyError) as err:
        service.answer_questionnaire(
            session,
            settings,
            application=applications[7],
            user=people[7],
            answers={"sex": "robot"},
        )
    assert set(err.value.errors) == {"sex"}
    session.rollback()
    assert service.answered(session, settings, applications[0])
    assert not service.answered(session, settings, applications[7])
    rows = session.exec(select(MonitoringResponse)).all()
    assert len(rows) == 7
    # Nothing in a row names the application or the person.
    ids = {str(a.id) for a in applications} | {str(p.id) for p in people}
    for row in rows:
        assert row.token not in ids and len(row.token) == 64
    tables = {t.key: t for t in service.monitoring_statistics(session, settings, comp.vacancy)}
    applied = tables["sex"].rows[0]
    assert applied.stage == "applied" and applied.total == 8
    # 6 women shown; 1 man and 1 non-answer suppressed (two cells, so neither is recoverable).
    assert applied.cells["woman"].count == 6
    assert applied.cells["man"].suppressed and applied.cells["no_answer"].suppressed
    assert tables["sex"].rows[1].total is None  # nobody tested yet: a row under 5 is hidden
    # Unanswered questions count as "prefer not to say".
    assert tables["indigenous_language"].rows[0].cells["not_said"].count == 7


def test_suppression_leaves_no_cell_recoverable_from_the_total():
    total, cells = service.suppress({"a": 9, "b": 3, "c": 6, "d": 0})
    assert total == 18
    hidden = {k for k, c in cells.items() if c.suppressed}
    assert "b" in hidden and len(hidden) == 2
    total, cells = service.suppress({"a": 9, "b": 3, "c": 2})
    assert {k for k, c in cells.items() if c.suppressed} == {"b", "c"}
    total, cells = service.suppress({"a": 2, "b": 2})
    assert total is None and all(c.suppressed for c in cells.values())
    total, cells = service.suppress({"a": 7, "b": 5})
    assert not any(c.suppressed for c in cells.values())


def test_monitoring_answers_are_deleted_after_the_retention(
    session, settings, fake_clock, published
):
    comp = published
    person = helpers.external_candidate(session, settings)
    application = helpers.apply(session, settings, comp.vacancy, person)
    service.answer_questionnaire(
        session, settings, application=application, user=person, answers={"sex": "woman"}
    )
    service.cancel(session, vacancy=comp.vacancy, reason="Budget withdrawn.", actor=comp.hr)
    session.commit()
    assert comp.vacancy.status == VacancyStatus.cancelled
    ended = comp.vacancy.cancelled_at
    assert service.purge_expired(session, ended + timedelta(days=service.RETENTION_DAYS - 1)) == 0
    assert service.response_count(session, comp.vacancy) == 1
    later = ended + timedelta(days=service.RETENTION_DAYS + 1)
    assert service.purge_expired(session, later) == 1
    session.commit()
    assert service.response_count(session, comp.vacancy) == 0
    assert session.exec(
        select(AuditEntry).where(AuditEntry.action == "vacancy.monitoring_purged")
    ).first()


def test_a_declared_relation_is_checked_for_favouritism(session, settings, fake_clock, published):
    comp = published
    vacancy = comp.vacancy
    inside, outside, expert = comp.panel.members
    names = [("Rosa", "Paredes Luna"), ("Pablo", "Ortiz Ramos"), ("Irma", "Solis Vera")]
    apps = []
    for first, last in names:
        user = helpers.external_candidate(session, settings, first, last)
        apps.append(helpers.apply(session, settings, vacancy, user))
        comp.candidates[first] = (user, apps[-1])
    helpers.close_window(session, settings, fake_clock, vacancy)
    service.open_test(session, settings, vacancy=vacancy, actor=comp.hr)
    for user, application in comp.candidates.values():
        helpers.take_test(session, application, user, 6)
    service.close_test(session, vacancy=vacancy, actor=comp.hr)
    session.commit()
    for member in (inside, outside):
        helpers.declare_none(session, vacancy, member)
    # The expert knows Rosa (a former colleague): no conflict, so the expert scores her.
    service.declare(
        session,
        vacancy=vacancy,
        user=expert,
        decisions={a.id: (False, "") for a in apps},
        relations={apps[0].id: "former_colleague"},
    )
    session.commit()
    for application, expert_score in zip(apps, (4, 2, 2), strict=True):
        for member, value in ((inside, 2), (outside, 2), (expert, expert_score)):
            helpers.score_all(session, vacancy, "sift", member, application, value)
    flags = [
        f
        for f in service.competition_flags(session, settings, vacancy)
        if f.code == "favoured_related_candidate"
    ]
    assert len(flags) == 1 and flags[0].member_user_id == expert.id
    assert "Rosa Paredes Luna (a former colleague, as the rater declared)" in flags[0].detail
    assert "2.0 points per item" in flags[0].detail
