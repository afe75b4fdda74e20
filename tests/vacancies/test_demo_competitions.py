"""The demo's competitions (issue #13), and the rules of the competition pages they exposed:
only the steps the state allows are offered, and a refused POST sends the browser back to a page
it can reload (never a page at the POST-only URL, which a reload posts again)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from assessments.vacancies import service
from assessments.vacancies.demo import demo_bank
from assessments.vacancies.models import (
    Application,
    ApplicationStatus,
    AppointmentStatus,
    BankQuestion,
    CandidateAccount,
    PanelMember,
    Slot,
    Vacancy,
    VacancyStatus,
)
from assessments.vacancies.service import Step, allowed_steps
from backend import demo
from backend.auth.models import User
from competency_framework import service as competency_service
from tests.conftest import TEST_PASSWORD, login
from tests.vacancies import helpers

# The smallest organisation the demo competitions fit in comfortably; `merito up` makes 600.
DEMO_EMPLOYEES = 200


def sign_in(client, email: str, password: str = TEST_PASSWORD) -> str:
    client.cookies.clear()
    return login(client, email, password)


def _user(session, account: str) -> User:
    return session.exec(select(User).where(User.email == demo.demo_email(account))).one()


def _by_status(session) -> dict[str, Vacancy]:
    vacancies = session.exec(select(Vacancy)).all()
    assert len({v.status for v in vacancies}) == len(vacancies), "one competition per stage"
    return {v.status: v for v in vacancies}


@pytest.fixture
def demo_world(engine, session, settings):
    """The demo as `merito up` builds it: the organisation, then the demo accounts."""
    demo.generate(engine, employees=DEMO_EMPLOYEES, seed=1)
    accounts_made = demo.create_demo_accounts(session, settings)
    session.commit()
    return accounts_made


def _counts(session) -> dict[str, int]:
    return {
        model.__name__: session.exec(select(func.count()).select_from(model)).one()
        for model in (Vacancy, Application, User, BankQuestion, PanelMember, CandidateAccount)
    }


def test_the_demo_has_a_competition_at_every_stage_and_a_bank_for_every_competency(
    demo_world, session, settings
):
    by_status = _by_status(session)
    assert set(by_status) == {
        VacancyStatus.published,
        VacancyStatus.testing,
        VacancyStatus.interview,
        VacancyStatus.results,
        VacancyStatus.appointed,
    }
    now = service.now_or(None)
    candidate = _user(session, "candidate")
    panel = [_user(session, a) for a in ("panel_member", "panel_member2", "panel_member3")]
    for vacancy in by_status.values():
        seated = {s.user_id for s in service.panel_of(session, vacancy)}
        assert seated == {u.id for u in panel}, vacancy.status

    # Accepting applications now.
    assert service.window_open(by_status[VacancyStatus.published], now)
    # The test is open and the demo candidate has an application in it, the test not started.
    testing_vacancy = by_status[VacancyStatus.testing]
    mine = service.application_of(session, testing_vacancy, candidate)
    assert mine is not None and mine.status == ApplicationStatus.active
    assert service.attempt_of(session, mine) is None
    # Interviews: the demo panel member has every candidate to score, the other two none.
    interview = by_status[VacancyStatus.interview]
    active = service.active_applications(session, interview)
    assert len(active) >= 2
    assert service.work_for(session, vacancy=interview, user=panel[0]) == {
        "declarations": 0,
        "to_score": len(active),
    }
    # The other two interviewed everyone yesterday but the demo candidate, whose interview is
    # booked for tomorrow (there are free places the day after, to move to).
    for member in panel[1:]:
        assert service.work_for(session, vacancy=interview, user=member)["to_score"] == 1
    booked = service.booking_of(
        session, service.application_of(session, interview, candidate), "interview"
    )
    assert booked is not None
    slot = session.get(Slot, booked.slot_id)
    assert slot.starts_at > now and slot.place
    free = [s for s in service.slots_of(session, interview, "interview") if s.booked < s.capacity]
    assert free and all(s.starts_at > slot.starts_at for s in free)
    sittings = service.slots_of(session, testing_vacancy, "test")
    assert len(sittings) == 2 and service.booking_of(session, mine, "test") is None
    # The merit list is published, its appeal window open, the demo candidate ranked on it.
    results = by_status[VacancyStatus.results]
    assert results.appeal_closes_at > now
    ranked = service.application_of(session, results, candidate)
    assert ranked.status == ApplicationStatus.ranked
    assert service.own_result(session, application=ranked).entry.rank is not None
    # Appointed: the top of the list, effective.
    appointed = by_status[VacancyStatus.appointed]
    (appointment,) = service.appointments_of(session, appointed)
    assert appointment.status == AppointmentStatus.effective and appointment.merit_rank == 1
    # Every published notice is consistent with its fingerprint.
    for vacancy in by_status.values():
        assert service.notice_hash(vacancy.notice) == vacancy.notice_sha256

    # Several questions on each of the 13 competencies, in the installation's language.
    competencies = competency_service.list_competencies(session)
    assert len(competencies) == 13
    per_competency = Counter(
        session.exec(
            select(BankQuestion.competency_id).where(BankQuestion.is_active == True)  # noqa: E712
        ).all()
    )
    assert all(per_competency[c.id] >= 3 for c in competencies), per_competency
    stems = set(session.exec(select(BankQuestion.stem)).all())
    _domains, questions = demo_bank()
    assert {q.es[0] for q in questions} <= stems
    assert all(q.en[0] and len(q.en[1]) == len(q.es[1]) for q in questions)
    # The right answer is not always in the same place.
    assert len({q.correct_option for q in session.exec(select(BankQuestion))}) > 1

    # The demo candidate is a confirmed candidate with its candidate record.
    record = session.get(CandidateAccount, candidate.id)
    assert record is not None and record.email_verified_at is not None
    assert service.may_apply(session, candidate)

    # Running it again (a second `merito up`) creates nothing.
    before = _counts(session)
    demo.create_demo_accounts(session, settings)
    session.commit()
    assert _counts(session) == before


def test_the_demo_candidate_applies_and_takes_the_open_test(demo_world, client, session):
    by_status = _by_status(session)
    open_vacancy = by_status[VacancyStatus.published]
    csrf = sign_in(client, demo.demo_email("candidate"), demo.demo_password("candidate"))
    mine = client.get("/applications")
    assert mine.status_code == 200
    assert "Confirm your email" not in mine.text and "Send the link again" not in mine.text
    form = {"csrf_token": csrf}
    form |= {f"answer_{q['key']}": q["pass_answer"] for q in open_vacancy.eligibility}
    for c in open_vacancy.criteria:
        form[f"evidence_{c['competency']}"] = "Conduje la licitación consolidada de 2025."
    applied = client.post(f"/vacancies/{open_vacancy.id}/apply", data=form, follow_redirects=False)
    assert applied.status_code == 303, applied.text[:500]
    candidate = _user(session, "candidate")
    session.expire_all()
    assert service.application_of(session, open_vacancy, candidate) is not None

    application = service.application_of(session, by_status[VacancyStatus.testing], candidate)
    started = client.post(
        f"/applications/{application.id}/test/start",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert started.headers["location"] == f"/applications/{application.id}/test"
    page = client.get(started.headers["location"])
    assert page.status_code == 200 and 'id="test-form"' in page.text


def test_staff_are_never_asked_to_confirm_an_email_to_apply(client, session, settings, published):
    # An HR planner's account: no employee record, no candidate record (nobody registered it).
    planner = helpers.staff_user(session, settings, "hr_planner")
    csrf = sign_in(client, planner.email)
    mine = client.get("/applications")
    assert "Confirm your email" not in mine.text and "Send the link again" not in mine.text
    vacancy = published.vacancy
    assert "Confirm your email" not in client.get(f"/vacancies/{vacancy.id}/apply").text
    form = {"csrf_token": csrf, "answer_q1": "yes"}
    for c in vacancy.criteria:
        form[f"evidence_{c['competency']}"] = "Led the tender file for the 2025 medicines purchase."
    applied = client.post(f"/vacancies/{vacancy.id}/apply", data=form, follow_redirects=False)
    assert applied.status_code == 303
    assert service.application_of(session, vacancy, planner) is not None


def test_the_test_is_not_offered_while_it_cannot_open_and_a_refused_post_redirects(
    client, session, settings, published, org, fake_clock
):
    comp = published
    vacancy = comp.vacancy
    user = helpers.external_candidate(session, settings)
    helpers.apply(session, settings, vacancy, user)
    csrf = sign_in(client, comp.hr.email)

    page = client.get(f"/competitions/{vacancy.id}").text
    assert f'action="/competitions/{vacancy.id}/test/open"' not in page
    assert 'id="waiting-open_test"' in page and "Applications are still open" in page
    steps = allowed_steps(session, settings, vacancy, comp.hr)
    assert Step.open_test not in steps and Step.amend in steps

    refused = client.post(
        f"/competitions/{vacancy.id}/test/open",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    # Back to the competition page (which a reload does not post again), saying why.
    assert refused.status_code == 303
    assert refused.headers["location"] == f"/competitions/{vacancy.id}"
    shown = client.get(refused.headers["location"]).text
    assert re.search(r"flash-error[^>]*>[^<]*Applications are still open", shown)
    session.expire_all()
    assert service.get_vacancy(session, vacancy.id).status == VacancyStatus.published

    helpers.close_window(session, settings, fake_clock, vacancy)
    assert Step.open_test in allowed_steps(session, settings, vacancy, comp.hr)
    page = client.get(f"/competitions/{vacancy.id}").text
    assert f'action="/competitions/{vacancy.id}/test/open"' in page
    assert 'id="waiting-open_test"' not in page
    opened = client.post(
        f"/competitions/{vacancy.id}/test/open",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert opened.status_code == 303
    session.expire_all()
    assert service.get_vacancy(session, vacancy.id).status == VacancyStatus.testing


def test_a_refused_candidate_action_returns_to_the_application_page_with_what_was_typed(
    client, session, settings, published, fake_clock
):
    vacancy = published.vacancy
    user = helpers.external_candidate(session, settings)
    application = helpers.apply(session, settings, vacancy, user, eligible=False)
    csrf = sign_in(client, user.email, TEST_PASSWORD + "x")

    early = client.post(
        f"/applications/{application.id}/test/start",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert early.status_code == 303
    assert early.headers["location"] == f"/applications/{application.id}"
    assert "The knowledge test is not open." in client.get(early.headers["location"]).text

    fake_clock.moment = service.review_window_closes(settings, vacancy) + timedelta(minutes=1)
    late = client.post(
        f"/applications/{application.id}/review",
        data={"csrf_token": csrf, "grounds": "My degree was awarded in June."},
        follow_redirects=False,
    )
    assert late.status_code == 303
    assert late.headers["location"] == f"/applications/{application.id}"


def test_a_refused_score_form_returns_to_the_scoring_page_with_what_was_typed(
    client, session, settings, published, org, fake_clock
):
    comp = published
    vacancy = comp.vacancy
    user = helpers.external_candidate(session, settings)
    application = helpers.apply(session, settings, vacancy, user)
    helpers.close_window(session, settings, fake_clock, vacancy)
    service.open_test(session, settings, vacancy=vacancy, actor=comp.hr)
    session.commit()
    helpers.take_test(session, application, user, 6)
    service.close_test(session, vacancy=vacancy, actor=comp.hr)
    session.commit()
    member = comp.panel.members[1]
    helpers.declare_none(session, vacancy, member)
    csrf = sign_in(client, member.email)
    first, *_rest = [c["competency"] for c in vacancy.criteria]
    page = f"/panel/{vacancy.id}/sift/{application.id}"
    refused = client.post(
        f"{page}/scores",
        data={"csrf_token": csrf, f"score_{first}": "3", f"note_{first}": "Clear, concrete."},
        follow_redirects=False,
    )
    assert refused.status_code == 303 and refused.headers["location"] == page
    shown = client.get(page).text
    assert "Clear, concrete." in shown  # what was typed is still there
    assert re.search(rf'name="score_{first}" value="3" checked', shown)
    assert "flash-error" in shown
