"""Pages and forms of the competition, over HTTP: rendering, object-level access, bad input."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from assessments.vacancies import service
from assessments.vacancies.models import Application, ApplicationStatus, VacancyStatus
from backend.audit import AuditEntry
from tests.conftest import TEST_PASSWORD, login
from tests.vacancies import helpers


def sign_in(client, email: str, password: str = TEST_PASSWORD) -> str:
    """Sign in afresh (whoever was signed in before); return the CSRF token."""
    client.cookies.clear()
    return login(client, email, password)


def _candidates(session, settings, comp, org):
    a = helpers.staff_user(session, settings, "employee", employee=org.officer_a)
    x = helpers.external_candidate(session, settings)
    y = helpers.external_candidate(session, settings, "Pablo", "Ortiz Ramos")
    for name, user in (("a", a), ("x", x), ("y", y)):
        comp.candidates[name] = (user, helpers.apply(session, settings, comp.vacancy, user))
    return a, x, y


def test_the_board_and_notice_are_public_and_show_the_fingerprint(client, published):
    vacancy = published.vacancy
    board = client.get("/vacancies")
    assert board.status_code == 200 and vacancy.title in board.text
    page = client.get(f"/vacancies/{vacancy.id}")
    assert page.status_code == 200
    assert vacancy.notice_sha256 in page.text
    assert "Open for applications" in page.text
    document = client.get(f"/vacancies/{vacancy.id}/notice.json")
    assert hashlib.sha256(document.content).hexdigest() == vacancy.notice_sha256
    api = client.get(f"/api/v1/vacancies/{vacancy.id}").json()
    assert api["notice_sha256"] == vacancy.notice_sha256


def test_a_draft_is_not_on_the_public_board(client, session, settings, hr, org, bank, fake_clock):
    draft = helpers.draft(session, settings, hr, org.officer_position)
    assert client.get(f"/vacancies/{draft.id}").status_code == 404
    assert draft.title not in client.get("/vacancies").text or not service.public_vacancies(session)


def test_the_notice_page_is_translated(client, published):
    page = client.get(f"/vacancies/{published.vacancy.id}?lang=es")
    assert "Competencias evaluadas" in page.text
    assert "Abierta a postulaciones" in page.text


def test_a_candidate_applies_through_the_form(client, session, settings, published):
    vacancy = published.vacancy
    user = helpers.external_candidate(session, settings)
    csrf = sign_in(client, user.email, helpers.TEST_PASSWORD + "x")
    page = client.get(f"/vacancies/{vacancy.id}/apply")
    assert page.status_code == 200
    assert "<h1>Apply: Analista de adquisiciones</h1>" in page.text
    assert "You apply as an external candidate." in page.text
    assert f'<form method="post" action="/vacancies/{vacancy.id}/apply"' in page.text
    # The notice's eligibility question, and one empty evidence box per competency assessed.
    assert "Do you hold a bachelor&#39;s degree?" in page.text
    assert page.text.count('name="answer_q1"') == 2 and "checked>" not in page.text
    box = r'<label for="f-evidence_(\w+)">([^<]+)</label>.*?<textarea id="f-evidence_\1"[^>]*>'
    boxes = re.findall(box + "</textarea>", page.text, re.S)
    assert boxes == [
        ("procurement_process", "Procurement process — required level 3"),
        ("legal", "Legal — required level 3"),
        ("communication", "Communication — required level 3"),
    ]
    form = {"csrf_token": csrf, "answer_q1": "yes"}
    for c in vacancy.criteria:
        form[f"evidence_{c['competency']}"] = "Led the tender file for the 2025 medicines purchase."
    response = client.post(f"/vacancies/{vacancy.id}/apply", data=form, follow_redirects=False)
    assert response.status_code == 303
    application = session.exec(select(Application).where(Application.user_id == user.id)).one()
    page = client.get(response.headers["location"])
    assert "Your application was received." in page.text
    assert application.status == ApplicationStatus.active


def test_missing_evidence_is_refused_with_reasons_and_nothing_written(
    client, session, settings, published
):
    vacancy = published.vacancy
    user = helpers.external_candidate(session, settings)
    csrf = sign_in(client, user.email, helpers.TEST_PASSWORD + "x")
    response = client.post(
        f"/vacancies/{vacancy.id}/apply", data={"csrf_token": csrf, "answer_q1": "yes"}
    )
    assert response.status_code == 422
    assert "Describe what you did" in response.text
    assert session.exec(select(Application)).all() == []


def test_an_application_after_closing_is_refused(client, session, settings, published, fake_clock):
    vacancy = published.vacancy
    user = helpers.external_candidate(session, settings)
    fake_clock.moment = vacancy.closes_at + timedelta(seconds=1)
    csrf = sign_in(client, user.email, helpers.TEST_PASSWORD + "x")
    form = {"csrf_token": csrf, "answer_q1": "yes"}
    for c in vacancy.criteria:
        form[f"evidence_{c['competency']}"] = "Led the tender file for the 2025 medicines purchase."
    response = client.post(f"/vacancies/{vacancy.id}/apply", data=form)
    assert response.status_code == 409
    assert "Applications for this vacancy are closed." in response.text
    assert session.exec(select(Application)).all() == []


def test_a_candidate_sees_only_their_own_application(client, session, settings, published, org):
    a, x, _y = _candidates(session, settings, published, org)
    own = published.candidates["x"][1]
    other = published.candidates["a"][1]
    sign_in(client, x.email, helpers.TEST_PASSWORD + "x")
    page = client.get(f"/applications/{own.id}")
    assert page.status_code == 200
    assert "<h1>My application: Analista de adquisiciones</h1>" in page.text
    # Hers: sent as an external candidate (the other applicant is an employee), her withdrawal.
    assert "<dt>Applied as</dt><dd>External candidate</dd>" in page.text
    assert f'action="/applications/{own.id}/withdraw"' in page.text
    assert f"/applications/{other.id}" not in page.text
    assert "I led three tenders where I applied legal end to end." in page.text
    assert client.get(f"/applications/{other.id}").status_code == 404
    assert client.get(f"/applications/{other.id}/test").status_code == 404


def test_an_unverified_candidate_cannot_apply(client, session, settings, published):
    from assessments.vacancies import service

    user = service.register(
        session,
        settings,
        email="late@mail.example",
        first_name="Ivan",
        last_names="Castro",
        password=helpers.TEST_PASSWORD + "x",
        locale="en",
    ).user
    session.commit()
    csrf = sign_in(client, user.email, helpers.TEST_PASSWORD + "x")
    # Until the address is confirmed, the account is sent to the page that asks for it
    # (tests/vacancies/test_registration_security.py proves it for every route).
    page = client.get(f"/vacancies/{published.vacancy.id}/apply", follow_redirects=False)
    assert page.headers["location"] == "/candidates/confirm-email"
    assert "confirm your email address" in client.get(page.headers["location"]).text
    form = {"csrf_token": csrf, "answer_q1": "yes"}
    for c in published.vacancy.criteria:
        form[f"evidence_{c['competency']}"] = "Led the tender file for the 2025 medicines purchase."
    response = client.post(
        f"/vacancies/{published.vacancy.id}/apply", data=form, follow_redirects=False
    )
    assert response.status_code in (303, 403)
    assert session.exec(select(Application)).all() == []


def test_changing_a_published_notice_is_refused_over_http(client, session, settings, published):
    vacancy = published.vacancy
    csrf = sign_in(client, published.hr.email)
    before = vacancy.notice_sha256
    form = {"csrf_token": csrf, "title": "Changed quietly"}
    response = client.post(f"/competitions/{vacancy.id}/edit", data=form)
    assert response.status_code == 409
    assert "formal amendment" in response.text
    session.refresh(vacancy)
    assert vacancy.title != "Changed quietly" and vacancy.notice_sha256 == before


def test_a_panel_member_of_another_competition_is_refused(
    client, session, settings, published, org
):
    _candidates(session, settings, published, org)
    stranger = helpers.staff_user(session, settings, "panel_member")
    sign_in(client, stranger.email)
    vacancy = published.vacancy
    panels = client.get("/panel")
    assert panels.status_code == 200 and "<h1>My panels</h1>" in panels.text
    assert "You are not on any panel." in panels.text
    assert vacancy.title not in panels.text and f"/panel/{vacancy.id}" not in panels.text
    assert client.get(f"/panel/{vacancy.id}").status_code == 403
    application = published.candidates["x"][1]
    assert client.get(f"/panel/{vacancy.id}/sift/{application.id}").status_code == 403


def test_a_panel_member_sees_no_application_before_declaring(
    client, session, settings, published, org, fake_clock
):
    comp = published
    _candidates(session, settings, comp, org)
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    for name in ("a", "x", "y"):
        user, application = comp.candidates[name]
        helpers.take_test(session, application, user, 6)
    service.close_test(session, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    member = comp.panel.members[1]
    sign_in(client, member.email)
    application = comp.candidates["x"][1]
    response = client.get(f"/panel/{comp.vacancy.id}/sift/{application.id}")
    assert response.status_code == 409
    assert "Declare your conflicts of interest" in response.text
    reads = session.exec(
        select(AuditEntry).where(AuditEntry.action == "vacancy.application_read")
    ).all()
    assert reads == []


def test_the_test_refuses_answers_after_the_time_limit(
    client, session, settings, published, org, fake_clock
):
    comp = published
    _a, x, _y = _candidates(session, settings, comp, org)
    helpers.close_window(session, settings, fake_clock, comp.vacancy)
    service.open_test(session, settings, vacancy=comp.vacancy, actor=comp.hr)
    session.commit()
    application = comp.candidates["x"][1]
    csrf = sign_in(client, x.email, helpers.TEST_PASSWORD + "x")
    start = client.post(
        f"/applications/{application.id}/test/start",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert start.status_code == 303
    page = client.get(f"/applications/{application.id}/test")
    assert "Question 1 of 6" in page.text
    attempt = service.attempt_of(session, application)
    first = attempt.question_ids[0]
    saved = client.post(
        f"/applications/{application.id}/test/answer",
        data={"csrf_token": csrf, "question_id": first, "chosen": 0},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200 and "Saved" in saved.text
    fake_clock.advance(minutes=comp.vacancy.test_minutes, seconds=10)
    late = client.post(
        f"/applications/{application.id}/test/submit",
        data={"csrf_token": csrf, f"q_{attempt.question_ids[1]}": "0"},
        follow_redirects=False,
    )
    # Back to the test page (a reload must not hand the test in again), which says why.
    assert late.status_code == 303
    assert late.headers["location"] == f"/applications/{application.id}/test"
    assert "The time limit has passed" in client.get(late.headers["location"]).text
    session.expire_all()
    assert service.answers_of(session, attempt) == {first: 0}
    assert service.attempt_of(session, application).submitted_at is None


def test_every_page_renders_through_a_whole_competition(
    client, session, settings, published, org, fake_clock
):
    comp = published
    vacancy = comp.vacancy
    _candidates(session, settings, comp, org)

    heading = f'<h1>{vacancy.title} <span class="muted">{vacancy.reference}</span></h1>'
    x_user, x_application = comp.candidates["x"]
    member = comp.panel.members[0]
    jars: dict[str, dict] = {}

    def as_person(email: str, password: str = TEST_PASSWORD) -> None:
        """Sign in once per person, then go back to their session (as separate browsers)."""
        if client.cookies.get("merito_session"):
            jars[current[0]] = dict(client.cookies.items())
        client.cookies.clear()
        if email in jars:
            for name, value in jars[email].items():
                client.cookies.set(name, value)
        else:
            login(client, email, password)
        current[0] = email

    current = [""]

    def shows(pages: dict[str, str]) -> None:
        """Each page answers 200 and is the page asked for (its heading, or a name on it)."""
        for path, needle in pages.items():
            response = client.get(path)
            assert response.status_code == 200, (path, response.text[:2000])
            assert needle in response.text, (path, needle)

    def hr_pages():
        as_person(comp.hr.email)
        shows(
            {
                "/competitions": "<h1>Competitions</h1>",
                f"/competitions/{vacancy.id}": heading,
                f"/competitions/{vacancy.id}/applications": "<h1>Applications</h1>",
                f"/competitions/{vacancy.id}/applications/{x_application.id}": (
                    f"<h1>{x_user.full_name}</h1>"
                ),
                f"/competitions/{vacancy.id}/amend": "<h1>Amend the notice</h1>",
                f"/competitions/{vacancy.id}/merit": f"<h1>Merit list: {vacancy.title}</h1>",
                "/competitions/bank": "<h1>Question bank</h1>",
                "/integrity": "<h1>Integrity of competitions</h1>",
                f"/integrity/competitions/{vacancy.id}": heading,
                f"/integrity/members/{member.id}": f"<h1>{member.full_name}</h1>",
                "/": comp.hr.full_name,
            }
        )

    def candidate_pages():
        as_person(x_user.email, helpers.TEST_PASSWORD + "x")
        shows(
            {
                "/applications": "<h1>My applications</h1>",
                f"/applications/{x_application.id}": f"<h1>My application: {vacancy.title}</h1>",
                "/": x_user.full_name,
            }
        )

    def panel_pages(stage=None):
        as_person(member.email)
        pages = {
            "/panel": "<h1>My panels</h1>",
            f"/panel/{vacancy.id}": heading,
            f"/panel/{vacancy.id}/declarations": "<h1>Conflicts of interest</h1>",
            "/": member.full_name,
        }
        if stage:
            title = {"sift": "Evidence sift", "interview": "Structured interview"}[stage]
            pages[f"/panel/{vacancy.id}/{stage}/{x_application.id}"] = f"<h1>{title}: "
        shows(pages)

    hr_pages()
    candidate_pages()
    panel_pages()
    helpers.run_to_interview(
        session,
        settings,
        fake_clock,
        comp,
        test_right={"a": 5, "x": 6, "y": 1},
        sift={"a": (3, 3, 2), "x": (3, 4, 3)},
    )
    hr_pages()
    candidate_pages()
    panel_pages("sift")
    panel_pages("interview")
    helpers.run_interviews(session, settings, comp, interview={"a": (3, 3, 3), "x": (4, 4, 3)})
    hr_pages()
    candidate_pages()
    page = client.get(f"/applications/{comp.candidates['x'][1].id}")
    assert "You are number 1 of 2 on the merit list" in page.text
    assert "Results (anonymised)" in client.get(f"/vacancies/{vacancy.id}").text
    fake_clock.moment = vacancy.appeal_closes_at + timedelta(minutes=1)
    service.propose_appointment(
        session,
        vacancy=vacancy,
        application=comp.candidates["x"][1],
        justification="",
        actor=comp.hr,
    )
    session.commit()
    assert vacancy.status == VacancyStatus.appointed
    hr_pages()
    candidate_pages()
    assert "reserve list" in client.get(f"/vacancies/{vacancy.id}").text


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_dashboard_panels_for_candidates_panel_and_hr(client, session, settings, published, org):
    _candidates(session, settings, published, org)
    user, _application = published.candidates["x"]
    sign_in(client, user.email, helpers.TEST_PASSWORD + "x")
    assert ">My applications</h2>" in client.get("/").text
    sign_in(client, published.panel.members[0].email)
    home = client.get("/").text
    assert "Competitions awaiting me" in home and "declarations to make" in home
    sign_in(client, published.hr.email)
    home = client.get("/").text
    assert "Competitions by stage" in home
    # A staff account without an employee record (an HR planner) that never applied is not
    # asked to confirm an email to apply: that is for external candidates.
    planner = helpers.staff_user(session, settings, "hr_planner")
    sign_in(client, planner.email)
    home = client.get("/").text
    assert ">My applications</h2>" not in home and "Confirm your email" not in home


def test_hr_cancels_through_the_form_and_each_applicants_outcome_is_announced(
    client, session, settings, published, org, events
):
    comp = published
    _candidates(session, settings, comp, org)
    vacancy = comp.vacancy
    csrf = sign_in(client, comp.hr.email)
    refused = client.post(
        f"/competitions/{vacancy.id}/cancel",
        data={"csrf_token": csrf, "reason": ""},
        follow_redirects=False,
    )
    assert refused.status_code == 303
    assert refused.headers["location"] == f"/competitions/{vacancy.id}"
    assert "Give a written reason." in client.get(refused.headers["location"]).text
    session.expire_all()
    assert service.get_vacancy(session, vacancy.id).status == VacancyStatus.published
    assert events == []
    done = client.post(
        f"/competitions/{vacancy.id}/cancel",
        data={"csrf_token": csrf, "reason": "The post was abolished by decree."},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "The competition was cancelled" in done.text
    assert sorted(
        (e.payload["stage"], e.payload["reason"], e.subject_employee_id or 0) for e in events
    ) == [
        ("cancellation", "competition_cancelled", 0),
        ("cancellation", "competition_cancelled", 0),
        ("cancellation", "competition_cancelled", org.officer_a.id),
    ]
