"""Each competition rule, proved through the services (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from sqlmodel import select

from assessments.vacancies import service
from assessments.vacancies.models import (
    ApplicationStatus,
    AppointmentStatus,
    Stage,
    VacancyStatus,
)
from assessments.vacancies.service import ApplicationInput, MeritRow, VacancyError, rank_rows
from backend import audit, workdays
from tests.vacancies import helpers


def _apply_four(session, settings, comp, org):
    a = helpers.staff_user(session, settings, "employee", employee=org.officer_a)
    b = helpers.staff_user(session, settings, "employee", employee=org.officer_b)
    x = helpers.external_candidate(session, settings)
    y = helpers.external_candidate(session, settings, "Pablo", "Ortiz Ramos")
    for name, user in (("a", a), ("b", b), ("x", x), ("y", y)):
        comp.candidates[name] = (user, helpers.apply(session, settings, comp.vacancy, user))


# --- the notice ---------------------------------------------------------------------------------


def test_a_vacancy_takes_its_criteria_from_the_position_profile(session, settings, hr, org):
    vacancy = service.create_vacancy(session, settings, position=org.officer_position, actor=hr)
    codes = [c["competency"] for c in vacancy.criteria]
    # procurement_officer: essential requirements only (leadership and inventory are desirable).
    assert "procurement_process" in codes and "legal" in codes
    assert "leadership" not in codes and "inventory_logistics_supply_chain" not in codes
    assert vacancy.profile_key == "role:procurement_officer"
    assert vacancy.posting_days == settings.vacancy_min_posting_days


def test_unequal_weights_need_a_written_justification(session, settings, hr, org, bank):
    vacancy = service.create_vacancy(session, settings, position=org.officer_position, actor=hr)
    with pytest.raises(VacancyError) as refused:
        service.update_draft(
            session,
            settings,
            vacancy=vacancy,
            data=helpers.notice(weight_test="2"),
            actor=hr,
        )
    assert "weight_justification" in refused.value.errors
    service.update_draft(
        session,
        settings,
        vacancy=vacancy,
        data=helpers.notice(weight_test="2", weight_justification="Technical post: law first."),
        actor=hr,
    )
    assert service.weight_shares(vacancy)["test"] == pytest.approx(0.5)


def test_the_posting_period_cannot_be_shorter_than_the_minimum(session, settings, hr, org, bank):
    vacancy = service.create_vacancy(session, settings, position=org.officer_position, actor=hr)
    with pytest.raises(VacancyError) as refused:
        service.update_draft(
            session, settings, vacancy=vacancy, data=helpers.notice(posting_days="5"), actor=hr
        )
    assert "posting_days" in refused.value.errors


def test_working_days_skip_weekends_and_federal_rest_days():
    # Friday 13 March 2026; Monday 16 March is the third Monday of March (Benito Juárez).
    assert workdays.add_working_days(date(2026, 3, 13), 1) == date(2026, 3, 17)
    assert date(2026, 2, 2) in workdays.federal_rest_days(2026)  # first Monday of February
    assert date(2030, 10, 1) in workdays.federal_rest_days(2030)  # new federal executive
    assert date(2026, 10, 1) not in workdays.federal_rest_days(2026)
    assert workdays.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)
    assert workdays.working_days_between(date(2026, 3, 13), date(2026, 3, 20)) == 4


def test_approval_needs_a_second_person(session, settings, hr, approver, org, bank, fake_clock):
    vacancy = helpers.draft(session, settings, hr, org.officer_position)
    service.submit_for_approval(session, settings, vacancy=vacancy, actor=hr)
    with pytest.raises(VacancyError) as refused:
        service.approve(session, settings, vacancy=vacancy, actor=hr)
    assert refused.value.status_code == 403
    assert vacancy.status == VacancyStatus.pending_approval
    service.approve(session, settings, vacancy=vacancy, actor=approver)
    assert vacancy.status == VacancyStatus.approved and vacancy.approved_by_id == approver.id


def test_publication_needs_enough_questions_in_the_bank(session, settings, hr, org, bank):
    vacancy = helpers.draft(
        session, settings, hr, org.officer_position, blueprint=[("procurement_law", "3", "5")]
    )
    with pytest.raises(VacancyError) as refused:
        service.submit_for_approval(session, settings, vacancy=vacancy, actor=hr)
    assert refused.value.status_code == 409
    assert "holds 3 suitable questions" in str(refused.value)


def test_publication_locks_the_notice_and_shows_its_sha256(session, settings, published):
    vacancy = published.vacancy
    assert vacancy.status == VacancyStatus.published
    canonical = service.canonical_notice(vacancy.notice)
    assert hashlib.sha256(canonical).hexdigest() == vacancy.notice_sha256
    assert vacancy.notice["panel_size"] == 3
    assert vacancy.notice["test_blueprint"]["questions"] == vacancy.blueprint
    # Ten working days from Monday 2 March 2026 (16 March is a rest day): Tuesday 17 March.
    assert service.local_date(vacancy.closes_at, settings.time_zone) == date(2026, 3, 17)
    before = vacancy.notice_sha256
    with pytest.raises(VacancyError) as refused:
        service.update_draft(
            session,
            settings,
            vacancy=vacancy,
            data=helpers.notice(pass_mark_test="30"),
            actor=published.hr,
        )
    assert refused.value.status_code == 409
    session.rollback()
    session.refresh(vacancy)
    assert vacancy.pass_mark_test == 60 and vacancy.notice_sha256 == before


def test_an_amendment_is_published_with_its_reason_and_reopens_the_window(
    session, settings, published, fake_clock
):
    vacancy = published.vacancy
    fake_clock.moment = vacancy.closes_at + timedelta(hours=2)  # the window has closed
    old_hash, old_close = vacancy.notice_sha256, vacancy.closes_at
    with pytest.raises(VacancyError):
        service.amend(
            session,
            settings,
            vacancy=vacancy,
            data=helpers.notice(pass_mark_test="70"),
            reason="",
            actor=published.hr,
        )
    amendment = service.amend(
        session,
        settings,
        vacancy=vacancy,
        data=helpers.notice(pass_mark_test="70"),
        reason="The cut score was mistyped in the approved draft.",
        actor=published.hr,
    )
    session.commit()
    assert amendment.changes == {"pass_mark_test": {"before": 60, "after": 70}}
    assert amendment.previous_sha256 == old_hash != vacancy.notice_sha256
    assert vacancy.closes_at > old_close and service.window_open(vacancy)
    # The dashboard's count agrees with the board: open now, closed after its closing time.
    assert service.open_for_applications(session) == 1
    assert service.open_for_applications(session, vacancy.closes_at + timedelta(seconds=1)) == 0
    days = service.working_days_open(fake_clock.moment, vacancy.closes_at, settings.time_zone)
    assert days == settings.vacancy_amendment_min_days
    assert vacancy.notice["pass_marks_percent"]["test"] == 70


# --- applications -------------------------------------------------------------------------------


def test_eligibility_screens_out_with_reasons_and_a_review_can_reinstate(
    session, settings, published, fake_clock
):
    vacancy = published.vacancy
    user = helpers.external_candidate(session, settings)
    application = helpers.apply(session, settings, vacancy, user, eligible=False)
    assert application.status == ApplicationStatus.screened_out
    assert application.screening_failures == ["q1"]
    service.request_review(
        session,
        settings,
        application=application,
        user=user,
        grounds="My degree certificate was issued in January; attached to my file.",
    )
    with pytest.raises(VacancyError):
        service.request_review(
            session, settings, application=application, user=user, grounds="Again, please."
        )
    service.decide_review(
        session,
        application=application,
        reinstate=True,
        reason="The degree was verified with the university.",
        actor=published.hr,
    )
    session.commit()
    assert application.status == ApplicationStatus.active
    assert application.review_reinstated is True


def test_a_review_after_its_window_is_refused(session, settings, published, fake_clock):
    vacancy = published.vacancy
    user = helpers.external_candidate(session, settings)
    application = helpers.apply(session, settings, vacancy, user, eligible=False)
    fake_clock.moment = service.review_window_closes(settings, vacancy) + timedelta(seconds=1)
    with pytest.raises(VacancyError) as refused:
        service.request_review(
            session, settings, application=application, user=user, grounds="Please review it."
        )
    assert refused.value.status_code == 409


def test_an_application_after_closing_is_refused(session, settings, published, fake_clock):
    vacancy = published.vacancy
    user = helpers.external_candidate(session, settings)
    fake_clock.moment = vacancy.closes_at + timedelta(seconds=1)
    with pytest.raises(VacancyError) as refused:
        helpers.apply(session, settings, vacancy, user)
    assert refused.value.status_code == 409
    assert service.all_applications(session, vacancy) == []


def test_a_panel_member_cannot_apply_to_their_own_competition(session, settings, published):
    member = published.panel.members[0]
    with pytest.raises(VacancyError) as refused:
        service.apply(
            session,
            settings,
            vacancy=published.vacancy,
            user=member,
            data=ApplicationInput({"q1": "yes"}, {}),
        )
    assert refused.value.status_code == 409


# --- the panel ----------------------------------------------------------------------------------


def test_the_test_needs_a_panel_of_three_with_one_from_outside(
    session, settings, fake_clock, org, hr, approver, bank
):
    vacancy = helpers.draft(session, settings, hr, org.officer_position)
    helpers.publish(session, settings, hr, approver, vacancy)
    helpers.apply(session, settings, vacancy, helpers.external_candidate(session, settings))
    insider = helpers.staff_user(session, settings, "panel_member", employee=org.head)
    for employee in (org.officer_a, org.officer_b):
        user = helpers.staff_user(session, settings, "panel_member", employee=employee)
        service.appoint_panel_member(session, vacancy=vacancy, user=user, actor=hr)
    helpers.close_window(session, settings, fake_clock, vacancy)
    with pytest.raises(VacancyError) as refused:
        service.open_test(session, settings, vacancy=vacancy, actor=hr)
    assert "2 of the 3 members" in str(refused.value)
    assert "outside the hiring unit" in str(refused.value)
    service.appoint_panel_member(session, vacancy=vacancy, user=insider, actor=hr)
    with pytest.raises(VacancyError) as refused:
        service.open_test(session, settings, vacancy=vacancy, actor=hr)
    assert "outside the hiring unit" in str(refused.value)


def test_the_panel_cannot_change_once_assessment_begins(
    session, settings, published, org, fake_clock
):
    comp = published
    helpers.apply(session, settings, comp.vacancy, helpers.external_candidate(session, settings))
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    seat = service.membership(session, comp.vacancy, comp.panel.members[2])
    with pytest.raises(VacancyError) as refused:
        service.remove_panel_member(session, vacancy=comp.vacancy, seat=seat, actor=comp.hr)
    assert refused.value.status_code == 409


def test_likely_conflicts_are_flagged_from_hr_data(session, settings, published, org):
    comp = published
    _apply_four(session, settings, comp, org)
    mendez = helpers.external_candidate(session, settings, "Raul", "Paredes Méndez")
    helpers.apply(session, settings, comp.vacancy, mendez)
    lines = {
        line.application.candidate_name: line.flags
        for line in service.declaration_sheet(session, vacancy=comp.vacancy, user=comp.panel.inside)
    }
    # The inside member is Lucía Méndez, head of the hiring unit and Mario Ruiz's supervisor.
    assert lines["Mario Ruiz"] == ["supervisor", "same_unit"]
    assert lines["Ana Torres"] == ["supervisor", "same_unit"]
    assert lines["Raul Paredes Méndez"] == ["shared_surname"]
    assert lines["Rosa Paredes Luna"] == []


def test_a_flagged_no_conflict_needs_an_explanation(session, settings, published, org):
    comp = published
    _apply_four(session, settings, comp, org)
    member = comp.panel.inside
    decisions = {a.id: (False, "") for a in service.applicants(session, comp.vacancy)}
    with pytest.raises(VacancyError) as refused:
        service.declare(session, vacancy=comp.vacancy, user=member, decisions=decisions)
    a_id = comp.candidates["a"][1].id
    assert f"note_{a_id}" in refused.value.errors
    assert service.declarations_of(session, comp.vacancy, member) == {}


def _to_sift(session, settings, fake_clock, comp, org):
    _apply_four(session, settings, comp, org)
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    for name in ("a", "b", "x", "y"):
        user, application = comp.candidates[name]
        helpers.take_test(session, application, user, 6)
    service.close_test(session, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()


def test_a_member_cannot_score_before_declaring(session, settings, published, org, fake_clock):
    comp = published
    _to_sift(session, settings, fake_clock, comp, org)
    member = comp.panel.members[1]
    application = comp.candidates["x"][1]
    with pytest.raises(VacancyError) as refused:
        helpers.score_all(session, comp.vacancy, Stage.sift, member, application, 3)
    assert refused.value.status_code == 409
    assert service.current_scores(session, comp.vacancy, Stage.sift) == {}


def test_a_conflicted_member_cannot_score_that_candidate(
    session, settings, published, org, fake_clock
):
    comp = published
    _to_sift(session, settings, fake_clock, comp, org)
    inside = comp.panel.inside
    a_app = comp.candidates["a"][1]
    decisions = {
        app.id: (
            app.id == a_app.id,
            "I supervise this person."
            if app.id == a_app.id
            else "Only a colleague in the unit, no closer tie.",
        )
        for app in service.applicants(session, comp.vacancy)
    }
    service.declare(session, vacancy=comp.vacancy, user=inside, decisions=decisions)
    for member in comp.panel.members[1:]:
        helpers.declare_none(session, comp.vacancy, member)
    with pytest.raises(VacancyError) as refused:
        helpers.score_all(session, comp.vacancy, Stage.sift, inside, a_app, 4)
    assert refused.value.status_code == 403
    # The two others are the whole panel for this candidate: their scores break the seal.
    for member in comp.panel.members[1:]:
        helpers.score_all(session, comp.vacancy, Stage.sift, member, a_app, 2)
    assert service.all_scored(session, comp.vacancy, a_app, Stage.sift)


def test_scores_are_sealed_until_everyone_has_scored_then_move_only_by_consensus(
    session, settings, published, org, fake_clock
):
    comp = published
    _to_sift(session, settings, fake_clock, comp, org)
    for member in comp.panel.members:
        helpers.declare_none(session, comp.vacancy, member)
    x_app = comp.candidates["x"][1]
    first, second, third = comp.panel.members
    helpers.score_all(session, comp.vacancy, Stage.sift, first, x_app, 3)
    helpers.score_all(session, comp.vacancy, Stage.sift, second, x_app, 1)
    sheet = service.score_sheet(
        session, vacancy=comp.vacancy, application=x_app, stage=Stage.sift, viewer=second
    )
    assert not sheet.revealed and sheet.others == {}
    assert {code: row.score for code, row in sheet.own.items()} == {
        c["competency"]: 1 for c in comp.vacancy.criteria
    }
    with pytest.raises(VacancyError):  # no consensus before everyone has scored
        service.accept_suggested(
            session, vacancy=comp.vacancy, application=x_app, stage=Stage.sift, actor=first
        )
    helpers.score_all(session, comp.vacancy, Stage.sift, third, x_app, 3)
    sheet = service.score_sheet(
        session, vacancy=comp.vacancy, application=x_app, stage=Stage.sift, viewer=second
    )
    assert sheet.revealed and sheet.others[first.id]["legal"] == 3
    with pytest.raises(VacancyError) as refused:
        helpers.score_all(session, comp.vacancy, Stage.sift, second, x_app, 3)
    assert refused.value.status_code == 409
    # Mean 2.33 → 2 needs no reason; 3 does.
    with pytest.raises(VacancyError) as refused:
        service.record_consensus(
            session,
            vacancy=comp.vacancy,
            application=x_app,
            stage=Stage.sift,
            competency_code="legal",
            score="3",
            reason="",
            actor=first,
        )
    assert "reason_legal" in refused.value.errors
    service.record_consensus(
        session,
        vacancy=comp.vacancy,
        application=x_app,
        stage=Stage.sift,
        competency_code="legal",
        score="2",
        reason="",
        actor=first,
    )
    with pytest.raises(VacancyError):  # a change always needs a reason
        service.record_consensus(
            session,
            vacancy=comp.vacancy,
            application=x_app,
            stage=Stage.sift,
            competency_code="legal",
            score="3",
            reason="",
            actor=second,
        )
    service.record_consensus(
        session,
        vacancy=comp.vacancy,
        application=x_app,
        stage=Stage.sift,
        competency_code="legal",
        score="3",
        reason="The evidence cites two appeals handled alone.",
        actor=second,
    )
    rows = service.consensus_rows(session, comp.vacancy, Stage.sift, [x_app.id])
    assert rows[(x_app.id, "legal")].score == 3


# --- the test -----------------------------------------------------------------------------------


def test_each_draw_follows_the_blueprint_and_replays_from_its_seed(
    session, settings, published, org, fake_clock
):
    comp = published
    _apply_four(session, settings, comp, org)
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    draws = []
    pools = service.pools(session, comp.vacancy)
    for name in ("a", "b", "x", "y"):
        user, application = comp.candidates[name]
        attempt = service.start_test(session, application=application, user=user)
        assert service.draw(pools, [4, 2], attempt.seed) == attempt.question_ids
        assert set(attempt.question_ids[:4]) <= set(pools[0])
        assert set(attempt.question_ids[4:]) <= set(pools[1])
        assert attempt.deadline_at - attempt.started_at == timedelta(minutes=30)
        draws.append(tuple(attempt.question_ids))
    assert len(set(draws)) > 1


def test_answers_after_the_time_limit_are_refused(session, settings, published, org, fake_clock):
    comp = published
    user = helpers.external_candidate(session, settings)
    application = helpers.apply(session, settings, comp.vacancy, user)
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    attempt = service.start_test(session, application=application, user=user)
    service.answer(session, attempt=attempt, question_id=attempt.question_ids[0], chosen=0)
    fake_clock.advance(minutes=31)
    with pytest.raises(VacancyError) as refused:
        service.answer(session, attempt=attempt, question_id=attempt.question_ids[1], chosen=0)
    assert refused.value.status_code == 409
    with pytest.raises(VacancyError):
        service.submit(session, attempt=attempt, user=user, answers={attempt.question_ids[2]: 0})
    assert service.answers_of(session, attempt) == {attempt.question_ids[0]: 0}
    assert attempt.submitted_at is None


def test_marking_applies_the_cut_score_and_absence(
    session, settings, published, org, fake_clock, events
):
    comp = published
    _apply_four(session, settings, comp, org)
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    for name, right in (("a", 4), ("b", 3), ("x", 6)):
        user, application = comp.candidates[name]
        helpers.take_test(session, application, user, right)
    service.close_test(session, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    statuses = {n: (a.status, a.out_stage, a.out_reason) for n, (_u, a) in comp.candidates.items()}
    assert statuses["a"] == (ApplicationStatus.active, "", "")  # 66.7 % ≥ 60 %
    assert statuses["b"] == (ApplicationStatus.out, "test", "below_pass_mark")  # 50 %
    assert statuses["y"] == (ApplicationStatus.out, "test", "absent")
    assert service.attempt_of(session, comp.candidates["a"][1]).score == pytest.approx(66.67)
    assert events == []  # outcomes are announced with the merit list


def test_a_neutralised_question_is_removed_from_everyones_mark(
    session, settings, published, org, fake_clock
):
    comp = published
    _apply_four(session, settings, comp, org)
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    for name, right in (("a", 4), ("b", 3), ("x", 6), ("y", 6)):
        user, application = comp.candidates[name]
        helpers.take_test(session, application, user, right)
    service.close_test(session, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    b_user, b_app = comp.candidates["b"]
    assert b_app.status == ApplicationStatus.out
    # b answered its 4th question wrong; remove it for everyone who was given it.
    faulty = service.attempt_of(session, b_app).question_ids[3]
    with pytest.raises(VacancyError):
        service.neutralise(
            session, vacancy=comp.vacancy, question_id=faulty, reason="", actor=comp.hr
        )
    service.neutralise(
        session,
        vacancy=comp.vacancy,
        question_id=faulty,
        reason="Two options are correct under the 2025 reform.",
        actor=comp.hr,
    )
    session.commit()
    session.refresh(b_app)
    attempt = service.attempt_of(session, b_app)
    assert attempt.counted == 5 and attempt.score == pytest.approx(60.0)
    assert b_app.status == ApplicationStatus.active
    for name in ("x", "y"):
        other = service.attempt_of(session, comp.candidates[name][1])
        assert other.score == 100.0


# --- ranking ------------------------------------------------------------------------------------


def _row(app_id, test, sift, interview, minute=0):
    from datetime import UTC, datetime

    return MeritRow(app_id, datetime(2026, 3, 2, 12, minute, tzinfo=UTC), test, sift, interview)


def test_weighted_totals_follow_the_notice_weights():
    rows = rank_rows(
        [_row(1, 100, 50, 50), _row(2, 50, 100, 100)],
        shares={"test": 0.5, "sift": 0.25, "interview": 0.25},
        tie_break="test_score",
    )
    assert [(r.application_id, r.rank, r.total) for r in rows] == [(1, 1, 75.0), (2, 2, 75.0)]


def test_the_tie_break_rule_orders_equal_totals():
    rows = [_row(1, 60, 90, 75), _row(2, 90, 60, 75), _row(3, 75, 75, 75)]
    shares = {"test": 1 / 3, "sift": 1 / 3, "interview": 1 / 3}
    by_test = rank_rows([*rows], shares=shares, tie_break="test_score")
    assert [r.application_id for r in by_test] == [2, 3, 1]
    by_sift = rank_rows(
        [_row(1, 60, 90, 75), _row(2, 90, 60, 75)], shares=shares, tie_break="sift_score"
    )
    assert [r.application_id for r in by_sift] == [1, 2]
    earliest = rank_rows(
        [_row(1, 60, 90, 75, minute=5), _row(2, 90, 60, 75, minute=1)],
        shares=shares,
        tie_break="earliest_application",
    )
    assert [r.application_id for r in earliest] == [2, 1]


# --- results, appeals, appointment ----------------------------------------------------------------


@pytest.fixture
def results(session, settings, published, org, fake_clock):
    comp = published
    _apply_four(session, settings, comp, org)
    helpers.run_to_interview(
        session,
        settings,
        fake_clock,
        comp,
        test_right={"a": 6, "b": 5, "x": 6, "y": 6},
        sift={"a": (3, 3, 3), "b": (2, 2, 2), "x": (4, 4, 4), "y": (3, 3, 2)},
    )
    helpers.run_interviews(
        session,
        settings,
        comp,
        interview={"a": (3, 3, 3), "b": (2, 2, 2), "x": (4, 4, 4), "y": (3, 2, 2)},
    )
    return comp


def test_each_candidate_sees_their_own_scores_per_competency(session, results):
    x_app = results.candidates["x"][1]
    own = service.own_result(session, application=x_app)
    assert own.entry.rank == 1 and own.test_score == 100.0
    assert own.sift == {c["competency"]: 4 for c in results.vacancy.criteria}
    distribution = service.distribution(session, results.vacancy)
    assert distribution.ranked == 4 and sum(n for _lo, _hi, n in distribution.bins) == 4


def test_appeals_are_submitted_reviewed_and_decided_with_reasons(
    session, settings, results, fake_clock
):
    comp = results
    b_user, b_app = comp.candidates["b"]
    appeal = service.submit_appeal(
        session, application=b_app, user=b_user, grounds="My evidence on contracts was not read."
    )
    with pytest.raises(VacancyError):  # one open appeal at a time
        service.submit_appeal(session, application=b_app, user=b_user, grounds="Another one here.")
    with pytest.raises(VacancyError) as refused:  # panel members do not judge their own scores
        service.start_review(session, appeal=appeal, actor=comp.panel.members[0])
    assert refused.value.status_code == 403
    with pytest.raises(VacancyError):
        service.decide_appeal(
            session, appeal=appeal, upheld=False, reason="No.", actor=comp.approver
        )
    service.start_review(session, appeal=appeal, actor=comp.approver)
    service.decide_appeal(
        session,
        appeal=appeal,
        upheld=False,
        reason="The panel's notes show the evidence on contracts was scored.",
        actor=comp.approver,
    )
    session.commit()
    assert appeal.status == "dismissed" and appeal.decision_reason.startswith("The panel")
    fake_clock.moment = comp.vacancy.appeal_closes_at + timedelta(seconds=1)
    with pytest.raises(VacancyError) as refused:
        service.submit_appeal(session, application=b_app, user=b_user, grounds="Too late now.")
    assert refused.value.status_code == 409


def test_an_upheld_appeal_lets_the_panel_correct_scores_and_republish(
    session, settings, results, fake_clock
):
    comp = results
    vacancy = comp.vacancy
    y_user, y_app = comp.candidates["y"]
    member = comp.panel.members[1]
    with pytest.raises(VacancyError):  # locked without an upheld appeal
        service.record_consensus(
            session,
            vacancy=vacancy,
            application=y_app,
            stage=Stage.interview,
            competency_code="legal",
            score="4",
            reason="Re-read the notes.",
            actor=member,
        )
    appeal = service.submit_appeal(
        session, application=y_app, user=y_user, grounds="Question 2 was never asked to me."
    )
    service.start_review(session, appeal=appeal, actor=comp.approver)
    service.decide_appeal(
        session,
        appeal=appeal,
        upheld=True,
        reason="The recording confirms question 2 was skipped.",
        actor=comp.approver,
    )
    fake_clock.moment = vacancy.appeal_closes_at + timedelta(seconds=1)
    assert "publish the corrected merit list first" in " ".join(
        service.appointment_blockers(session, vacancy)
    )
    service.record_consensus(
        session,
        vacancy=vacancy,
        application=y_app,
        stage=Stage.interview,
        competency_code="legal",
        score="4",
        reason="Scored on question 2 asked again on 20 April.",
        actor=member,
    )
    service.republish_merit_list(session, vacancy=vacancy, actor=comp.hr)
    session.commit()
    assert vacancy.merit_version == 2
    assert service.appointment_blockers(session, vacancy) == []


def test_appointment_only_from_the_top_unless_justified_and_approved(
    session, settings, results, fake_clock, events
):
    comp = results
    vacancy = comp.vacancy
    a_app = comp.candidates["a"][1]  # rank 2
    with pytest.raises(VacancyError) as refused:  # appeal window still open
        service.propose_appointment(
            session, vacancy=vacancy, application=a_app, justification="", actor=comp.hr
        )
    fake_clock.moment = vacancy.appeal_closes_at + timedelta(seconds=1)
    with pytest.raises(VacancyError) as refused:
        service.propose_appointment(
            session, vacancy=vacancy, application=a_app, justification="", actor=comp.hr
        )
    assert refused.value.status_code == 409 and "Only the top of the merit list" in str(
        refused.value
    )
    assert service.appointments_of(session, vacancy) == []
    appointment = service.propose_appointment(
        session,
        vacancy=vacancy,
        application=a_app,
        justification="Rank 1 holds a post in the audit body that the law makes incompatible.",
        actor=comp.hr,
    )
    assert appointment.status == AppointmentStatus.pending_approval
    with pytest.raises(VacancyError) as refused:
        service.decide_appointment(
            session, appointment=appointment, approve=True, note="Fine by me.", actor=comp.hr
        )
    assert refused.value.status_code == 403
    service.decide_appointment(
        session,
        appointment=appointment,
        approve=True,
        note="Incompatibility confirmed by the legal office.",
        actor=comp.approver,
    )
    session.commit()
    assert vacancy.status == VacancyStatus.appointed and a_app.status == ApplicationStatus.appointed
    appointed = [e for e in events if e.name == "vacancy.candidate_appointed"]
    assert appointed[0].payload["reason"] == "justified_out_of_order"
    assert appointed[0].subject_employee_id == comp.candidates["a"][0].employee_id


def test_the_reserve_list_is_used_in_merit_order_for_twelve_months(
    session, settings, results, fake_clock
):
    comp = results
    vacancy = comp.vacancy
    fake_clock.moment = vacancy.appeal_closes_at + timedelta(seconds=1)
    x_app, a_app, y_app = (comp.candidates[n][1] for n in ("x", "a", "y"))
    service.propose_appointment(
        session, vacancy=vacancy, application=x_app, justification="", actor=comp.hr
    )
    reserve = [a.id for _e, a in service.reserve_list(session, vacancy)]
    assert reserve[0] == a_app.id and len(reserve) == 3
    service.record_declined(
        session, application=a_app, reason="Accepted another job offer.", actor=comp.hr
    )
    fake_clock.advance(days=100)
    with pytest.raises(VacancyError):  # a is gone: y is not next, whoever is next comes first
        service.propose_appointment(
            session,
            vacancy=vacancy,
            application=comp.candidates["b"][1],
            justification="",
            actor=comp.hr,
        )
    second = service.propose_appointment(
        session, vacancy=vacancy, application=y_app, justification="", actor=comp.hr
    )
    assert second.from_reserve and second.status == AppointmentStatus.effective
    fake_clock.moment = vacancy.reserve_valid_until + timedelta(days=1)
    assert service.reserve_list(session, vacancy) == []
    with pytest.raises(VacancyError) as refused:
        service.propose_appointment(
            session,
            vacancy=vacancy,
            application=comp.candidates["b"][1],
            justification="",
            actor=comp.hr,
        )
    assert "expired" in str(refused.value)


def test_rejections_are_published_as_events_for_the_hr_watch(
    session, settings, published, org, fake_clock, events
):
    comp = published
    _apply_four(session, settings, comp, org)
    screened = helpers.external_candidate(session, settings, "Luis", "Campos Rey")
    helpers.apply(session, settings, comp.vacancy, screened, eligible=False)
    helpers.run_to_interview(
        session,
        settings,
        fake_clock,
        comp,
        test_right={"a": 2, "b": 6, "x": 6, "y": 6},
        sift={"b": (1, 1, 1), "x": (3, 3, 3), "y": (3, 3, 3)},
    )
    helpers.run_interviews(session, settings, comp, interview={"x": (3, 3, 3), "y": (1, 1, 1)})
    rejected = sorted(
        (e.payload["stage"], e.payload["reason"], e.subject_employee_id)
        for e in events
        if e.name == "vacancy.candidate_rejected"
    )
    assert rejected == [
        ("eligibility", "eligibility:q1", None),
        ("interview", "below_pass_mark", None),
        ("sift", "below_pass_mark", org.officer_b.id),
        ("test", "below_pass_mark", org.officer_a.id),
    ]
    assert all(e.payload["vacancy_id"] == comp.vacancy.id for e in events)


def _outcomes(events) -> list[tuple]:
    return sorted(
        (e.name, e.payload["stage"], e.payload["reason"], e.subject_employee_id or 0)
        for e in events
    )


def test_cancelling_announces_every_applicants_outcome_for_the_hr_watch(
    session, settings, published, org, fake_clock, events
):
    comp = published
    _apply_four(session, settings, comp, org)
    screened = helpers.external_candidate(session, settings, "Luis", "Campos Rey")
    helpers.apply(session, settings, comp.vacancy, screened, eligible=False)
    quitter = helpers.external_candidate(session, settings, "Eva", "Lara Gil")
    service.withdraw(
        session,
        application=helpers.apply(session, settings, comp.vacancy, quitter),
        user=quitter,
    )
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    for name, right in (("a", 6), ("b", 2), ("x", 6)):  # y is absent
        user, application = comp.candidates[name]
        helpers.take_test(session, application, user, right)
    service.close_test(session, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    assert events == []  # nothing is final yet
    service.cancel(
        session, vacancy=comp.vacancy, reason="The post was abolished by decree.", actor=comp.hr
    )
    session.commit()
    rejected, cancelled = "vacancy.candidate_rejected", "cancellation"
    # Those out at a stage get their usual rejection; those still in, one for the cancellation;
    # the candidate who withdrew, nothing.
    assert _outcomes(events) == sorted(
        [
            (rejected, "eligibility", "eligibility:q1", 0),
            (rejected, "test", "below_pass_mark", org.officer_b.id),
            (rejected, "test", "absent", 0),
            (rejected, cancelled, "competition_cancelled", org.officer_a.id),
            (rejected, cancelled, "competition_cancelled", 0),
        ]
    )
    assert {e.payload["competition_status"] for e in events if e.payload["stage"] == cancelled} == {
        VacancyStatus.sift
    }
    assert all(e.payload["vacancy_id"] == comp.vacancy.id for e in events)
    entry = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "vacancy.cancelled")
    ).one()
    assert entry.after["outcomes_announced"] == 5


def test_cancelling_after_the_merit_list_announces_only_the_ranked_candidates(
    session, settings, published, org, fake_clock, events
):
    comp = published
    _apply_four(session, settings, comp, org)
    helpers.run_to_interview(
        session,
        settings,
        fake_clock,
        comp,
        test_right={"a": 6, "b": 5, "x": 6, "y": 2},
        sift={"a": (3, 3, 3), "b": (2, 2, 2), "x": (4, 4, 4)},
    )
    helpers.run_interviews(
        session, settings, comp, interview={"a": (3, 3, 3), "b": (2, 2, 2), "x": (4, 4, 4)}
    )
    # The merit list announced y's rejection at the test.
    assert _outcomes(events) == [("vacancy.candidate_rejected", "test", "below_pass_mark", 0)]
    service.cancel(
        session, vacancy=comp.vacancy, reason="The budget line was withdrawn.", actor=comp.hr
    )
    session.commit()
    later = events[1:]
    assert [(e.payload["stage"], e.payload["competition_status"]) for e in later] == [
        ("cancellation", VacancyStatus.results)
    ] * 3
    # Each ranked candidate once, internal ones by their employee record; y not again.
    assert sorted(e.subject_employee_id or 0 for e in later) == sorted(
        [org.officer_a.id, org.officer_b.id, 0]
    )


def test_cancelling_before_anyone_applied_announces_nothing(session, settings, published, events):
    service.cancel(
        session,
        vacancy=published.vacancy,
        reason="Published by mistake, twice.",
        actor=published.hr,
    )
    session.commit()
    assert events == []


def test_every_score_read_and_state_change_is_in_the_verified_audit_chain(
    session, settings, results
):
    actions = {a for a in session.exec(select(audit.AuditEntry.action)).all()}
    for expected in (
        "vacancy.published",
        "vacancy.application_submitted",
        "vacancy.test_started",
        "vacancy.test_marked",
        "vacancy.conflict_declared",
        "vacancy.score_recorded",
        "vacancy.consensus_recorded",
        "vacancy.interview",
        "vacancy.results",
        "vacancy.merit_list_published",
    ):
        assert expected in actions, expected
    scores = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "vacancy.score_recorded")
    ).all()
    # 4 candidates × 3 members × 3 competencies in the sift, again in the interview.
    assert len(scores) == 2 * 4 * 3 * 3
    assert audit.verify(session).ok


def test_interview_consensus_enters_internal_candidates_competency_records(session, results, org):
    from competency_framework import service as competency_service

    legal = competency_service.get_competency(session, "legal")
    current = competency_service.current_levels(session, employee_id=org.officer_a.id)
    assert current[legal.id].level == 3 and current[legal.id].source == "assessment"
    # External candidates have no employee record to rate.
    x_app = results.candidates["x"][1]
    assert x_app.employee_id is None
