"""The integrity dashboard: a patronage scenario raises every flag, a clean one raises none."""

from __future__ import annotations

from datetime import timedelta

from assessments.vacancies import service
from assessments.vacancies.models import Stage
from tests.vacancies import helpers


def _codes(flags) -> set[str]:
    return {f.code for f in flags}


def _publish_results_then_close_appeals(session, settings, fake_clock, comp) -> None:
    fake_clock.moment = comp.vacancy.appeal_closes_at + timedelta(minutes=1)


def test_a_patronage_scenario_raises_every_flag(
    client, session, settings, fake_clock, org, hr, approver, bank
):
    # Competition 1: the head of the hiring unit sits on the panel and favours her own people.
    vacancy = helpers.draft(session, settings, hr, org.officer_position)
    helpers.publish(session, settings, hr, approver, vacancy)
    panel = helpers.seat_panel(session, settings, hr, vacancy, org)
    inside, outside, expert = panel.members
    comp = helpers.Competition(vacancy, hr, approver, panel)
    a = helpers.staff_user(session, settings, "employee", employee=org.officer_a)
    b = helpers.staff_user(session, settings, "employee", employee=org.officer_b)
    x = helpers.external_candidate(session, settings)
    y = helpers.external_candidate(session, settings, "Pablo", "Ortiz Ramos")
    for name, user in (("a", a), ("b", b), ("x", x), ("y", y)):
        comp.candidates[name] = (user, helpers.apply(session, settings, vacancy, user))
    # A late amendment leaves the changed notice on the board for 5 working days only.
    fake_clock.moment = vacancy.closes_at - timedelta(days=1)
    service.amend(
        session,
        settings,
        vacancy=vacancy,
        data=helpers.notice(summary="Conduce procedimientos y administra contratos marco."),
        reason="The head of the hiring unit asked to describe the duties differently.",
        actor=hr,
    )
    session.commit()
    # Everyone declares "no conflict", the head included (with a thin explanation).
    helpers.run_to_interview(
        session,
        settings,
        fake_clock,
        comp,
        test_right={"a": 4, "b": 4, "x": 6, "y": 6},
        sift={"a": (4, 1, 1), "b": (4, 2, 2), "x": (1, 3, 3), "y": (1, 3, 4)},
    )
    helpers.run_interviews(
        session,
        settings,
        comp,
        interview={"a": (4, 3, 3), "b": (4, 2, 2), "x": (0, 4, 3), "y": (1, 3, 3)},
    )
    a_user, a_app = comp.candidates["a"]
    assert [
        e.rank for e in service.merit_entries(session, vacancy) if e.application_id == a_app.id
    ] == [4]
    # Her appeal is upheld and her sift score "corrected" after names were revealed.
    appeal = service.submit_appeal(
        session,
        application=a_app,
        user=a_user,
        grounds="My evidence on legal matters was undervalued.",
    )
    service.start_review(session, appeal=appeal, actor=approver)
    service.decide_appeal(
        session, appeal=appeal, upheld=True, reason="Reread: arguable.", actor=approver
    )
    service.record_consensus(
        session,
        vacancy=vacancy,
        application=a_app,
        stage=Stage.sift,
        competency_code="legal",
        score="3",
        reason="On reflection the legal evidence is stronger.",
        actor=inside,
    )
    service.republish_merit_list(session, vacancy=vacancy, actor=hr)
    session.commit()
    _publish_results_then_close_appeals(session, settings, fake_clock, comp)
    # She is appointed out of merit order, with a justification approved at a second level.
    appointment = service.propose_appointment(
        session,
        vacancy=vacancy,
        application=a_app,
        justification="Knows the unit's pending tenders and can start immediately.",
        actor=hr,
    )
    service.decide_appointment(
        session, appointment=appointment, approve=True, note="Continuity argued.", actor=approver
    )
    session.commit()

    # Competition 2: the same panel; her colleague from the same unit is the only applicant.
    second = helpers.draft(session, settings, hr, org.officer_position)
    helpers.publish(session, settings, hr, approver, second)
    for member in (inside, outside, expert):
        service.appoint_panel_member(session, vacancy=second, user=member, actor=hr)
    comp2 = helpers.Competition(second, hr, approver, panel)
    comp2.candidates["b"] = (b, helpers.apply(session, settings, second, b))
    helpers.run_to_interview(
        session, settings, fake_clock, comp2, test_right={"b": 6}, sift={"b": (3, 3, 3)}
    )
    helpers.run_interviews(session, settings, comp2, interview={"b": (3, 3, 3)})
    _publish_results_then_close_appeals(session, settings, fake_clock, comp2)
    service.propose_appointment(
        session, vacancy=second, application=comp2.candidates["b"][1], justification="", actor=hr
    )
    session.commit()

    first_flags = service.competition_flags(session, settings, vacancy)
    second_flags = service.competition_flags(session, settings, second)
    assert _codes(first_flags) == {
        "short_posting_window",
        "rater_outlier",
        "rater_total_outlier",
        "favoured_related_candidate",
        "lenient_to_internal",
        "lenient_to_same_unit",
        "edited_after_reveal",
        "low_test_top_interview",
        "own_unit_winners",
        "conflict_flag_overridden",
        "appointed_out_of_order",
    }
    assert _codes(second_flags) == {
        "single_applicant",
        "own_unit_winners",
        "conflict_flag_overridden",
    }
    assert _codes(first_flags) | _codes(second_flags) == set(service.FLAG_LABELS)
    # The rater flags name the head of the unit, and only her.
    for flag in first_flags:
        if flag.code in (
            "rater_outlier",
            "favoured_related_candidate",
            "lenient_to_internal",
            "lenient_to_same_unit",
            "own_unit_winners",
        ):
            assert flag.member_user_id == inside.id
    # With three raters, one who favours makes the others' totals look far from "the rest" too
    # (leave-one-out), so a total flag may name them; favouritism names only her.
    favoured = [f for f in first_flags if f.code == "favoured_related_candidate"]
    assert len(favoured) == 2 and "from the rater's own unit" in favoured[0].detail
    profile = service.member_profile(session, settings, inside)
    assert len(profile.own_unit_wins) == 2 and profile.outliers == 3
    assert service.member_profile(session, settings, outside).flags == []
    # The dashboard lists the most flagged competition first.
    rows = service.overview(session, settings)
    assert rows[0].vacancy.id == vacancy.id


def test_a_clean_competition_raises_no_flag(session, settings, fake_clock, published, org):
    comp = published
    vacancy = comp.vacancy
    inside, outside, expert = comp.panel.members
    a = helpers.staff_user(session, settings, "employee", employee=org.officer_a)
    b = helpers.staff_user(session, settings, "employee", employee=org.officer_b)
    x = helpers.external_candidate(session, settings)
    y = helpers.external_candidate(session, settings, "Pablo", "Ortiz Ramos")
    for name, user in (("a", a), ("b", b), ("x", x), ("y", y)):
        comp.candidates[name] = (user, helpers.apply(session, settings, vacancy, user))
    helpers.close_window(session, settings, fake_clock, vacancy)
    service.open_test(session, settings, vacancy=vacancy, actor=comp.hr)
    for name, right in (("a", 6), ("b", 5), ("x", 6), ("y", 5)):
        user, application = comp.candidates[name]
        helpers.take_test(session, application, user, right)
    service.close_test(session, vacancy=vacancy, actor=comp.hr)
    session.commit()
    # The head of the unit declares her conflicts with her two reports and stays out of them.
    apps = {n: app for n, (_u, app) in comp.candidates.items()}
    service.declare(
        session,
        vacancy=vacancy,
        user=inside,
        decisions={
            apps["a"].id: (True, "I supervise him."),
            apps["b"].id: (True, "I supervise her."),
            apps["x"].id: (False, ""),
            apps["y"].id: (False, ""),
        },
    )
    for member in (outside, expert):
        helpers.declare_none(session, vacancy, member)
    session.commit()

    def stage(stage_name, scores):
        for name, per_member in scores.items():
            application = apps[name]
            for member, value in zip((inside, outside, expert), per_member, strict=True):
                if value is not None:
                    helpers.score_all(session, vacancy, stage_name, member, application, value)
            helpers.agree(session, vacancy, stage_name, outside, application)

    stage(Stage.sift, {"a": (None, 3, 3), "b": (None, 2, 3), "x": (3, 3, 3), "y": (2, 3, 2)})
    helpers.add_interview_questions(session, comp.hr, vacancy)
    service.lock_sift(session, vacancy=vacancy, actor=comp.hr)
    session.commit()
    stage(Stage.interview, {"a": (None, 3, 3), "b": (None, 2, 2), "x": (2, 3, 2), "y": (2, 2, 2)})
    service.publish_results(session, settings, vacancy=vacancy, actor=comp.hr)
    session.commit()
    fake_clock.moment = vacancy.appeal_closes_at + timedelta(minutes=1)
    top = service.remaining_order(session, vacancy)[0][1]
    assert top.id == apps["a"].id
    service.propose_appointment(
        session, vacancy=vacancy, application=top, justification="", actor=comp.hr
    )
    session.commit()
    assert service.competition_flags(session, settings, vacancy) == []
    assert service.member_profile(session, settings, inside).flags == []


def test_the_integrity_pages_show_the_flags(client, session, settings, fake_clock, published, org):
    from tests.vacancies.test_routes import sign_in

    comp = published
    only = helpers.external_candidate(session, settings)
    helpers.apply(session, settings, comp.vacancy, only)
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    auditor = helpers.staff_user(session, settings, "auditor")
    sign_in(client, auditor.email)
    overview = client.get("/integrity")
    assert overview.status_code == 200 and "Single applicant" in overview.text
    detail = client.get(f"/integrity/competitions/{comp.vacancy.id}")
    assert "Only one person applied." in detail.text
    api = client.get("/api/v1/integrity").json()
    assert api[0]["flags"][0]["code"] == "single_applicant"
    assert client.get(f"/competitions/{comp.vacancy.id}").status_code == 403
