"""Promotion evidence in a competition: an internal candidate's appraisals and competency ratings.

HR sees them on the application at every stage; the panel only once the sift scores are locked,
so the evidence sift stays anonymous; external candidates have none.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import select

from assessments.appraisals import service as appraisal_service
from assessments.vacancies import service
from assessments.vacancies.models import Stage
from backend.audit import AuditEntry
from tests.appraisals.helpers import open_cycle, plan, through_to_sign_off
from tests.competency.helpers import agree_all, codes, principal_for, self_assess
from tests.conftest import TEST_PASSWORD, login
from tests.vacancies import helpers

SECTION = 'id="promotion-evidence"'
HEADING = "Appraisal history and competency ratings"


@dataclass
class People:
    """What the appraisal helpers need: the supervisor, officer a and HR, as principals."""

    head: object
    a: object
    hr: object


def sign_in(client, email: str, password: str = TEST_PASSWORD) -> str:
    client.cookies.clear()
    return login(client, email, password)


@pytest.fixture
def candidates(session, settings, published, org):
    """Officer a (internal) and Rosa (external) apply; return (internal, external) applications."""
    internal_user = helpers.staff_user(session, settings, "employee", employee=org.officer_a)
    external_user = helpers.external_candidate(session, settings)
    for name, user in (("a", internal_user), ("x", external_user)):
        published.candidates[name] = (
            user,
            helpers.apply(session, settings, published.vacancy, user),
        )
    return published.candidates["a"][1], published.candidates["x"][1]


def rate_and_appraise(session, org, published, rating: int = 4, *, complete: bool = True):
    """Give officer a validated competency levels and an appraisal rated `rating` (2026 cycle).

    The panel's member from the hiring unit is officer a's supervisor (the org's head).
    """
    people = People(
        head=principal_for(session, published.panel.inside),
        a=principal_for(session, published.candidates["a"][0]),
        hr=principal_for(session, published.hr),
    )
    levels = dict.fromkeys(codes(session), 3) | {"legal": 2, "procurement_process": 4}
    self_assess(session, org.officer_a, people.a, levels)
    agree_all(session, org.officer_a, people.head)
    priority = plan(session, people.hr)
    cycle = open_cycle(session, people.hr)
    appraisal = through_to_sign_off(session, cycle, people, org, priority, rating=rating)
    if complete:
        appraisal_service.sign(session, appraisal=appraisal, actor=people.head)
        appraisal_service.sign(session, appraisal=appraisal, actor=people.a)
        session.commit()
    return appraisal


def to_the_sift(session, settings, fake_clock, comp) -> None:
    """Close the window, run the test (both pass) and have every member declare."""
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    for name in ("a", "x"):
        user, application = comp.candidates[name]
        helpers.take_test(session, application, user, 6)
    service.close_test(session, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    for member in comp.panel.members:
        helpers.declare_none(session, comp.vacancy, member)


def lock_the_sift(session, comp) -> None:
    for name in ("a", "x"):
        application = comp.candidates[name][1]
        for member in comp.panel.members:
            helpers.score_all(session, comp.vacancy, Stage.sift, member, application, 3)
        helpers.agree(session, comp.vacancy, Stage.sift, comp.panel.members[0], application)
    helpers.add_interview_questions(session, comp.hr, comp.vacancy)
    service.lock_sift(session, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()


def last_read(session, application) -> dict:
    entry = session.exec(
        select(AuditEntry)
        .where(
            AuditEntry.action == "vacancy.application_read",
            AuditEntry.entity_id == str(application.id),
        )
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None
    return entry.after


def test_the_evidence_gives_completed_appraisals_and_levels_against_the_vacancy(
    session, settings, published, org, candidates, fake_clock
):
    internal, external = candidates
    vacancy = published.vacancy
    appraisal = rate_and_appraise(session, org, published, complete=False)
    people_a = published.candidates["a"][0]
    record = service.promotion_evidence(
        session, vacancy=vacancy, application=internal, for_panel=False
    )
    # Not signed off yet: no appraisal counts, but the validated levels do.
    assert record.appraisals == [] and record.latest_rating is None
    assert [(row.code, row.required, row.current, row.meets) for row in record.levels] == [
        ("procurement_process", 3, 4, True),
        ("legal", 3, 2, False),
        ("communication", 3, 3, True),
    ]
    assert all(row.source == "supervisor" and row.rated_at for row in record.levels)
    head = principal_for(session, published.panel.inside)
    appraisal_service.sign(session, appraisal=appraisal, actor=head)
    appraisal_service.sign(session, appraisal=appraisal, actor=principal_for(session, people_a))
    session.commit()
    record = service.promotion_evidence(
        session, vacancy=vacancy, application=internal, for_panel=False
    )
    assert [(a.cycle, a.final_rating) for a in record.appraisals] == [("2026", 4)]
    assert record.latest_rating == 4 and record.mean_rating == 4
    # External candidates have no record in Mérito.
    assert (
        service.promotion_evidence(session, vacancy=vacancy, application=external, for_panel=False)
        is None
    )
    # The panel: nothing while the sift is anonymous, the same record once it is locked.
    to_the_sift(session, settings, fake_clock, published)
    assert (
        service.promotion_evidence(session, vacancy=vacancy, application=internal, for_panel=True)
        is None
    )
    lock_the_sift(session, published)
    for_panel = service.promotion_evidence(
        session, vacancy=vacancy, application=internal, for_panel=True
    )
    assert for_panel == record


def test_hr_sees_an_internal_candidates_record_on_the_application(
    client, session, org, published, candidates
):
    internal, external = candidates
    rate_and_appraise(session, org, published, rating=4)
    vacancy = published.vacancy
    sign_in(client, published.hr.email)
    page = client.get(f"/competitions/{vacancy.id}/applications/{internal.id}")
    assert page.status_code == 200
    assert SECTION in page.text and HEADING in page.text
    assert "Latest final rating: 4 — Exceeds expectations." in page.text
    assert '<th scope="row">2026</th>' in page.text
    assert "below" in page.text and "meets" in page.text
    assert last_read(session, internal)["promotion_evidence"] is True
    other = client.get(f"/competitions/{vacancy.id}/applications/{external.id}")
    assert other.status_code == 200 and SECTION not in other.text
    assert "promotion_evidence" not in last_read(session, external)
    spanish = client.get(f"/competitions/{vacancy.id}/applications/{internal.id}?lang=es")
    assert SECTION in spanish.text and HEADING not in spanish.text
    assert "Supera lo esperado" in spanish.text and "Historial de evaluaciones" in spanish.text


def test_the_panel_sees_the_record_only_after_the_sift_is_locked(
    client, session, settings, org, published, candidates, fake_clock
):
    internal, external = candidates
    rate_and_appraise(session, org, published, rating=4)
    vacancy = published.vacancy
    to_the_sift(session, settings, fake_clock, published)
    member = published.panel.members[1]
    sign_in(client, member.email)
    sift = client.get(f"/panel/{vacancy.id}/sift/{internal.id}")
    assert sift.status_code == 200
    assert internal.anonymous_code in sift.text
    assert SECTION not in sift.text and "Exceeds expectations" not in sift.text
    assert "promotion_evidence" not in last_read(session, internal)

    lock_the_sift(session, published)
    for stage in ("interview", "sift"):
        page = client.get(f"/panel/{vacancy.id}/{stage}/{internal.id}")
        assert page.status_code == 200, stage
        assert SECTION in page.text and "Latest final rating: 4" in page.text, stage
        assert last_read(session, internal)["promotion_evidence"] is True
    page = client.get(f"/panel/{vacancy.id}/interview/{external.id}")
    assert page.status_code == 200 and SECTION not in page.text
