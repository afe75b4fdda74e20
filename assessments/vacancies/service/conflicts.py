"""Conflict-of-interest declarations: likely conflicts flagged from HR data, each member's
declarations against every applicant, and who may not score whom.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User
from backend.i18n import N_, _
from backend.org.models import Employee

from ..models import (
    Application,
    ApplicationStatus,
    ConflictDeclaration,
    PanelMember,
    Vacancy,
    VacancyStatus,
)
from .base import VacancyError, now_or
from .panel import require_member

CONFLICT_FLAG_LABELS = {
    "supervisor": N_("Supervises the candidate, or is supervised by them"),
    "same_unit": N_("Works in the same unit as the candidate"),
    "shared_surname": N_("Shares a surname with the candidate"),
}
# Relations a member may declare that are not conflicts (they still score).
DECLARED_RELATION_LABELS = {
    "former_colleague": N_("A former colleague"),
    "acquaintance": N_("An acquaintance"),
    "other": N_("Another relation"),
}
_PARTICLES = {"de", "del", "la", "las", "los", "y", "da", "dos", "van", "von", "der", "san"}


def _surnames(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    words = plain.replace("-", " ").split()
    return {w for w in words if len(w) > 2 and w not in _PARTICLES}


def member_surnames(session: Session, seat: PanelMember) -> set[str]:
    """Return a panel member's surnames: from HR data, else from the account's name."""
    if seat.employee_id is not None:
        employee = session.get(Employee, seat.employee_id)
        if employee is not None:
            return _surnames(employee.last_name)
    user = session.get(User, seat.user_id)
    return _surnames(" ".join((user.full_name if user else "").split()[1:]))


def likely_conflicts(session: Session, seat: PanelMember, application: Application) -> list[str]:
    """Return the conflicts HR data suggests between a panel member and an applicant."""
    flags = []
    if application.is_internal and seat.employee_id is not None:
        member = session.get(Employee, seat.employee_id)
        if application.supervisor_employee_id == seat.employee_id or (
            member is not None
            and member.supervisor_id is not None
            and member.supervisor_id == application.employee_id
        ):
            flags.append("supervisor")
        if application.unit_id is not None and application.unit_id == seat.unit_id:
            flags.append("same_unit")
    if member_surnames(session, seat) & _surnames(application.candidate_surnames):
        flags.append("shared_surname")
    return flags


def applicants(session: Session, vacancy: Vacancy) -> list[Application]:
    """Return everyone who applied and has not withdrawn (whom the panel must declare about)."""
    return list(
        session.exec(
            select(Application)
            .where(
                Application.vacancy_id == vacancy.id,
                Application.status != ApplicationStatus.withdrawn,
            )
            .order_by(col(Application.candidate_name), col(Application.id))
        )
    )


def declarations_of(
    session: Session, vacancy: Vacancy, user: User
) -> dict[int, ConflictDeclaration]:
    return {
        d.application_id: d
        for d in session.exec(
            select(ConflictDeclaration).where(
                ConflictDeclaration.vacancy_id == vacancy.id,
                ConflictDeclaration.member_user_id == user.id,
            )
        )
    }


@dataclass
class DeclarationLine:
    application: Application
    flags: list[str]
    declaration: ConflictDeclaration | None


def declaration_sheet(session: Session, *, vacancy: Vacancy, user: User) -> list[DeclarationLine]:
    """Return every applicant with HR-data flags and the member's declaration (if made)."""
    seat = require_member(session, vacancy, user)
    made = declarations_of(session, vacancy, user)
    return [
        DeclarationLine(a, likely_conflicts(session, seat, a), made.get(a.id))
        for a in applicants(session, vacancy)
    ]


def pending_declarations(session: Session, vacancy: Vacancy, user: User) -> int:
    """Return how many applicants the member has not yet declared about."""
    made = declarations_of(session, vacancy, user)
    return sum(1 for a in applicants(session, vacancy) if a.id not in made)


def require_declared(session: Session, vacancy: Vacancy, user: User) -> None:
    if pending_declarations(session, vacancy, user):
        raise VacancyError(
            _(
                "Declare your conflicts of interest against every applicant before you see or "
                "score any application."
            ),
            status_code=409,
        )


def declare(
    session: Session,
    *,
    vacancy: Vacancy,
    user: User,
    decisions: dict[int, tuple[bool, str]],
    relations: dict[int, str] | None = None,
    now: datetime | None = None,
) -> list[ConflictDeclaration]:
    """Record the member's declarations: every applicant not yet declared about must be covered.

    A declaration of "no conflict" where HR data suggests one needs an explanation. A conflict,
    once declared, stands. `relations` names a relation that is not a conflict (a former
    colleague, an acquaintance): the member still scores, and the integrity flags check those
    scores for favouritism.
    """
    seat = require_member(session, vacancy, user)
    if vacancy.status in (VacancyStatus.results, VacancyStatus.appointed, VacancyStatus.cancelled):
        raise VacancyError(_("This competition has finished."), status_code=409)
    made = declarations_of(session, vacancy, user)
    errors: dict[str, str] = {}
    written = []
    moment = now_or(now)
    pending = []
    for application in applicants(session, vacancy):
        previous = made.get(application.id)
        decision = decisions.get(application.id)
        if decision is None:
            if previous is None:
                errors[f"conflict_{application.id}"] = _(
                    "Declare whether you have a conflict of interest with this applicant."
                )
            continue
        conflicted, note = decision[0], (decision[1] or "").strip()[:2000]
        if previous is not None:
            if previous.conflicted and not conflicted:
                errors[f"conflict_{application.id}"] = _(
                    "A declared conflict of interest cannot be withdrawn."
                )
            continue
        flags = likely_conflicts(session, seat, application)
        if flags and not conflicted and len(note) < 5:
            errors[f"note_{application.id}"] = _(
                "HR records suggest a conflict here: explain why there is none."
            )
            continue
        pending.append((application, conflicted, note, flags))
    if errors:
        raise VacancyError(
            _("Some declarations are missing or need an explanation."),
            errors=errors,
            field=next(iter(errors)),
        )
    # Newly discovered conflicts about applicants already declared "no conflict".
    for application_id, (conflicted, note) in decisions.items():
        previous = made.get(application_id)
        if previous is not None and conflicted and not previous.conflicted:
            previous.conflicted = True
            previous.note = (note or previous.note).strip()[:2000]
            previous.declared_at = moment
            session.add(previous)
            written.append(previous)
            audit.record(
                session,
                action="vacancy.conflict_declared",
                actor=user,
                entity_type="vacancy_application",
                entity_id=application_id,
                before={"conflicted": False},
                after={"conflicted": True, "note": previous.note},
            )
    for application, conflicted, note, flags in pending:
        row = ConflictDeclaration(
            vacancy_id=vacancy.id,
            application_id=application.id,
            member_user_id=user.id,
            conflicted=conflicted,
            note=note,
            flags=flags,
            relation="" if conflicted else (relations or {}).get(application.id, ""),
            declared_at=moment,
        )
        session.add(row)
        written.append(row)
        audit.record(
            session,
            action="vacancy.conflict_declared",
            actor=user,
            entity_type="vacancy_application",
            entity_id=application.id,
            after={
                "conflicted": conflicted,
                "note": note,
                "flags": flags,
                "member": seat.user_id,
                "relation": row.relation,
            },
        )
    session.flush()
    return written


def conflicted_pairs(session: Session, vacancy: Vacancy) -> set[tuple[int, int]]:
    """Return {(member user id, application id)} of declared conflicts."""
    return {
        (d.member_user_id, d.application_id)
        for d in session.exec(
            select(ConflictDeclaration).where(
                ConflictDeclaration.vacancy_id == vacancy.id,
                col(ConflictDeclaration.conflicted).is_(True),
            )
        )
    }


def is_conflicted(session: Session, vacancy: Vacancy, user: User, application: Application) -> bool:
    return (user.id, application.id) in conflicted_pairs(session, vacancy)
