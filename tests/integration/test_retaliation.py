"""Retaliation complaints and the HR watch (whistleblowing.service.retaliation), on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import select

from assessments.appraisals import service as appraisal_service
from assessments.vacancies import service as vacancy_service
from backend import audit, clock, events, i18n
from backend.clock import now as utcnow
from backend.org import service as org_service
from backend.org.service import EmployeeInput, roster
from competency_framework.training import service as training
from competency_framework.training.models import TrainingActivity
from tests.appraisals import helpers as appraisal_helpers
from tests.conftest import login
from tests.reporting_helpers import (
    add_holder,
    file_report,
    holder_private,
    ready_channel,
    reporter_of,
    staff_login,
)
from tests.training.helpers import activity as training_activity
from tests.training.helpers import principal_for, session_of
from tests.vacancies import helpers as vacancy_helpers
from whistleblowing import deadlines
from whistleblowing import jobs as wb_jobs
from whistleblowing import service as reporting
from whistleblowing.models import (
    ComplaintAttachment,
    ComplaintItem,
    ComplaintKeyWrap,
    Notification,
    ProtectedPerson,
    RetaliationComplaint,
    WatchBook,
    WatchEntry,
    WatchKey,
)
from whistleblowing.service import retaliation
from whistleblowing.service.retaliation import AllegedAct, ComplaintInput, Step


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the service speaks the request's locale)."""
    with i18n.use_locale("en"):
        yield


def _today(settings) -> date:
    return clock.today(settings)


def _appended(session, settings, action, *, next_day=False):
    """Return the audit entries of `action`; with `next_day`, after the entries kept back for
    the day (complainants' actions: day precision) were appended, as the next day's job does."""
    if next_day:
        audit.append_deferred(
            session, today=_today(settings) + timedelta(days=1), time_zone=settings.time_zone
        )
        session.commit()
    return session.exec(select(audit.AuditEntry).where(audit.AuditEntry.action == action)).all()


def _complaint(**overrides) -> ComplaintInput:
    values = dict(
        acts=[AllegedAct("negative_appraisal", None, "Rated 'does not meet' for the first time")],
        narrative="Two weeks after my report my supervisor rated me as not meeting expectations.",
    )
    values.update(overrides)
    return ComplaintInput(**values)


@pytest.fixture
def scene(session, settings, make_user, org):
    """A channel with an investigator, a protection officer, a report and its reporter."""
    ready = ready_channel(session, settings, make_user)
    officer = add_holder(session, settings, make_user, "protection_officer")
    result = file_report(
        session, settings, ready.channel.id, received_on=_today(settings) - timedelta(days=20)
    )
    employee_user = make_user("employee", employee=org.officer_a)
    return ready, officer, result, employee_user


def test_a_complaint_through_the_receipt_goes_to_the_officers_not_the_investigators(
    session, settings, make_user, scene
):
    ready, officer, result, _employee = scene
    # Someone both investigator of the report and protection officer is left out.
    both = add_holder(session, settings, make_user, "investigator", "protection_officer")
    access = reporting.open_case(
        session,
        user=ready.investigator,
        holder_private=holder_private(session, ready.investigator),
        reference=result.report.reference,
    )
    reporting.grant_access(session, access=access, actor=ready.investigator, grantee=both)
    session.commit()
    mine = reporter_of(session, settings, result.receipt)
    complaint = retaliation.file_by_receipt(
        session,
        settings,
        access=mine,
        data=_complaint(evidence=[reporting.Upload("letter.txt", b"You are moved to Tijuana.")]),
    )
    session.commit()
    holders = {
        w.user_id
        for w in session.exec(
            select(ComplaintKeyWrap).where(ComplaintKeyWrap.complaint_id == complaint.id)
        )
    }
    assert holders == {officer.id, None}  # the officer and the recovery key
    assert [c.reference for c in retaliation.complaint_inbox(session, officer=officer)] == [
        complaint.reference
    ]
    assert retaliation.complaint_inbox(session, officer=both) == []
    with pytest.raises(reporting.ReportingError) as refused:
        retaliation.open_complaint(
            session,
            officer=both,
            holder_private=holder_private(session, both),
            reference=complaint.reference,
            audit_read=False,
        )
    assert refused.value.status_code == 404
    notices = session.exec(select(Notification).where(Notification.complaint_id == complaint.id))
    assert [n.user_id for n in notices] == [officer.id]
    # Nothing plain ties the complaint to the report or the reporter.
    assert complaint.reporter_tag and complaint.complainant_tag is None
    assert _appended(session, settings, "retaliation.complaint_filed") == []  # not yet: see below
    [entry] = _appended(session, settings, "retaliation.complaint_filed", next_day=True)
    assert entry.actor == "complainant" and result.report.reference not in json.dumps(entry.after)
    assert entry.at == audit.day_stamp(_today(settings), settings.time_zone)
    # The reporter reads it back with the receipt, files and all.
    [found] = retaliation.complaints_of_reporter(session, access=mine)
    entries = retaliation.complaint_timeline(session, access=found)
    assert entries[0].content["protected_report"]["reference"] == result.report.reference
    view, data = retaliation.read_complaint_attachment(
        session, settings, access=found, uid=entries[0].attachments[0].uid
    )
    assert data == b"You are moved to Tijuana."


def test_a_complaint_needs_acts_a_story_and_a_live_receipt_session(
    session, settings, make_user, scene
):
    ready, officer, result, _employee = scene
    today = _today(settings)
    mine = reporter_of(session, settings, result.receipt)
    for bad, field in (
        (_complaint(acts=[]), "acts"),
        (_complaint(acts=[AllegedAct("promotion_to_ceo", None)]), "acts"),
        (_complaint(acts=[AllegedAct("dismissal", today + timedelta(days=1))]), "acts"),
        (_complaint(narrative="  "), "narrative"),
    ):
        with pytest.raises(reporting.ReportingError) as refused:
            retaliation.file_by_receipt(session, settings, access=mine, data=bad)
        assert refused.value.field == field
        session.rollback()
    staff_access = reporting.CaseAccess(mine.report, mine.private_key)  # not a reporter session
    with pytest.raises(reporting.ReporterSessionExpired):
        retaliation.file_by_receipt(session, settings, access=staff_access, data=_complaint())
    session.rollback()
    assert session.exec(select(RetaliationComplaint)).all() == []


def test_without_protection_officers_no_complaint_is_accepted(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    result = file_report(session, settings, ready.channel.id)
    mine = reporter_of(session, settings, result.receipt)
    with pytest.raises(reporting.ReportingError) as refused:
        retaliation.file_by_receipt(session, settings, access=mine, data=_complaint())
    assert refused.value.status_code == 503
    session.rollback()
    assert session.exec(select(RetaliationComplaint)).all() == []


def _screen(session, settings, officer):
    return retaliation.screen(
        session,
        settings,
        officer=officer,
        holder_private=holder_private(session, officer),
        today=_today(settings),
    )


# Anything on a page that would tell someone the person is protected (English and Spanish).
# (Every employee's menu offers "Report retaliation": that word alone says nothing.)
PROTECTION_TRACES = (
    "protected",
    "hr watch",
    "watched",
    "/retaliation/watch",
    "/retaliation/rc-",
    "protegid",
    "vigilancia",
)


def _assert_no_trace_of_protection(client, email, paths, *, needles):
    """Sign in as `email`, load `paths` (English and Spanish) and assert that none of them
    shows a trace of the protection; return the paths that loaded."""
    client.cookies.clear()
    login(client, email)
    loaded = []
    for path in paths:
        for lang in ("en", "es"):
            page = client.get(path, params={"lang": lang})
            if page.status_code in (403, 404):
                continue  # not a page this person can reach
            assert page.status_code == 200, (path, page.status_code)
            text = page.text.lower()
            for needle in needles:
                assert needle.lower() not in text, (email, path, lang, needle)
            loaded.append(path)
    return set(loaded)


def test_an_adverse_appraisal_of_a_protected_person_alerts_the_officer_and_nobody_else(
    client, session, settings, make_user, scene, org
):
    ready, officer, result, employee_user = scene
    complaint = retaliation.file_identified(
        session,
        settings,
        user=employee_user,
        data=_complaint(report_reference=result.report.reference.lower()),
    )
    session.commit()
    assert session.exec(select(ProtectedPerson)).one()

    # Two real appraisals, completed through the appraisal service: officer a (protected) and
    # officer b (not) are both rated "does not meet expectations".
    hr = make_user("hr_planner")
    head = make_user(employee=org.head)
    hr_principal, supervisor = principal_for(session, hr), principal_for(session, head)
    people = appraisal_helpers.People(
        director=None,
        head=supervisor,
        a=principal_for(session, employee_user),
        b=principal_for(session, make_user(employee=org.officer_b)),
        outsider=None,
        hr=hr_principal,
        director_employee=None,
    )
    priority = appraisal_helpers.plan(session, hr_principal)
    cycle = appraisal_helpers.open_cycle(session, hr_principal)
    appraisals = {}
    for name in ("a", "b"):
        appraisal = appraisal_helpers.through_to_sign_off(
            session, cycle, people, org, priority, rating=1, employee=name
        )
        appraisal_service.sign(session, appraisal=appraisal, actor=supervisor)
        appraisal_service.sign(session, appraisal=appraisal, actor=getattr(people, name))
        session.commit()
        assert (appraisal.stage, appraisal.final_rating) == ("completed", 1)
        appraisals[name] = appraisal
    entries = session.exec(select(WatchEntry)).all()
    # One sealed, same-size entry per officer and decision: nothing tells them apart.
    assert [e.user_id for e in entries] == [officer.id, officer.id]
    assert len({len(e.sealed) for e in entries}) == 1

    alerts = _screen(session, settings, officer)
    session.commit()
    [alert] = alerts
    assert (alert.employee_id, alert.event) == (org.officer_a.id, "appraisal.does_not_meet")
    assert alert.payload["appraisal_id"] == appraisals["a"].id
    assert alert.employee == org.officer_a.full_name and alert.complaints == [complaint.reference]
    assert alert.since == result.report.submitted_on and alert.after_report
    assert session.exec(select(WatchEntry)).all() == []  # screened entries are gone

    # Nobody else can see that Mario Ruiz is protected: not in any table in clear, nor the log.
    needles = [org.officer_a.full_name, org.officer_a.number, f'"employee_id": {org.officer_a.id}']
    blobs = (
        b"".join(
            row.sealed
            for model in (ProtectedPerson, WatchBook)
            for row in session.exec(select(model)).all()
        )
        + session.get(WatchKey, 1).server_sealed
    )
    # (The organisation's own entries name the employee, as they always did.)
    [filed] = _appended(session, settings, "retaliation.complaint_filed", next_day=True)
    assert filed.actor == "complainant" and filed.actor_id is None  # not the employee's account
    log = json.dumps(
        [
            e.model_dump(mode="json")
            for e in session.exec(select(audit.AuditEntry))
            if e.action.startswith(("retaliation.", "report."))
        ]
    )
    assert "retaliation.protection_recorded" in log
    for needle in needles:
        assert needle.encode() not in blobs and needle not in log
    # Nor on any page the people around the decision can reach: the supervisor who rated them,
    # HR, and the investigator who holds the report.
    a_id, appraisal_id = org.officer_a.id, appraisals["a"].id
    traces = (*PROTECTION_TRACES, complaint.reference)
    hr_and_supervisor_pages = [
        "/",
        "/appraisals",
        "/appraisals/team",
        f"/appraisals/{appraisal_id}",
        f"/appraisals/cycles/{cycle.id}",
        "/appraisals/calibration",
        f"/org/employees/{a_id}",
        f"/training/people/{a_id}",
        "/training/team",
        "/notifications",
    ]
    seen = _assert_no_trace_of_protection(
        client, head.email, hr_and_supervisor_pages, needles=traces
    )
    assert {"/", f"/appraisals/{appraisal_id}", f"/training/people/{a_id}"} <= seen
    seen = _assert_no_trace_of_protection(client, hr.email, hr_and_supervisor_pages, needles=traces)
    assert {f"/appraisals/cycles/{cycle.id}", "/appraisals/calibration"} <= seen
    assert f"/org/employees/{a_id}" in seen
    reference = result.report.reference
    seen = _assert_no_trace_of_protection(
        client,
        ready.investigator.email,
        ["/", "/cases", f"/cases/{reference}", "/cases/deadlines", "/notifications"],
        needles=traces,
    )
    assert f"/cases/{reference}" in seen
    # The protection officer's own page does show it: the check above looks for what is there.
    client.cookies.clear()
    login(client, officer.email)
    watch = client.get("/retaliation/watch", params={"lang": "en"}).text.lower()
    assert org.officer_a.full_name.lower() in watch
    assert "hr watch" in watch and complaint.reference.lower() in watch
    # An officer made afterwards has no alert to read, and reading another's book fails.
    newcomer = add_holder(session, settings, make_user, "protection_officer")
    assert _screen(session, settings, newcomer) == []


def test_a_transfer_recorded_in_merito_alerts_about_a_protected_person(
    session, settings, make_user, scene, org
):
    ready, officer, result, employee_user = scene
    retaliation.file_identified(
        session,
        settings,
        user=employee_user,
        data=_complaint(report_reference=result.report.reference),
    )
    session.commit()
    person = org.officer_a
    org_service.update_employee(
        session,
        employee=person,
        data=EmployeeInput(
            number=person.number,
            first_name=person.first_name,
            last_name=person.last_name,
            email=person.email,
            unit_id=org.delegation.id,
            position_id=person.position_id,
            supervisor_id=person.supervisor_id,
            hire_date=person.hire_date,
            birth_date=person.birth_date,
        ),
        actor=None,
    )
    session.commit()
    [alert] = _screen(session, settings, officer)
    assert alert.event == "employee.moved"
    assert alert.payload["to_unit_id"] == org.delegation.id


def test_training_refused_with_a_reason_or_a_seat_taken_away_alerts_but_own_withdrawal_does_not(
    session, settings, make_user, scene, org
):
    ready, officer, result, employee_user = scene
    retaliation.file_identified(
        session,
        settings,
        user=employee_user,
        data=_complaint(report_reference=result.report.reference),
    )
    session.commit()
    supervisor = principal_for(session, make_user(employee=org.head))
    person = principal_for(session, employee_user)
    courses = {
        code: training_activity(session, code, {"legal": (0, 2)})
        for code in ("ocds", "ethics", "contracts")
    }
    for course in courses.values():
        training.add_item(session, employee=org.officer_a, activity=course, actor=person, year=2026)
    items = {
        session.get(TrainingActivity, i.activity_id).code: i
        for i in training.approve_plan(session, employee=org.officer_a, actor=supervisor, year=2026)
    }
    seat = training.enrol_employee(
        session,
        training_session_id=session_of(session, courses["ethics"]).id,
        employee=org.officer_a,
        actor=person,
    )
    # The supervisor refuses one training, giving a reason, and takes a seat away …
    training.decline_item(
        session, item=items["ocds"], actor=supervisor, reason="The budget is spent this year"
    )
    training.cancel(session, enrolment=seat, actor=supervisor, reason="")
    # … and the person gives up another of their own accord, without a reason.
    training.remove_item(session, item=items["contracts"], actor=person)
    session.commit()
    alerts = {a.event: a for a in _screen(session, settings, officer)}
    assert set(alerts) == {"training.request_refused", "training.enrolment_cancelled"}
    assert alerts["training.request_refused"].payload["has_reason"] is True
    assert alerts["training.request_refused"].payload["activity_code"] == "ocds"
    assert alerts["training.enrolment_cancelled"].payload["has_reason"] is False
    assert all(a.employee_id == org.officer_a.id and a.after_report for a in alerts.values())


def test_a_change_of_position_by_import_alerts_like_one_made_by_hand(
    session, settings, make_user, scene, org
):
    ready, officer, result, employee_user = scene
    retaliation.file_identified(
        session,
        settings,
        user=employee_user,
        data=_complaint(report_reference=result.report.reference),
    )
    session.commit()
    head_position = org.head.position_id
    person = org.officer_a
    raw = (
        "number,first_name,last_name,email,unit_code,position_code,supervisor_number,"
        "hire_date,birth_date,status,qualifications\n"
        f"{person.number},{person.first_name},{person.last_name},{person.email},DA,P-HEAD,"
        f"{org.head.number},2015-03-01,,active,\n"
    ).encode()
    check = roster.import_roster(session, raw, "plantilla.csv", actor="tester")
    assert check.imported, check.problems
    session.commit()
    [alert] = _screen(session, settings, officer)
    assert alert.event == "org.role_changed"
    assert alert.payload["to_position_id"] == head_position


def test_an_officer_who_investigates_the_report_gets_no_alert_about_its_reporter(
    session, settings, make_user, scene, org
):
    ready, officer, result, employee_user = scene
    both = add_holder(session, settings, make_user, "investigator", "protection_officer")
    access = reporting.open_case(
        session,
        user=ready.investigator,
        holder_private=holder_private(session, ready.investigator),
        reference=result.report.reference,
    )
    reporting.grant_access(session, access=access, actor=ready.investigator, grantee=both)
    retaliation.file_identified(
        session,
        settings,
        user=employee_user,
        data=_complaint(report_reference=result.report.reference),
    )
    session.commit()
    events.publish(
        session,
        events.DomainEvent(
            "vacancy.candidate_rejected", {"vacancy": 12}, subject_employee_id=org.officer_a.id
        ),
    )
    session.commit()
    assert len(_screen(session, settings, officer)) == 1
    assert _screen(session, settings, both) == []


def test_the_complaint_workflow_follows_its_order(session, settings, make_user, scene):
    ready, officer, result, _employee = scene
    today = _today(settings)
    mine = reporter_of(session, settings, result.receipt)
    complaint = retaliation.file_by_receipt(session, settings, access=mine, data=_complaint())
    session.commit()
    private = holder_private(session, officer)

    def access():
        return retaliation.open_complaint(
            session,
            officer=officer,
            holder_private=private,
            reference=complaint.reference,
            audit_read=False,
        )

    def refused(call, status=409):
        with pytest.raises(reporting.ReportingError) as err:
            call()
        session.rollback()
        assert err.value.status_code == status

    refused(
        lambda: retaliation.start_investigation(
            session, access=access(), officer=officer, today=today
        )
    )
    refused(
        lambda: retaliation.determine(
            session,
            settings,
            access=access(),
            officer=officer,
            established=True,
            reason="Clear retaliation",
            today=today,
        )
    )
    refused(
        lambda: retaliation.close(
            session,
            settings,
            access=access(),
            officer=officer,
            reason="Nothing to do here",
            today=today,
        )
    )
    assert retaliation.assess(
        session,
        settings,
        access=access(),
        officer=officer,
        protected_report=True,
        detriment=True,
        timing=True,
        reason="Report on day 0, rating drop on day 14.",
        today=today,
    )
    session.commit()
    refused(
        lambda: retaliation.assess(
            session,
            settings,
            access=access(),
            officer=officer,
            protected_report=True,
            detriment=True,
            timing=True,
            reason="again and again",
            today=today,
        )
    )
    retaliation.order_measure(
        session,
        settings,
        access=access(),
        officer=officer,
        kind="suspend_transfer",
        details="The transfer to Tijuana is suspended until the determination.",
        starts_on=today,
        ends_on=None,
        today=today,
    )
    session.commit()
    assert complaint.status == "interim_measures" and complaint.measures_on == today
    refused(
        lambda: retaliation.order_remedy(
            session,
            settings,
            access=access(),
            officer=officer,
            kind="reinstatement",
            details="Give the post back",
            today=today,
        )
    )
    retaliation.start_investigation(session, access=access(), officer=officer, today=today)
    retaliation.determine(
        session,
        settings,
        access=access(),
        officer=officer,
        established=True,
        reason="The employer could not justify the rating.",
        today=today,
    )
    session.commit()
    refused(
        lambda: retaliation.close(
            session,
            settings,
            access=access(),
            officer=officer,
            reason="Done with it now",
            today=today,
        )
    )
    retaliation.order_remedy(
        session,
        settings,
        access=access(),
        officer=officer,
        kind="annulment",
        details="The appraisal of March is annulled by HR.",
        today=today,
    )
    retaliation.order_remedy(
        session,
        settings,
        access=access(),
        officer=officer,
        kind="disciplinary_referral",
        details="The supervisor is referred to the internal control body.",
        today=today,
    )
    retaliation.close(
        session,
        settings,
        access=access(),
        officer=officer,
        reason="Remedies ordered and carried out.",
        today=today,
    )
    session.commit()
    assert (complaint.status, complaint.outcome) == ("closed", "established")
    assert complaint.monitoring_until == deadlines.add_months(today, retaliation.MONITORING_MONTHS)
    days = [
        complaint.received_on,
        complaint.assessment_on,
        complaint.measures_on,
        complaint.investigation_on,
        complaint.determination_on,
        complaint.remedies_on,
        complaint.closed_on,
    ]
    assert all(d == today for d in days)
    # The complainant reads the officers' messages but never their internal work.
    [found] = retaliation.complaints_of_reporter(session, access=mine)
    seen = {e.kind.value for e in retaliation.complaint_timeline(session, access=found)}
    assert seen == {"complaint"}
    statuses = [
        e.after["status"]
        for e in session.exec(
            select(audit.AuditEntry).where(audit.AuditEntry.action == "retaliation.status_changed")
        )
    ]
    assert statuses == [
        "assessment",
        "interim_measures",
        "investigation",
        "determination",
        "remedies",
        "closed",
    ]


def test_without_a_prima_facie_case_there_are_no_measures_and_the_complaint_closes(
    session, settings, make_user, scene
):
    ready, officer, result, _employee = scene
    today = _today(settings)
    mine = reporter_of(session, settings, result.receipt)
    complaint = retaliation.file_by_receipt(session, settings, access=mine, data=_complaint())
    session.commit()
    access = retaliation.open_complaint(
        session,
        officer=officer,
        holder_private=holder_private(session, officer),
        reference=complaint.reference,
        audit_read=False,
    )
    assert not retaliation.assess(
        session,
        settings,
        access=access,
        officer=officer,
        protected_report=True,
        detriment=True,
        timing=False,
        reason="The move was decided before the report.",
        today=today,
    )
    session.commit()
    with pytest.raises(reporting.ReportingError):
        retaliation.order_measure(
            session,
            settings,
            access=access,
            officer=officer,
            kind="suspend_transfer",
            details="Suspend it for a while",
            starts_on=today,
            ends_on=None,
            today=today,
        )
    session.rollback()
    with pytest.raises(reporting.ReportingError):
        retaliation.start_investigation(session, access=access, officer=officer, today=today)
    session.rollback()
    retaliation.close(
        session,
        settings,
        access=access,
        officer=officer,
        reason="No link with the report.",
        monitoring_months=6,
        today=today,
    )
    session.commit()
    assert complaint.outcome == "no_prima_facie_case"
    assert complaint.monitoring_until == deadlines.add_months(today, 6)


def test_the_burden_of_proof_pack_is_signed_and_lists_decisions_after_the_report(
    session, settings, make_user, scene, org
):
    ready, officer, result, employee_user = scene
    made_on = result.report.submitted_on
    complaint = retaliation.file_identified(
        session,
        settings,
        user=employee_user,
        data=_complaint(
            report_reference=result.report.reference,
            acts=[
                AllegedAct("negative_appraisal", made_on + timedelta(days=10), "Rated 1 of 4"),
                AllegedAct("ostracism", made_on - timedelta(days=30), "Before the report"),
            ],
            keep_early_acts=True,  # questioned once; the complainant keeps it
        ),
    )
    session.commit()
    events.publish(
        session,
        events.DomainEvent(
            "training.request_refused", {"course": "OCDS"}, subject_employee_id=org.officer_a.id
        ),
    )
    session.commit()
    pack = _pack(session, settings, officer, complaint)
    session.commit()
    assert pack["protected_report"] == {
        "reference": result.report.reference,
        "made_on": made_on.isoformat(),
    }
    assert pack["protected_person"]["number"] == org.officer_a.number
    kinds = [(d["kind"], d["source"]) for d in pack["adverse_decisions"]]
    assert ("negative_appraisal", "alleged by the complainant") in kinds
    assert ("exclusion_training", "recorded by Mérito") in kinds
    assert all(k != "ostracism" for k, _s in kinds)  # before the report: not listed
    raw = json.dumps(pack)
    fingerprint = reporting.signing_fingerprint(session, settings)
    assert retaliation.verify_pack(raw, expected_fingerprint=fingerprint).valid
    forged = dict(pack, protected_report={"reference": None, "made_on": "2001-01-01"})
    assert retaliation.verify_pack(json.dumps(forged)).problem == "signature does not match"
    assert not retaliation.verify_pack(json.dumps(result.certificate)).valid
    assert session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "retaliation.pack_generated")
    ).one()


def _pack(session, settings, officer, complaint) -> dict:
    """The burden-of-proof pack of `complaint`, as the protection officer generates it."""
    private = holder_private(session, officer)
    access = retaliation.open_complaint(
        session,
        officer=officer,
        holder_private=private,
        reference=complaint.reference,
        audit_read=False,
    )
    return retaliation.burden_of_proof_pack(
        session,
        settings,
        access=access,
        officer=officer,
        holder_private=private,
        today=_today(settings),
    )


def _move(session, employee, *, unit=None, position=None):
    """Change an employee's unit or position through the organisation service."""
    org_service.update_employee(
        session,
        employee=employee,
        data=EmployeeInput(
            number=employee.number,
            first_name=employee.first_name,
            last_name=employee.last_name,
            email=employee.email,
            unit_id=unit.id if unit else employee.unit_id,
            position_id=position.id if position else employee.position_id,
            supervisor_id=employee.supervisor_id,
            hire_date=employee.hire_date,
            birth_date=employee.birth_date,
        ),
        actor=None,
    )


def _complete_appraisal(session, org, make_user, *, person, rating: int):
    """Take officer a's appraisal through the appraisal service to a final `rating`."""
    hr = principal_for(session, make_user("hr_planner"))
    supervisor = principal_for(session, make_user(employee=org.head))
    people = appraisal_helpers.People(
        director=None,
        head=supervisor,
        a=person,
        b=None,
        outsider=None,
        hr=hr,
        director_employee=None,
    )
    priority = appraisal_helpers.plan(session, hr)
    cycle = appraisal_helpers.open_cycle(session, hr)
    appraisal = appraisal_helpers.through_to_sign_off(
        session, cycle, people, org, priority, rating=rating
    )
    appraisal_service.sign(session, appraisal=appraisal, actor=supervisor)
    appraisal_service.sign(session, appraisal=appraisal, actor=person)
    session.commit()
    assert appraisal.final_rating == rating and appraisal.stage == "completed"
    return appraisal, supervisor


def test_the_pack_lists_what_merito_recorded_since_the_report_even_before_anyone_watched(
    session, settings, make_user, scene, org
):
    ready, officer, result, employee_user = scene
    made_on = result.report.submitted_on
    person = principal_for(session, employee_user)
    # Between the report and the complaint, nobody watches officer a. Mérito records:
    # a "does not meet" appraisal, through the appraisal service …
    appraisal, supervisor = _complete_appraisal(session, org, make_user, person=person, rating=1)
    # … a training refused, with a reason …
    course = training_activity(session, "ocds", {"legal": (0, 2)})
    item = training.add_item(
        session, employee=org.officer_a, activity=course, actor=person, year=2026
    )
    training.approve_plan(session, employee=org.officer_a, actor=supervisor, year=2026)
    training.decline_item(session, item=item, actor=supervisor, reason="The budget is spent")
    # … being screened out of a competition …
    vacancy_hr = vacancy_helpers.staff_user(session, settings, "hr_planner")
    approver = vacancy_helpers.staff_user(session, settings, "hr_planner")
    vacancy_helpers.seed_bank(session, vacancy_hr)
    vacancy = vacancy_helpers.draft(session, settings, vacancy_hr, org.officer_position)
    vacancy_helpers.publish(session, settings, vacancy_hr, approver, vacancy)
    vacancy_helpers.apply(session, settings, vacancy, employee_user, eligible=False)
    # … and a transfer (and someone else's, which is not theirs to answer for).
    _move(session, org.officer_a, unit=org.delegation)
    _move(session, org.officer_b, unit=org.delegation)
    session.commit()
    complaint = retaliation.file_identified(
        session,
        settings,
        user=employee_user,
        data=_complaint(
            report_reference=result.report.reference,
            acts=[
                AllegedAct("negative_appraisal", made_on + timedelta(days=10), "Rated 1 of 5"),
                AllegedAct("ostracism", made_on - timedelta(days=30), "Before the report"),
            ],
            keep_early_acts=True,  # questioned once; the complainant keeps it
        ),
    )
    session.commit()
    # Once protected, a change of position is both an HR watch alert and a record: listed once.
    _move(session, org.officer_a, position=org.head_position)
    session.commit()
    pack = _pack(session, settings, officer, complaint)
    session.commit()
    recorded = {
        d["kind"]: d for d in pack["adverse_decisions"] if d["source"] == "recorded by Mérito"
    }
    assert len(recorded) == len(
        [d for d in pack["adverse_decisions"] if d["source"] == "recorded by Mérito"]
    )
    assert set(recorded) == {
        "negative_appraisal",
        "exclusion_training",
        "exclusion_competition",
        "transfer",
        "change_of_duties",
    }
    assert recorded["negative_appraisal"]["record"] == f"appraisal:{appraisal.id}"
    assert "final rating 1 of 5" in recorded["negative_appraisal"]["description"]
    assert "reason given: The budget is spent" in recorded["exclusion_training"]["description"]
    assert vacancy.reference in recorded["exclusion_competition"]["description"]
    assert "eligibility" in recorded["exclusion_competition"]["description"]
    assert "DEL-JAL" in recorded["transfer"]["description"]
    assert "P-HEAD" in recorded["change_of_duties"]["description"]
    assert all(made_on.isoformat() <= d["on"] for d in pack["adverse_decisions"])
    alleged = [d for d in pack["adverse_decisions"] if d["source"] == "alleged by the complainant"]
    assert [d["kind"] for d in alleged] == ["negative_appraisal"]  # the earlier act is left out
    assert pack["protected_report"]["made_on"] == made_on.isoformat()
    assert pack["records_searched"]["employee"] == org.officer_a.number
    fingerprint = reporting.signing_fingerprint(session, settings)
    assert retaliation.verify_pack(json.dumps(pack), expected_fingerprint=fingerprint).valid
    entry = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "retaliation.pack_generated")
    ).one()
    assert entry.after == {"decisions": 6, "recorded": 5}
    # Each domain answers only from the day asked: nothing recorded after a later moment.
    later = utcnow() + timedelta(minutes=1)
    employee_id = org.officer_a.id
    assert appraisal_service.adverse_ratings(session, employee_id=employee_id, since=later) == []
    assert vacancy_service.rejections_of(session, employee_id=employee_id, since=later) == []
    assert training.refusals_of(session, employee_id=employee_id, since=later) == []
    assert org_service.placement_changes(session, employee_id=employee_id, since=later) == []


def test_a_pack_for_an_unidentified_complainant_searches_no_records(
    session, settings, make_user, scene
):
    ready, officer, result, _employee = scene
    mine = reporter_of(session, settings, result.receipt)
    complaint = retaliation.file_by_receipt(session, settings, access=mine, data=_complaint())
    session.commit()
    pack = _pack(session, settings, officer, complaint)
    assert pack["protected_person"] is None and pack["records_searched"] is None


def test_the_watch_survives_a_change_of_the_application_secret(
    session, settings, make_user, scene, org
):
    ready, officer, result, employee_user = scene
    retaliation.file_identified(
        session,
        settings,
        user=employee_user,
        data=_complaint(report_reference=result.report.reference),
    )
    session.commit()
    changed = settings.model_copy(
        update={"secret_key": SecretStr("another-secret-key-0123456789-abcdefghijkl")}
    )
    changed._secret = None
    session.info["settings"] = changed
    session.info.pop("wb_watch_key", None)
    with pytest.raises(reporting.ReportingError) as refused:
        events.publish(
            session,
            events.DomainEvent("org.role_changed", {}, subject_employee_id=org.officer_a.id),
        )
    # The HR decision fails rather than losing a protected person's alert silently.
    assert refused.value.status_code == 503
    session.rollback()
    session.info.pop("wb_watch_key", None)
    assert retaliation.restore_watch_key(
        session, changed, officer=officer, holder_private=holder_private(session, officer)
    )
    session.commit()
    session.info.pop("wb_watch_key", None)
    events.publish(
        session, events.DomainEvent("org.role_changed", {}, subject_employee_id=org.officer_a.id)
    )
    session.commit()
    [alert] = _screen(session, changed, officer)
    assert alert.employee_id == org.officer_a.id


def test_ending_a_watch_stops_the_alerts(session, settings, make_user, scene, org):
    ready, officer, result, employee_user = scene
    retaliation.protect(
        session, settings, employee_id=org.officer_b.id, since=_today(settings), actor=officer
    )
    session.commit()
    assert retaliation.end_protection(
        session, settings, employee_id=org.officer_b.id, actor=officer
    )
    assert not retaliation.end_protection(
        session, settings, employee_id=org.officer_b.id, actor=officer
    )
    session.commit()
    events.publish(
        session, events.DomainEvent("org.role_changed", {}, subject_employee_id=org.officer_b.id)
    )
    session.commit()
    assert _screen(session, settings, officer) == []


def test_closed_complaints_are_deleted_after_monitoring_and_retention(
    session, settings, make_user, scene
):
    ready, officer, result, _employee = scene
    today = _today(settings)
    mine = reporter_of(session, settings, result.receipt)
    complaint = retaliation.file_by_receipt(
        session,
        settings,
        access=mine,
        data=_complaint(evidence=[reporting.Upload("memo.txt", b"moved to the night shift")]),
    )
    session.commit()
    access = retaliation.open_complaint(
        session,
        officer=officer,
        holder_private=holder_private(session, officer),
        reference=complaint.reference,
        audit_read=False,
    )
    retaliation.close(
        session,
        settings,
        access=access,
        officer=officer,
        withdrawn=True,
        reason="The complainant withdrew it.",
        monitoring_months=0,
        today=today,
    )
    session.commit()
    files = session.exec(select(ComplaintAttachment.uid)).all()
    later = deadlines.add_months(today, settings.complaint_retention_months)
    assert (
        retaliation.apply_retention(session, settings, today=later - timedelta(days=1)).deleted
        == []
    )
    run = retaliation.apply_retention(session, settings, today=later)
    session.commit()
    retaliation.remove_files(settings, run.files)
    assert run.deleted == [complaint.reference] and sorted(run.files) == sorted(files)
    assert session.exec(select(ComplaintItem)).all() == []
    assert session.exec(select(ComplaintKeyWrap)).all() == []
    assert not any((settings.attachments_dir / uid[:2] / uid).exists() for uid in files)
    assert audit.verify(session).ok


def test_the_officers_are_told_before_monitoring_ends(session, settings, make_user, scene):
    ready, officer, result, _employee = scene
    mine = reporter_of(session, settings, result.receipt)
    complaint = retaliation.file_by_receipt(session, settings, access=mine, data=_complaint())
    session.commit()
    access = retaliation.open_complaint(
        session,
        officer=officer,
        holder_private=holder_private(session, officer),
        reference=complaint.reference,
        audit_read=False,
    )
    retaliation.close(
        session,
        settings,
        access=access,
        officer=officer,
        withdrawn=True,
        reason="Withdrawn after mediation.",
        monitoring_months=0,
        today=_today(settings),
    )
    session.commit()
    assert wb_jobs.complaint_monitoring_job(session, settings) == "1 monitoring notices"
    session.commit()
    assert wb_jobs.complaint_monitoring_job(session, settings) == "0 monitoring notices"
    notices = session.exec(select(Notification).where(Notification.kind == "monitoring_ends")).all()
    assert [(n.user_id, n.complaint_id) for n in notices] == [(officer.id, complaint.id)]


def test_the_steps_an_officer_may_take_follow_where_the_complaint_stands(
    session, settings, make_user, scene
):
    _ready, officer, result, _employee = scene
    mine = reporter_of(session, settings, result.receipt)
    complaint = retaliation.file_by_receipt(session, settings, access=mine, data=_complaint())
    session.commit()
    key = holder_private(session, officer)

    def steps():
        access = retaliation.open_complaint(
            session,
            officer=officer,
            holder_private=key,
            reference=complaint.reference,
            audit_read=False,
        )
        return access, retaliation.allowed_steps(session, access, officer)

    access, received = steps()
    # A receipt complaint: its complainant reads messages, and is not known (not watched) yet.
    assert received.allowed == {
        Step.assess,
        Step.close,
        Step.protect,
        Step.message,
        Step.note,
        Step.pack,
    }
    assert received.prima_facie is None and not received.protected
    assert received.why_not(Step.investigate) == (
        "This step does not follow from where the complaint stands."
    )
    retaliation.assess(
        session,
        settings,
        access=access,
        officer=officer,
        protected_report=True,
        detriment=True,
        timing=False,
        reason="The move came a year before the report.",
        today=_today(settings),
    )
    session.commit()
    access, assessed = steps()
    assert assessed.prima_facie is False
    assert {Step.measure, Step.investigate, Step.assess} & assessed.allowed == set()
    assert assessed.why_not(Step.measure) == "Interim measures need a prima facie case."
    with pytest.raises(reporting.ReportingError) as refused:
        assessed.require(Step.investigate)
    assert refused.value.status_code == 409
    assert str(refused.value) == "There is no prima facie case: close the complaint instead."


def test_the_complaint_page_offers_only_the_allowed_steps_and_refuses_the_others(
    client, session, settings, make_user, scene, org
):
    _ready, officer, result, employee_user = scene
    complaint = retaliation.file_identified(
        session,
        settings,
        user=employee_user,
        data=_complaint(report_reference=result.report.reference),
    )
    session.commit()
    csrf = staff_login(client, officer.email)
    path = f"/retaliation/{complaint.reference}"
    page = client.get(path, params={"lang": "en"})
    assert page.status_code == 200
    # An identified complainant is watched at once and has no key to read messages here.
    assert f'action="{path}/assess"' in page.text and f'action="{path}/close"' in page.text
    for step in ("protect", "investigate", "measures", "determine", "remedies"):
        assert f'action="{path}/{step}"' not in page.text, step
    assert 'value="officer_message"' not in page.text
    items = len(session.exec(select(ComplaintItem)).all())
    refused = client.post(
        f"{path}/protect?lang=en", data={"employee": org.officer_b.number, "csrf_token": csrf}
    )
    assert refused.status_code == 409
    # The complaint's page again, saying why above the steps (the step has no form there).
    assert 'id="e-workflow"' in refused.text
    assert "The complainant is already under HR watch." in refused.text
    session.expire_all()
    assert len(session.exec(select(ComplaintItem)).all()) == items  # nothing was written
