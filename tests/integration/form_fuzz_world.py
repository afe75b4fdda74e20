"""A small organisation with one record of each kind an HTML form acts on, for the form fuzz.

Every record is built through the services (as the domain tests build theirs), so the path
parameters of the form routes (`{vacancy_id}`, `{reference}`, `{session_id}`…) name records
that exist and the fuzz reaches the forms' own checks instead of stopping at a 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from backend import clock
from backend.auth.models import User
from backend.auth.permissions import ROLE_PERMISSIONS, Role
from tests.conftest import TEST_PASSWORD

# The persona who uses a route holding each permission: the first in this order whose roles
# hold it (a supervisor is an employee with reports), unless OVERRIDES says otherwise.
PERSONA_ROLES: dict[str, tuple[Role, ...]] = {
    "employee": (Role.employee,),
    "supervisor": (Role.employee, Role.supervisor),
    "hr": (Role.hr_planner,),
    "panel": (Role.panel_member,),
    "investigator": (Role.investigator,),
    "officer": (Role.protection_officer,),
    "admin": (Role.admin,),
    "auditor": (Role.auditor,),
    "candidate": (Role.candidate,),
}
# Routes whose records belong to someone other than the first persona holding the permission.
OVERRIDES: dict[str, str] = {
    "/vacancies/": "candidate",
    "/applications/": "candidate",
    "/appraisals/team-objectives": "supervisor",
    "/appraisals/plan/unit-objectives": "supervisor",
    "/competencies/validation/": "supervisor",
    "/competencies/people/": "supervisor",
}
CANDIDATE_PASSWORD = TEST_PASSWORD + "-candidate"
# Path parameters → the table (and column) whose first row names an existing record.
PARAM_TABLES: dict[str, tuple[str, str]] = {
    "vacancy_id": ("vacancy", "id"),
    "application_id": ("vacancy_application", "id"),
    "member_id": ("panel_member", "id"),
    "appeal_id": ("vacancy_appeal", "id"),
    "appointment_id": ("vacancy_appointment", "id"),
    "question_id": ("interview_question", "id"),
    "appraisal_id": ("appraisal", "id"),
    "cycle_id": ("appraisal_cycle", "id"),
    "team_objective_id": ("team_objective", "id"),
    "profile_id": ("role_profile", "id"),
    "campaign_id": ("assessment_campaign", "id"),
    "session_id": ("training_session", "id"),
    "item_id": ("training_plan_item", "id"),
    "enrolment_id": ("training_enrolment", "id"),
    "assignment_id": ("training_mentor_assignment", "id"),
    "reminder_id": ("case_reminder", "id"),
    "absence_id": ("investigator_absence", "id"),
    "channel_id": ("report_channel", "id"),
    "request_id": ("identity_request", "id"),
    "unit_id": ("unit", "id"),
    "position_id": ("position", "id"),
    "code": ("training_activity", "code"),
}


def persona_for(path: str, declared: Any) -> str:
    """Return the persona who may use a route declaring `declared` ("public", "reporter"…)."""
    if declared in ("public", "reporter"):
        return declared
    for prefix, name in OVERRIDES.items():
        if path.startswith(prefix):
            return name
    for name, roles in PERSONA_ROLES.items():
        if any(declared in ROLE_PERMISSIONS[role] for role in roles):
            return name
    raise AssertionError(f"no persona holds {declared}")


@dataclass
class World:
    users: dict[str, User]
    receipt: str
    passwords: dict[str, str] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)
    complaint: str = ""

    def sample(self, path: str, name: str) -> str:
        """Return an existing record's key for path parameter `name` of `path`."""
        if name == "reference" and path.startswith(("/retaliation", "/report/case/retaliation")):
            return self.complaint
        return self.samples.get(name, "1")


def _first(session: Session, table: str, column: str, offset: int = 0) -> str | None:
    value = session.execute(
        text(f"SELECT {column} FROM {table} ORDER BY id LIMIT 1 OFFSET {offset}")  # noqa: S608
    ).scalar()
    return None if value is None else str(value)


def build_world(session: Session, settings, org, make_user) -> World:
    """Create one record of each kind the forms act on; return who uses them and their keys."""
    from assessments.vacancies import service as vacancies
    from competency_framework.training import service
    from tests.appraisals import helpers as appraisal_helpers
    from tests.competency.helpers import principal_for
    from tests.reporting_helpers import (
        add_holder,
        file_report,
        open_as,
        ready_channel,
        reporter_of,
    )
    from tests.training import helpers as training_helpers
    from tests.vacancies import helpers as vacancy_helpers
    from whistleblowing import service as cases
    from whistleblowing import service as reporting
    from whistleblowing.service import retaliation
    from whistleblowing.service.retaliation import AllegedAct, ComplaintInput

    users = {
        "employee": make_user(Role.employee, employee=org.officer_a),
        "supervisor": make_user(Role.employee, employee=org.head),
        "hr": make_user(Role.hr_planner),
        "admin": make_user(Role.admin),
        "auditor": make_user(Role.auditor),
        # An account the administrator's forms act on (never one of the personas).
        "target": make_user(Role.employee, employee=org.officer_b),
    }
    hr = users["hr"]
    approver = make_user(Role.hr_planner)
    # Vacancies: a published competition with a seated panel and one candidate's application.
    vacancy_helpers.seed_bank(session, hr)
    vacancy = vacancy_helpers.draft(session, settings, hr, org.officer_position)
    vacancy_helpers.publish(session, settings, hr, approver, vacancy)
    users["panel"] = make_user(Role.panel_member)
    vacancies.appoint_panel_member(session, vacancy=vacancy, user=users["panel"], actor=hr)
    vacancy_helpers.add_interview_questions(session, hr, vacancy)
    # An external candidate with a confirmed address (registration is fuzzed through its form).
    registration = vacancies.register(
        session,
        settings,
        email="rosa.paredes@mail.example",
        first_name="Rosa",
        last_names="Paredes Luna",
        password=CANDIDATE_PASSWORD,
        locale="en",
    )
    session.commit()
    vacancies.verify(session, token=registration.token)
    session.commit()
    users["candidate"] = registration.user
    vacancy_helpers.apply(session, settings, vacancy, users["candidate"])
    vacancies.create_vacancy(session, settings, position=org.head_position, actor=hr)
    # Appraisals: this year's plan and an open cycle (one appraisal per employee).
    hr_principal = principal_for(session, hr)
    appraisal_helpers.plan(session, hr_principal)
    appraisal_helpers.open_cycle(session, hr_principal, trained=False)
    # Training: an activity with a session, an enrolment and a plan item.
    activity = training_helpers.activity(session, "FUZZ-1", {"legal": (1, 3)}, capacity=20)
    course = training_helpers.session_of(session, activity, days_from_now=10)
    service.enrol_employee(
        session, training_session_id=course.id, employee=org.officer_a, actor=None
    )
    session.commit()
    # Reporting channel: a case given to the investigator, with a reminder, an absence and an
    # identity request; a complaint of retaliation by the reporter.
    ready = ready_channel(session, settings, make_user)
    users["investigator"] = ready.investigator
    users["officer"] = add_holder(session, settings, make_user, Role.protection_officer)
    filed = file_report(session, settings, ready.channel.id, identity="Nombre Secreto Perez")
    file_report(session, settings, ready.channel.id, what="A second, related matter")
    access = open_as(session, ready.investigator, filed.report.reference)
    reporting.request_identity(
        session, access=access, actor=ready.investigator, reason="To interview the witness."
    )
    today = clock.today(settings)
    cases.add_reminder(
        session,
        access=access,
        actor=ready.investigator,
        remind_on=today + timedelta(days=3),
        note="Call the warehouse",
        today=today,
    )
    cases.record_absence(
        session,
        user=ready.investigator,
        holder_private=None,
        starts_on=today + timedelta(days=30),
        ends_on=today + timedelta(days=40),
        hand_over_cases=False,
        today=today,
    )
    session.commit()
    complaint = retaliation.file_by_receipt(
        session,
        settings,
        access=reporter_of(session, settings, filed.receipt),
        data=ComplaintInput(
            acts=[AllegedAct("transfer", today, "Moved to the night shift")],
            narrative="The week after my report I was moved.",
        ),
    )
    session.commit()

    world = World(users=users, receipt=filed.receipt, complaint=complaint.reference)
    world.passwords["candidate"] = CANDIDATE_PASSWORD
    for name, (table, column) in PARAM_TABLES.items():
        value = _first(session, table, column)
        if value is not None:
            world.samples[name] = value
    world.samples.update(
        reference=filed.report.reference,
        other=_first(session, "report", "reference", offset=1) or "",
        employee_id=str(org.officer_a.id),
        user_id=str(users["target"].id),
        stage="sift",
        token="not-a-token",
    )
    return world
