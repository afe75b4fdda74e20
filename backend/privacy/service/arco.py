"""ARCO requests: a person asks to access, rectify, cancel or oppose; HR answers within 20
working days (LGPDPPSO art. 51), with a decision and its reason, and a granted rectification or
cancellation is carried out through the normal services in the same transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlmodel import Session, col, select

from backend import audit, clock, workdays
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.i18n import _
from backend.org import service as org
from backend.org.models import Employee
from backend.org.schemas import EmployeeInput
from backend.privacy.models import ArcoDecision, ArcoKind, ArcoRequest, ArcoStatus
from backend.privacy.schemas import ArcoAnswerInput, ArcoInput
from backend.privacy.service.common import PrivacyError

# LGPDPPSO art. 51: the answer within twenty working days of the day after the request.
DEADLINE_WORKING_DAYS = 20
SUBJECT_MAX = 200
DETAILS_MAX = 4000
ANSWER_MAX = 4000
NAME_MAX = 100


def deadline_for(filed_on: date) -> date:
    """The last day to answer a request filed on `filed_on`: its 20th working day after."""
    return workdays.add_working_days(filed_on, DEADLINE_WORKING_DAYS)


def working_days_left(request: ArcoRequest, today: date) -> int:
    """Working days from `today` to the deadline: 0 on the last day, negative when overdue."""
    if today <= request.due_on:
        return workdays.working_days_between(today, request.due_on)
    return -workdays.working_days_between(request.due_on, today)


def file_request(session: Session, settings, *, user: User, data: ArcoInput) -> ArcoRequest:
    """File a person's ARCO request; its deadline is counted in working days (audited)."""
    problems: dict[str, str] = {}
    if data.kind not in {k.value for k in ArcoKind}:
        problems["kind"] = _("Choose the right you are exercising.")
    if not data.subject:
        problems["subject"] = _("Say which data the request is about.")
    elif len(data.subject) > SUBJECT_MAX:
        problems["subject"] = _("At most %(max)s characters.", max=SUBJECT_MAX)
    if len(data.details) > DETAILS_MAX:
        problems["details"] = _("At most %(max)s characters.", max=DETAILS_MAX)
    if problems:
        raise PrivacyError(next(iter(problems.values())), errors=problems)
    today = clock.today(settings)
    request = ArcoRequest(
        user_id=user.id,
        kind=data.kind,
        subject=data.subject,
        details=data.details,
        filed_at=clock.now(),
        filed_on=today,
        due_on=deadline_for(today),
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        action="privacy.arco_filed",
        actor=user,
        entity_type="arco_request",
        entity_id=request.id,
        after={"kind": request.kind, "due_on": request.due_on},
    )
    return request


def requests_of(session: Session, user: User) -> list[ArcoRequest]:
    """A person's own requests, newest first."""
    return list(
        session.exec(
            select(ArcoRequest)
            .where(ArcoRequest.user_id == user.id)
            .order_by(col(ArcoRequest.filed_at).desc())
        ).all()
    )


def own_request(session: Session, user: User, request_id: int) -> ArcoRequest:
    """One of the person's own requests; another person's is as missing as one that is not."""
    request = session.get(ArcoRequest, request_id)
    if request is None or request.user_id != user.id:
        raise PrivacyError(_("There is no such request."), status_code=404)
    return request


def get_request(session: Session, request_id: int) -> ArcoRequest:
    request = session.get(ArcoRequest, request_id)
    if request is None:
        raise PrivacyError(_("There is no such request."), status_code=404)
    return request


def queue(session: Session, *, status: str = ArcoStatus.pending) -> list[tuple[ArcoRequest, User]]:
    """The requests of one status with their requesters; pending ones by deadline."""
    statement = select(ArcoRequest, User).join(User, col(User.id) == ArcoRequest.user_id)
    if status:
        statement = statement.where(ArcoRequest.status == status)
    order = (
        col(ArcoRequest.due_on).asc()
        if status == ArcoStatus.pending
        else col(ArcoRequest.filed_at).desc()
    )
    return [(r, u) for r, u in session.exec(statement.order_by(order, col(ArcoRequest.id))).all()]


def pending_count(session: Session) -> int:
    return len(queue(session))


def allowed_steps(request: ArcoRequest, actor) -> set[str]:
    """What `actor` may do with the request: HR answers a pending one, once."""
    steps: set[str] = set()
    if request.status == ArcoStatus.pending and actor.can(Permission.answer_privacy_requests):
        steps.add("answer")
    return steps


def _answer_problems(request: ArcoRequest, data: ArcoAnswerInput) -> dict[str, str]:
    problems: dict[str, str] = {}
    if data.decision not in {d.value for d in ArcoDecision}:
        problems["decision"] = _("Choose the decision.")
    if not data.answer:
        problems["answer"] = _("Give the reason for the decision.")
    elif len(data.answer) > ANSWER_MAX:
        problems["answer"] = _("At most %(max)s characters.", max=ANSWER_MAX)
    for name in ("first_name", "last_name"):
        if len(getattr(data, name)) > NAME_MAX:
            problems[name] = _("At most %(max)s characters.", max=NAME_MAX)
        elif getattr(data, name) and request.kind != ArcoKind.rectification:
            problems[name] = _("Only a rectification changes the name.")
    if data.close_account and request.kind != ArcoKind.cancellation:
        problems["close_account"] = _("Only a cancellation closes the account.")
    refused = data.decision == ArcoDecision.refused
    if refused and (data.first_name or data.last_name or data.close_account):
        problems["decision"] = _("A refused request changes nothing.")
    return problems


def _rectify_name(session: Session, user: User, data: ArcoAnswerInput, actor) -> str:
    """Correct the person's name on their account and, for staff, their employee record."""
    employee = session.get(Employee, user.employee_id) if user.employee_id else None
    if employee is not None:
        data_in = replace(
            _employee_input(session, employee),
            first_name=data.first_name or employee.first_name,
            last_name=data.last_name or employee.last_name,
        )
        org.update_employee(session, employee=employee, data=data_in, actor=actor)
        full_name = f"{data_in.first_name} {data_in.last_name}".strip()
    else:
        parts = user.full_name.split(" ", 1)
        first = data.first_name or parts[0]
        last = data.last_name or (parts[1] if len(parts) > 1 else "")
        full_name = f"{first} {last}".strip()
    before = user.full_name
    user.full_name = full_name
    session.add(user)
    audit.record(
        session,
        action="user.name_rectified",
        actor=actor,
        entity_type="user",
        entity_id=user.id,
        before={"full_name": before},
        after={"full_name": full_name},
    )
    return _("The name was corrected to %(name)s.", name=full_name)


def _employee_input(session: Session, employee: Employee):
    """The employee's record as it is, as the org service's input (to change one field)."""
    return EmployeeInput(
        number=employee.number,
        first_name=employee.first_name,
        last_name=employee.last_name,
        email=employee.email,
        unit_id=employee.unit_id,
        hire_date=employee.hire_date,
        position_id=employee.position_id,
        supervisor_id=employee.supervisor_id,
        birth_date=employee.birth_date,
        status=employee.status,
        qualification_codes=tuple(org.qualification_codes_of(session, [employee.id])[employee.id]),
    )


def answer_request(
    session: Session, settings, *, request: ArcoRequest, data: ArcoAnswerInput, actor
) -> ArcoRequest:
    """Answer a pending request with a decision and its reason (audited); a granted or partly
    granted rectification or cancellation acts through the services it concerns."""
    if "answer" not in allowed_steps(request, actor):
        raise PrivacyError(_("This request has already been answered."), status_code=409)
    problems = _answer_problems(request, data)
    if problems:
        raise PrivacyError(next(iter(problems.values())), errors=problems)
    person = session.get(User, request.user_id)
    applied: list[str] = []
    if data.first_name or data.last_name:
        applied.append(_rectify_name(session, person, data, actor.user))
    if data.close_account:
        auth_service.set_active(session, user=person, active=False, actor=actor.user)
        applied.append(_("The account was closed."))
    today = clock.today(settings)
    request.status = ArcoStatus.answered
    request.decision = data.decision
    request.answer = data.answer
    request.applied = " ".join(applied)[:400]
    request.answered_at = clock.now()
    request.answered_by_id = actor.user.id
    session.add(request)
    audit.record(
        session,
        action="privacy.arco_answered",
        actor=actor.user,
        entity_type="arco_request",
        entity_id=request.id,
        before={"status": ArcoStatus.pending},
        after={
            "status": request.status,
            "decision": request.decision,
            "on_time": today <= request.due_on,
        },
    )
    return request
