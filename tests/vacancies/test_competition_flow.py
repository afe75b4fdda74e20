"""A whole competition through the services: from draft to appointment and the reserve list."""

from __future__ import annotations

from sqlmodel import select

from assessments.vacancies import service
from assessments.vacancies.models import ApplicationStatus, VacancyStatus
from backend.notices.models import Notice
from tests.vacancies import helpers


def _four_candidates(session, settings, comp, org):
    a = helpers.staff_user(session, settings, "employee", employee=org.officer_a)
    b = helpers.staff_user(session, settings, "employee", employee=org.officer_b)
    x = helpers.external_candidate(session, settings)
    y = helpers.external_candidate(session, settings, "Pablo", "Ortiz Ramos")
    for name, user in (("a", a), ("b", b), ("x", x), ("y", y)):
        comp.candidates[name] = (user, helpers.apply(session, settings, comp.vacancy, user))


def test_a_full_competition_ranks_appoints_the_top_and_keeps_a_reserve_list(
    session, settings, published, org, fake_clock, events
):
    comp = published
    _four_candidates(session, settings, comp, org)
    helpers.run_to_interview(
        session,
        settings,
        fake_clock,
        comp,
        test_right={"a": 6, "b": 5, "x": 6, "y": 2},
        sift={"a": (3, 3, 3), "b": (2, 2, 2), "x": (4, 3, 3)},
    )
    vacancy = comp.vacancy
    # y failed the test (2/6 < 60 %), the others passed it and the sift (b: 50 % ≥ 50 %).
    assert comp.candidates["y"][1].status == ApplicationStatus.out
    assert comp.candidates["y"][1].out_stage == "test"
    assert vacancy.status == VacancyStatus.interview
    helpers.run_interviews(
        session,
        settings,
        comp,
        interview={"a": (3, 3, 4), "b": (1, 1, 1), "x": (4, 4, 4)},
    )
    assert vacancy.status == VacancyStatus.results
    entries = service.merit_entries(session, vacancy)
    ranked = [(e.rank, e.application_id) for e in entries if e.rank is not None]
    assert ranked == [(1, comp.candidates["x"][1].id), (2, comp.candidates["a"][1].id)]
    # b failed the interview (25 % < 50 %); y the test: both rejected by event.
    rejected = {
        (e.payload["stage"], e.subject_employee_id) for e in events if e.name.endswith("rejected")
    }
    assert ("interview", org.officer_b.id) in rejected
    assert ("test", None) in rejected
    fake_clock.moment = vacancy.appeal_closes_at + helpers.timedelta(minutes=1)
    x_app = comp.candidates["x"][1]
    service.propose_appointment(
        session, vacancy=vacancy, application=x_app, justification="", actor=comp.hr
    )
    session.commit()
    assert vacancy.status == VacancyStatus.appointed
    appointed = [e for e in events if e.name == "vacancy.candidate_appointed"]
    assert appointed[0].payload == {
        "vacancy_id": vacancy.id,
        "stage": "appointment",
        "reason": "top_of_merit_list",
    }
    assert appointed[0].subject_employee_id is None
    reserve = service.reserve_list(session, vacancy)
    assert [a.id for _e, a in reserve] == [comp.candidates["a"][1].id]
    assert service.window_open(vacancy) is False
    # Each candidate was told each step, with its dates (assessments/vacancies/notices.py).
    told = {}
    for user_id, kind, params in session.exec(select(Notice.user_id, Notice.kind, Notice.params)):
        told.setdefault(user_id, {})[kind] = params
    x_user = comp.candidates["x"][0]
    assert {
        "vacancy.application_received",
        "vacancy.sift_passed",
        "vacancy.results",
        "vacancy.appeal_window",
        "vacancy.appointment",
    } <= set(told[x_user.id])
    assert told[x_user.id]["vacancy.appeal_window"]["closes"] == {
        "$datetime": vacancy.appeal_closes_at.isoformat()
    }
    assert "vacancy.appointment" not in told[comp.candidates["a"][0].id]
