"""A whole merit-based competition in a real browser.

HR sends the vacancy for approval, a second person approves, HR publishes; two external and two
internal candidates apply (both externals register and confirm their email with the link mailed
to the development outbox); all take the knowledge test; the panel declares conflicts, scores
the sift (by anonymous code) and the interviews (by name, with the internal candidates'
appraisal record), and agrees the consensus; HR publishes the merit list; the runner-up appeals
and the appeal is dismissed with reasons; HR appoints the top. Setup that is not the point
(question bank, panel seats, interview questions, the employees' accounts) goes through the
services, and the competition clock is moved forward instead of waiting weeks.
"""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy

import pytest

from assessments.vacancies import service
from assessments.vacancies.models import ApplicationStatus, VacancyStatus
from tests.browser.conftest import sign_in
from tests.conftest import TEST_PASSWORD
from tests.vacancies import helpers

pytestmark = pytest.mark.browser


def _as(page, base, email_address, password=TEST_PASSWORD):
    page.context.clear_cookies()
    sign_in(page, base, email_address, password)


def _click(page, selector):
    """Click a link or a form's button and wait for the page it loads (every click here
    navigates: htmx only saves test answers, which the test waits for itself)."""
    with page.expect_navigation():
        page.click(selector)


def _mail_to(settings, address: str) -> email.message.EmailMessage:
    """Return the one message in the development outbox addressed to `address`."""
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in settings.outbox_dir.glob("*.eml")
    ]
    (message,) = [m for m in messages if m["To"] == address]
    return message


def _register(page, base, settings, vid, first, last, address) -> None:
    """An external candidate registers from the notice and confirms by the mailed link."""
    settings.public_url = base  # links in mail are built on MERITO_PUBLIC_URL
    page.context.clear_cookies()
    page.goto(f"{base}/vacancies/{vid}")
    _click(page, "a[href='/candidates/register']")
    page.fill("#f-first_name", first)
    page.fill("#f-last_names", last)
    page.fill("#f-email", address)
    page.fill("#f-password", TEST_PASSWORD)
    page.fill("#f-password_again", TEST_PASSWORD)
    _click(page, "form[action='/candidates/register'] button[type=submit]")
    assert "Check your email" in page.content()
    body = _mail_to(settings, address).get_content()
    link = re.search(r"http://[^\s]+/candidates/verify/[\w-]+", body).group(0)
    page.goto(link)
    _click(page, "form[action^='/candidates/verify/'] button")
    assert "is confirmed" in page.content()


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_full_competition_in_the_browser(
    live_server, page, session, settings, monkeypatch, org, make_user
):
    fake = helpers.set_clock(monkeypatch, helpers.FakeClock())
    base = live_server.url
    hr = helpers.staff_user(session, settings, "hr_planner", name="Hilda Ramos")
    approver = helpers.staff_user(session, settings, "hr_planner", name="Arturo Pineda")
    helpers.seed_bank(session, hr)
    vacancy = helpers.draft(session, settings, hr, org.officer_position)
    vid = vacancy.id

    # HR sends the draft for approval; a second person approves; HR publishes.
    _as(page, base, hr.email)
    page.goto(f"{base}/competitions/{vid}")
    _click(page, f"form[action='/competitions/{vid}/submit'] button")
    assert "Sent for approval to a second person." in page.locator(".flashes").inner_text()
    assert page.locator(f"form[action='/competitions/{vid}/approve']").count() == 0
    _as(page, base, approver.email)
    page.goto(f"{base}/competitions/{vid}")
    _click(page, f"form[action='/competitions/{vid}/approve'] button")
    _as(page, base, hr.email)
    page.goto(f"{base}/competitions/{vid}")
    _click(page, f"form[action='/competitions/{vid}/publish'] button")
    session.expire_all()
    vacancy = service.get_vacancy(session, vid)
    assert vacancy.status == VacancyStatus.published
    panel = helpers.seat_panel(session, settings, hr, vacancy, org)
    inside, outside, expert = panel.members

    # The public notice shows its fingerprint to anyone.
    page.context.clear_cookies()
    page.goto(f"{base}/vacancies")
    _click(page, f"a[href='/vacancies/{vid}']")
    assert page.locator("#notice-sha256").inner_text() == vacancy.notice_sha256

    # Both external candidates register and confirm their email from the development outbox.
    _register(page, base, settings, vid, "Rosa", "Paredes Luna", "rosa.paredes@mail.example")
    _register(page, base, settings, vid, "Pablo", "Ortiz Ramos", "pablo.ortiz@mail.example")
    rosa = ("rosa.paredes@mail.example", TEST_PASSWORD)
    pablo = ("pablo.ortiz@mail.example", TEST_PASSWORD)
    mario = (
        helpers.staff_user(session, settings, "employee", employee=org.officer_a).email,
        TEST_PASSWORD,
    )
    ana = (
        helpers.staff_user(session, settings, "employee", employee=org.officer_b).email,
        TEST_PASSWORD,
    )
    people = {"rosa": rosa, "pablo": pablo, "mario": mario, "ana": ana}

    # Each applies through the form.
    for name, (address, password) in people.items():
        _as(page, base, address, password)
        page.goto(f"{base}/vacancies/{vid}")
        _click(page, f"a[href='/vacancies/{vid}/apply']")
        page.check("input[name='answer_q1'][value='yes']")
        for criterion in vacancy.criteria:
            page.fill(
                f"#f-evidence_{criterion['competency']}",
                f"{name}: led the 2025 tender for medicines and documented every step.",
            )
        _click(page, f"form[action='/vacancies/{vid}/apply'] button[type=submit]")
        assert "Your application was received." in page.locator(".flashes").inner_text()
    applications = {
        a.candidate_name.split()[0].lower(): a for a in service.all_applications(session, vacancy)
    }
    assert set(applications) == {"rosa", "pablo", "mario", "ana"}
    assert applications["mario"].is_internal and not applications["rosa"].is_internal

    # Applications close; HR opens the test; everyone takes it in the browser.
    helpers.close_window(session, settings, fake, vacancy)
    _as(page, base, hr.email)
    page.goto(f"{base}/competitions/{vid}")
    _click(page, f"form[action='/competitions/{vid}/test/open'] button")
    assert "The knowledge test is open" in page.locator(".flashes").inner_text()
    right = {"rosa": 6, "pablo": 6, "mario": 5, "ana": 4}
    for name, (address, password) in people.items():
        application = applications[name]
        _as(page, base, address, password)
        page.goto(f"{base}/applications/{application.id}")
        _click(page, f"form[action='/applications/{application.id}/test/start'] button")
        session.expire_all()
        attempt = service.attempt_of(session, application)
        for index, question_id in enumerate(attempt.question_ids):
            option = "0" if index < right[name] else "1"
            page.check(f"input[name='q_{question_id}'][value='{option}']")
        page.wait_for_selector(f"#saved-{attempt.question_ids[-1]}:has-text('Saved')")
        _click(page, "#test-form button[type=submit]")
        assert "Your test was handed in" in page.locator(".flashes").inner_text()
    _as(page, base, hr.email)
    page.goto(f"{base}/competitions/{vid}")
    _click(page, f"form[action='/competitions/{vid}/test/close'] button")
    session.expire_all()
    assert all(
        a.status == ApplicationStatus.active for a in service.all_applications(session, vacancy)
    )
    helpers.add_interview_questions(session, hr, vacancy)

    # The panel declares conflicts (the head of the unit supervises Mario and Ana), then sifts.
    for member in (inside, outside, expert):
        _as(page, base, member.email)
        page.goto(f"{base}/panel/{vid}")
        assert "Declare conflicts of interest" in page.content()
        _click(page, f"a[href='/panel/{vid}/declarations']")
        for name, application in applications.items():
            conflicted = member.id == inside.id and name in ("mario", "ana")
            page.check(
                f"input[name='conflict_{application.id}'][value='{'yes' if conflicted else 'no'}']"
            )
            if conflicted:
                page.fill(f"#f-note_{application.id}", "I am this person's supervisor.")
        _click(page, f"form[action='/panel/{vid}/declarations'] button[type=submit]")
        listed = page.locator("table tbody a").all_inner_texts()
        # Anonymous in the sift: codes only, and nobody the member is conflicted with.
        assert all(text.startswith("C-") for text in listed)
        assert len(listed) == (2 if member.id == inside.id else 4)
    sift = {"rosa": "3", "pablo": "2", "mario": "3", "ana": "2"}
    for member in (inside, outside, expert):
        _as(page, base, member.email)
        for name, application in applications.items():
            if member.id == inside.id and name in ("mario", "ana"):
                continue
            page.goto(f"{base}/panel/{vid}/sift/{application.id}")
            assert application.candidate_name not in page.content()
            # Nor an internal candidate's appraisal record while the sift is anonymous.
            assert page.locator("#promotion-evidence").count() == 0
            for criterion in vacancy.criteria:
                page.check(f"input[name='score_{criterion['competency']}'][value='{sift[name]}']")
            _click(page, "#score-form button[type=submit]")
            assert "Your scores were recorded" in page.locator(".flashes").inner_text()
    _as(page, base, outside.email)
    for application in applications.values():
        page.goto(f"{base}/panel/{vid}/sift/{application.id}")
        _click(page, "text=Agree the rounded means as consensus")
    _as(page, base, hr.email)
    page.goto(f"{base}/competitions/{vid}")
    _click(page, f"form[action='/competitions/{vid}/sift/lock'] button")
    assert "Sift scores locked" in page.locator(".flashes").inner_text()

    # Names are revealed: the panel scores the interviews, seeing the internal candidates'
    # appraisal record, then agrees the consensus.
    interview = {"rosa": "4", "mario": "3", "pablo": "2", "ana": "2"}
    for member in (inside, outside, expert):
        _as(page, base, member.email)
        for name, application in applications.items():
            if member.id == inside.id and name in ("mario", "ana"):
                continue
            page.goto(f"{base}/panel/{vid}/interview/{application.id}")
            assert application.candidate_name in page.locator("h1").inner_text()
            record = page.locator("#promotion-evidence").count()
            assert record == (1 if application.is_internal else 0), name
            for criterion in vacancy.criteria:
                page.check(
                    f"input[name='score_{criterion['competency']}'][value='{interview[name]}']"
                )
            _click(page, "#score-form button[type=submit]")
            assert "Your scores were recorded" in page.locator(".flashes").inner_text()
    _as(page, base, outside.email)
    for application in applications.values():
        page.goto(f"{base}/panel/{vid}/interview/{application.id}")
        _click(page, "text=Agree the rounded means as consensus")
        assert "Consensus recorded." in page.locator(".flashes").inner_text()
    _as(page, base, hr.email)
    page.goto(f"{base}/competitions/{vid}/merit")
    _click(page, f"form[action='/competitions/{vid}/results'] button")
    ranks = page.locator("#merit-table tbody tr td:first-child").all_inner_texts()
    names = page.locator("#merit-table tbody tr td:nth-child(2)").all_inner_texts()
    assert ranks == ["1", "2", "3", "4"]
    assert [n.split()[0] for n in names] == ["Rosa", "Mario", "Pablo", "Ana"]

    # Mario sees his own scores and appeals; the approver dismisses it with reasons.
    mario_app = applications["mario"]
    _as(page, base, *mario)
    page.goto(f"{base}/applications/{mario_app.id}")
    assert "You are number 2 of 4 on the merit list" in page.content()
    page.fill("#f-appeal", "My interview answer on contract law was not taken into account.")
    _click(page, f"form[action='/applications/{mario_app.id}/appeal'] button")
    (appeal,) = service.appeals_of(session, vacancy)
    _as(page, base, approver.email)
    page.goto(f"{base}/competitions/{vid}/merit")
    _click(page, f"form[action='/competitions/{vid}/appeals/{appeal.id}/review'] button")
    page.check("input[name='decision'][value='dismissed']")
    page.fill(f"#f-appeal-reason-{appeal.id}", "The panel's notes show the answer was scored at 3.")
    _click(page, f"form[action='/competitions/{vid}/appeals/{appeal.id}/decide'] button")
    _as(page, base, *mario)
    page.goto(f"{base}/applications/{mario_app.id}")
    assert "The panel's notes show the answer was scored at 3." in page.content()

    # After the appeal window, HR appoints the top of the list.
    session.expire_all()
    vacancy = service.get_vacancy(session, vid)
    fake.moment = vacancy.appeal_closes_at + timedelta(minutes=1)
    _as(page, base, hr.email)
    page.goto(f"{base}/competitions/{vid}/merit")
    page.select_option("#f-application_id", str(applications["rosa"].id))
    _click(page, "#appoint-form button[type=submit]")
    session.expire_all()
    assert service.get_vacancy(session, vid).status == VacancyStatus.appointed
    page.context.clear_cookies()
    page.goto(f"{base}/vacancies/{vid}")
    assert "Rank 1 on the merit list was appointed" in page.content()
    assert "Results (anonymised)" in page.content()
