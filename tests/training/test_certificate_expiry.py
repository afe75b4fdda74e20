"""Certificates and qualifications with validity (issue #15): the daily job tells the holder and
HR 90, 30 and 0 days before a certificate stops being valid — each threshold once, however often
it runs — and proposes the renewal into the holder's plan once; mail reaches a real SMTP server
in each person's language."""

from __future__ import annotations

from datetime import date, timedelta
from email.utils import parseaddr

import pytest
from sqlmodel import select

from backend import clock, notices
from backend.notices.models import Notice
from backend.org import service as org_service
from competency_framework.training import service
from competency_framework.training.models import TrainingPlan, TrainingPlanItem
from tests.smtp_helpers import local_smtp, use_smtp

EXPIRES = date(2027, 2, 15)


@pytest.fixture
def holder_and_hr(session, org, make_user):
    qualification = org_service.ensure_qualification(
        session, code="CERT-PROC", name_es="", name_en="", is_procurement=True
    )
    return {
        "qualification": qualification,
        "holder": make_user("employee", employee=org.officer_a, locale="en"),
        "hr": make_user("hr_planner", locale="es"),
        "other": make_user("employee", employee=org.officer_b, locale="es"),
    }


def _hold(session, employee, qualification, expires_on):
    from backend.org.models import EmployeeQualification

    if session.get(EmployeeQualification, (employee.id, qualification.id)) is None:
        session.add(
            EmployeeQualification(employee_id=employee.id, qualification_id=qualification.id)
        )
        session.flush()
    org_service.set_qualification_expiry(
        session,
        employee_id=employee.id,
        qualification_id=qualification.id,
        expires_on=expires_on,
    )
    session.commit()


def _run(session, settings, day: date) -> service.ExpiryRun:
    with clock.frozen(day):
        run = service.run_expiry(session, settings, today=day)
    session.commit()
    return run


def _kinds(session, user) -> list[str]:
    return list(
        session.exec(
            select(Notice.kind).where(Notice.user_id == user.id).order_by(Notice.created_at)
        ).all()
    )


def _renewals(session, employee) -> list[TrainingPlanItem]:
    return list(
        session.exec(
            select(TrainingPlanItem).where(
                TrainingPlanItem.employee_id == employee.id, TrainingPlanItem.origin == "renewal"
            )
        ).all()
    )


def test_each_threshold_is_told_once_and_the_renewal_is_proposed_once(
    session, settings, org, holder_and_hr
):
    people = holder_and_hr
    _hold(session, org.officer_a, people["qualification"], EXPIRES)
    assert _run(session, settings, EXPIRES - timedelta(days=91)).told == 0
    first = _run(session, settings, EXPIRES - timedelta(days=90))
    assert (first.told, first.renewals) == (2, 1)  # the holder and HR; one renewal
    again = _run(session, settings, EXPIRES - timedelta(days=90))  # the job runs twice
    assert (again.told, again.renewals) == (0, 0)
    assert _run(session, settings, EXPIRES - timedelta(days=45)).told == 0  # still "90"
    assert _run(session, settings, EXPIRES - timedelta(days=30)).told == 2
    assert _run(session, settings, EXPIRES - timedelta(days=29)).told == 0
    assert _run(session, settings, EXPIRES).told == 2  # the day it stops being valid
    assert _run(session, settings, EXPIRES + timedelta(days=1)).told == 0

    expiring, expired = "training.certificate_expiring", "training.certificate_expired"
    assert _kinds(session, people["holder"]) == [expiring, expiring, expired]
    assert _kinds(session, people["hr"]) == [f"{expiring}_hr", f"{expiring}_hr", f"{expired}_hr"]
    assert _kinds(session, people["other"]) == []  # not theirs
    [renewal] = _renewals(session, org.officer_a)
    assert (renewal.expires_on, renewal.status, renewal.activity_id) == (EXPIRES, "proposed", None)
    assert renewal.renewal_of == f"qualification:{people['qualification'].id}"
    plan = session.get(TrainingPlan, renewal.plan_id)
    assert plan.year == 2027  # the plan of the year it expires

    # Renewed: a new expiry day starts the thresholds and the renewal again.
    later = EXPIRES + timedelta(days=365)
    _hold(session, org.officer_a, people["qualification"], later)
    assert _run(session, settings, later - timedelta(days=20)).told == 2  # nearest only: 30
    assert len(_renewals(session, org.officer_a)) == 2


def test_a_first_run_inside_the_window_tells_only_the_nearest_threshold(
    session, settings, org, holder_and_hr
):
    _hold(session, org.officer_a, holder_and_hr["qualification"], EXPIRES)
    assert _run(session, settings, EXPIRES - timedelta(days=10)).told == 2
    assert _run(session, settings, EXPIRES - timedelta(days=5)).told == 0
    assert _kinds(session, holder_and_hr["holder"]) == ["training.certificate_expiring"]
    # Long expired before the first run: left alone.
    _hold(session, org.officer_b, holder_and_hr["qualification"], date(2026, 1, 1))
    assert _run(session, settings, EXPIRES - timedelta(days=5)).told == 0


def test_holder_and_hr_get_the_mail_in_their_own_language(session, settings, org, holder_and_hr):
    people = holder_and_hr
    settings.public_url = "https://merito.example.org"
    _hold(session, org.officer_a, people["qualification"], EXPIRES)
    day = EXPIRES - timedelta(days=30)
    _run(session, settings, day)
    with local_smtp() as (controller, inbox), clock.frozen(day):
        use_smtp(settings, controller)
        notices.deliver(session, settings)
    mails = {parseaddr(str(m["To"]))[1]: m for m in inbox.messages}
    holder, hr = mails[people["holder"].email], mails[people["hr"].email]
    assert str(holder["Subject"]) == "Your certificate expires on February 15, 2027"
    text = holder.get_body(("plain",)).get_content()
    assert "Your certificate “Public procurement certification” expires on February 15" in text
    assert "renewal is proposed in your training plan" in text
    assert "https://merito.example.org/training/me" in text
    assert str(hr["Subject"]) == "Un certificado vence el 15 de febrero de 2027: Mario Ruiz"
    text = hr.get_body(("plain",)).get_content()
    assert "«Certificación en contrataciones públicas» de Mario Ruiz vence el 15 de" in text
    assert f"https://merito.example.org/org/employees/{org.officer_a.id}" in text


def test_hr_sets_the_expiry_on_the_persons_page_which_shows_it_in_words(
    client, session, settings, org, holder_and_hr
):
    from tests.conftest import login

    hr = holder_and_hr["hr"]
    qualification = holder_and_hr["qualification"]
    _hold(session, org.officer_a, qualification, None)
    csrf = login(client, hr.email)
    address = f"/org/employees/{org.officer_a.id}/qualifications/{qualification.id}/expiry"
    refused = client.post(
        address, data={"csrf_token": csrf, "expires_on": "31/02/2027"}, follow_redirects=True
    )
    assert refused.status_code == 200
    assert "Escriba una fecha (AAAA-MM-DD)." in refused.text and "31/02/2027" in refused.text
    session.expire_all()
    assert org_service.held_qualifications(session, org.officer_a.id)[0].expires_on is None
    no_token = client.post(address, data={"expires_on": "2027-01-01"})
    assert no_token.status_code == 403
    day = clock.today(settings) + timedelta(days=30)
    saved = client.post(
        address, data={"csrf_token": csrf, "expires_on": day.isoformat()}, follow_redirects=True
    )
    assert "Fecha de vencimiento guardada." in saved.text
    assert "vence en 30 días" in saved.text
    listed = client.get("/org/qualifications?lang=en")
    assert "Expiring in the next 90 days or expired" in listed.text
    assert "expires in 30 days" in listed.text and org.officer_a.full_name in listed.text
    client.cookies.clear()
    csrf = login(client, holder_and_hr["holder"].email)
    refused = client.post(address, data={"csrf_token": csrf, "expires_on": "2030-01-01"})
    assert refused.status_code == 403  # the holder cannot extend it


def test_a_training_certificate_expires_and_its_activity_is_proposed_again(
    session, settings, org, holder_and_hr
):
    from tests.training.helpers import activity, principal_for, session_of

    hr = principal_for(session, holder_and_hr["hr"])
    course = activity(session, "cert_valid", {"legal": (0, 2)})
    session.commit()
    today = clock.today(settings)
    expires = today + timedelta(days=25)
    for expiry in ("not a date", today.isoformat()):  # refused: nothing is recorded
        row = session_of(session, course)
        enrolment = service.enrol_someone(
            session,
            training_session=row,
            employee_number=org.officer_a.number,
            learner_id=None,
            actor=hr,
        )
        with pytest.raises(service.TrainingError) as refused:
            service.complete(
                session, settings, enrolment=enrolment, actor=hr, certificate_expires_on=expiry
            )
        assert "certificate_expires_on" in refused.value.form_errors()
        session.rollback()
    row = session_of(session, course)
    enrolment = service.enrol_someone(
        session,
        training_session=row,
        employee_number=org.officer_a.number,
        learner_id=None,
        actor=hr,
    )
    service.complete(
        session, settings, enrolment=enrolment, actor=hr, certificate_expires_on=expires.isoformat()
    )
    session.commit()
    assert enrolment.certificate_expires_on == expires
    run = _run(session, settings, today)
    assert (run.told, run.renewals) == (2, 1)
    [renewal] = _renewals(session, org.officer_a)
    assert (renewal.activity_id, renewal.renewal_of) == (course.id, f"enrolment:{enrolment.id}")
    assert _run(session, settings, today).told == 0
