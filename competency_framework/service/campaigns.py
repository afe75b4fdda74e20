"""Assessment campaigns: who must self-assess by when, live progress per unit, reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import and_, bindparam, case, func, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import audit, clock
from backend.auth.models import User
from backend.i18n import N_, _
from backend.org.models import Employee, EmployeeStatus, Position, Unit
from competency_framework import notices as campaign_notices
from competency_framework.models import (
    AssessmentCampaign,
    CampaignParticipant,
    CampaignReminder,
    RatingEntry,
    RatingSource,
)
from competency_framework.service.frames import load_org_frames
from competency_framework.service.framework import (
    CompetencyError,
    list_competencies,
    organisation_today,
)
from competency_framework.service.reports import _subtree

STATES = ("not_started", "in_progress", "awaiting_validation", "validated")
STATE_LABELS = {
    "not_started": N_("Not started"),
    "in_progress": N_("Self-assessment in progress"),
    "awaiting_validation": N_("Awaiting validation"),
    "validated": N_("Validated"),
}
REMINDER_LABELS = {
    "self_assessment": N_("Complete the self-assessment"),
    "validation": N_("Validate your team's self-assessments"),
}


def list_campaigns(session: Session) -> list[AssessmentCampaign]:
    """Return campaigns, open ones first, newest first."""
    rows = session.exec(select(AssessmentCampaign)).all()
    return sorted(rows, key=lambda c: (c.closed_at is not None, -c.opened_at.timestamp()))


def create_campaign(
    session: Session,
    *,
    name: str,
    deadline: date | str | None,
    unit_ids: list[int],
    role_codes: list[str],
    include_subunits: bool,
    actor: User,
    today: date | None = None,
) -> AssessmentCampaign:
    """Open a campaign for people in the chosen units (and roles); returns it (audited).

    No units chosen means the whole organisation; no roles chosen means every role. The list of
    participants is fixed now, with the unit each person is in.
    """
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name or len(name) > 200:
        errors["name"] = _("Enter a name of at most 200 characters.")
    today = today or organisation_today(session)
    if isinstance(deadline, str):
        try:
            deadline = date.fromisoformat(deadline.strip())
        except ValueError:
            deadline = None
    if deadline is None:
        errors["deadline"] = _("Enter the deadline as a date.")
    elif deadline < today:
        errors["deadline"] = _("The deadline cannot be in the past.")
    org = load_org_frames(session)
    known_units = set(org.units["unit_id"].astype(int))
    unknown = [u for u in unit_ids if u not in known_units]
    if unknown:
        errors["units"] = _("Unknown unit.")
    known_roles = set(org.positions["role_code"]) - {""}
    bad_roles = [r for r in role_codes if r not in known_roles]
    if bad_roles:
        errors["roles"] = _("Unknown role: %(codes)s.", codes=", ".join(bad_roles))
    if errors:
        raise CompetencyError(
            _("The campaign could not be opened."), errors=errors, field=next(iter(errors))
        )
    scope_units: set[int] | None = None
    if unit_ids:
        scope_units = set()
        for unit_id in unit_ids:
            scope_units |= set(_subtree(org.units, unit_id)) if include_subunits else {unit_id}
    statement = (
        select(Employee.id, Employee.unit_id)
        .join(Position, col(Employee.position_id) == Position.id, isouter=True)
        .where(Employee.status != EmployeeStatus.left)
    )
    if scope_units is not None:
        statement = statement.where(col(Employee.unit_id).in_(sorted(scope_units)))
    if role_codes:
        statement = statement.where(col(Position.role_code).in_(role_codes))
    people = session.exec(statement).all()
    if not people:
        raise CompetencyError(
            _("Nobody works in the chosen units and roles."), field="units", status_code=422
        )
    codes = dict(zip(org.units["unit_id"].astype(int), org.units["code"], strict=True))
    campaign = AssessmentCampaign(
        name=name,
        deadline=deadline,
        created_by_id=actor.id,
        scope={
            "units": [codes[u] for u in unit_ids],
            "roles": list(role_codes),
            "subunits": include_subunits,
        },
    )
    session.add(campaign)
    session.flush()
    session.execute(
        insert(CampaignParticipant.__table__),
        [{"campaign_id": campaign.id, "employee_id": e, "unit_id": u} for e, u in people],
    )
    audit.record(
        session,
        action="campaign.opened",
        actor=actor,
        entity_type="assessment_campaign",
        entity_id=campaign.id,
        after={
            "name": name,
            "deadline": deadline,
            "scope": campaign.scope,
            "participants": len(people),
        },
    )
    campaign_notices.tell_employees(
        session,
        (e for e, _u in people),
        kind=campaign_notices.CAMPAIGN_OPEN,
        key=f"campaign:{campaign.id}:open",
        params={"campaign": name, "date": deadline},
        link="/competencies/me/assessment",
    )
    return campaign


def participant_states(session: Session, campaign: AssessmentCampaign) -> pd.DataFrame:
    """Return employee_id, unit_id, supervisor_id, self_n, validated_n, state per participant.

    Counts look at entries recorded since the campaign opened: competencies self-rated, and
    self-ratings validated by a supervisor or HR.
    """
    participant = CampaignParticipant.__table__
    entry = RatingEntry.__table__
    employee = Employee.__table__
    self_n = func.count(
        func.distinct(case((entry.c.source == RatingSource.self, entry.c.competency_id)))
    )
    validated_n = func.count(
        func.distinct(case((entry.c.review_of_id.is_not(None), entry.c.competency_id)))
    )
    statement = (
        sa_select(
            participant.c.employee_id,
            participant.c.unit_id,
            employee.c.supervisor_id,
            self_n,
            validated_n,
        )
        .select_from(
            participant.join(employee, employee.c.id == participant.c.employee_id).outerjoin(
                entry,
                and_(
                    entry.c.employee_id == participant.c.employee_id,
                    entry.c.recorded_at >= campaign.opened_at,
                ),
            )
        )
        .where(participant.c.campaign_id == campaign.id)
        .group_by(participant.c.employee_id, participant.c.unit_id, employee.c.supervisor_id)
    )
    frame = pd.DataFrame(
        session.connection().execute(statement).all(),
        columns=["employee_id", "unit_id", "supervisor_id", "self_n", "validated_n"],
    )
    total = len(list_competencies(session))
    frame["state"] = "awaiting_validation"
    frame.loc[frame["self_n"] < total, "state"] = "in_progress"
    frame.loc[frame["self_n"] == 0, "state"] = "not_started"
    frame.loc[(frame["self_n"] >= total) & (frame["validated_n"] >= total), "state"] = "validated"
    return frame


@dataclass
class UnitProgress:
    unit_id: int | None
    unit: str
    people: int
    not_started: int
    in_progress: int
    awaiting_validation: int
    validated: int

    @property
    def self_done(self) -> int:
        """People whose self-assessment is complete (awaiting validation or validated)."""
        return self.awaiting_validation + self.validated

    @property
    def validated_share(self) -> float | None:
        return self.validated / self.people if self.people else None


def progress(
    session: Session, campaign: AssessmentCampaign
) -> tuple[list[UnitProgress], UnitProgress]:
    """Return live counters per unit and for the whole campaign."""
    states = participant_states(session, campaign)
    names = dict(session.exec(select(Unit.id, Unit.name)).all())
    rows = []
    for unit_id, group in states.groupby("unit_id"):
        counts = group["state"].value_counts()
        rows.append(
            UnitProgress(
                unit_id=int(unit_id),
                unit=names.get(int(unit_id), str(unit_id)),
                people=len(group),
                **{s: int(counts.get(s, 0)) for s in STATES},
            )
        )
    rows.sort(key=lambda r: r.unit.lower())
    counts = states["state"].value_counts()
    total = UnitProgress(
        unit_id=None,
        unit=_("All units"),
        people=len(states),
        **{s: int(counts.get(s, 0)) for s in STATES},
    )
    return rows, total


def remind(
    session: Session, *, campaign: AssessmentCampaign, actor: User, unit_id: int | None = None
) -> tuple[int, int]:
    """Record reminders for everyone still owing something; return (people, supervisors).

    People who have not finished their self-assessment are reminded to do it; supervisors with
    self-assessments awaiting their validation are reminded once each, with how many wait.
    """
    if campaign.closed_at is not None:
        raise CompetencyError(_("This campaign is closed."), status_code=409)
    states = participant_states(session, campaign)
    if unit_id is not None:
        states = states[states["unit_id"] == unit_id]
    total = len(list_competencies(session))
    now = clock.now()
    reminders = []
    owing_self = states[states["state"].isin(["not_started", "in_progress"])]
    for row in owing_self.itertuples():
        reminders.append(
            CampaignReminder(
                campaign_id=campaign.id,
                recipient_employee_id=int(row.employee_id),
                kind="self_assessment",
                pending=int(total - row.self_n),
                sent_at=now,
                sent_by_id=actor.id,
            )
        )
    waiting = states[(states["state"] == "awaiting_validation") & states["supervisor_id"].notna()]
    for supervisor_id, group in waiting.groupby("supervisor_id"):
        reminders.append(
            CampaignReminder(
                campaign_id=campaign.id,
                recipient_employee_id=int(supervisor_id),
                kind="validation",
                pending=len(group),
                sent_at=now,
                sent_by_id=actor.id,
            )
        )
    session.add_all(reminders)
    people = len(owing_self)
    supervisors = len(reminders) - people
    params = {"campaign": campaign.name, "date": campaign.deadline}
    due, validation = campaign_notices.CAMPAIGN_DUE, campaign_notices.CAMPAIGN_VALIDATION
    for kind, recipients, link in (
        (due, owing_self["employee_id"], "/competencies/me/assessment"),
        (validation, waiting["supervisor_id"], "/competencies/validation"),
    ):
        campaign_notices.tell_employees(
            session,
            (int(e) for e in recipients),
            kind=kind,
            key=campaign_notices.round_key(campaign.id, kind, now),
            params=params,
            link=link,
        )
    audit.record(
        session,
        action="campaign.reminded",
        actor=actor,
        entity_type="assessment_campaign",
        entity_id=campaign.id,
        after={"unit_id": unit_id, "people": people, "supervisors": supervisors},
    )
    return people, supervisors


@dataclass
class ReminderRow:
    recipient: str
    kind: str
    pending: int
    sent_at: datetime
    sent_by: str


def reminders(
    session: Session, campaign: AssessmentCampaign, *, limit: int = 200
) -> list[ReminderRow]:
    """Return who was reminded of what and when, newest first."""
    rows = session.exec(
        select(CampaignReminder, Employee, User)
        .join(Employee, col(CampaignReminder.recipient_employee_id) == Employee.id)
        .join(User, col(CampaignReminder.sent_by_id) == User.id, isouter=True)
        .where(CampaignReminder.campaign_id == campaign.id)
        .order_by(col(CampaignReminder.id).desc())
        .limit(limit)
    ).all()
    return [
        ReminderRow(e.full_name, r.kind, r.pending, r.sent_at, u.full_name if u else "")
        for r, e, u in rows
    ]


def close_campaign(session: Session, *, campaign: AssessmentCampaign, actor: User) -> None:
    """Close a campaign (its counters stay readable)."""
    if campaign.closed_at is not None:
        raise CompetencyError(_("This campaign is already closed."), status_code=409)
    campaign.closed_at = clock.now()
    session.add(campaign)
    audit.record(
        session,
        action="campaign.closed",
        actor=actor,
        entity_type="assessment_campaign",
        entity_id=campaign.id,
        after={"closed_at": campaign.closed_at},
    )


@dataclass
class MyCampaign:
    campaign: AssessmentCampaign
    last_reminder: CampaignReminder | None


_CAMPAIGN = AssessmentCampaign.__table__
_PARTICIPANT = CampaignParticipant.__table__
_REMINDER = CampaignReminder.__table__
# Built once: an employee's open campaigns, each with the newest reminder sent to them (an
# outer join on the highest reminder id), in one query rather than one more per campaign.
_SENT = _REMINDER.alias("sent")
_NEWEST_REMINDER = (
    sa_select(func.max(_SENT.c.id))
    .where(
        _SENT.c.campaign_id == _CAMPAIGN.c.id,
        _SENT.c.recipient_employee_id == bindparam("employee_id"),
    )
    .scalar_subquery()
)
_MY_OPEN_CAMPAIGNS = (
    select(AssessmentCampaign, CampaignReminder)
    .join(CampaignParticipant, _PARTICIPANT.c.campaign_id == _CAMPAIGN.c.id)
    .outerjoin(CampaignReminder, _REMINDER.c.id == _NEWEST_REMINDER)
    .where(
        _PARTICIPANT.c.employee_id == bindparam("employee_id"),
        _CAMPAIGN.c.closed_at.is_(None),
    )
    .order_by(_CAMPAIGN.c.deadline)
)


def open_campaigns_for(session: Session, *, employee_id: int) -> list[MyCampaign]:
    """Return the open campaigns an employee takes part in, with their latest reminder."""
    rows = session.execute(_MY_OPEN_CAMPAIGNS, {"employee_id": employee_id})
    return [MyCampaign(campaign, reminder) for campaign, reminder in rows]


# Built once, read as plain rows (the panel shows when each was sent).
_VALIDATION_REMINDERS = (
    sa_select(*_REMINDER.c)
    .join(_CAMPAIGN, _CAMPAIGN.c.id == _REMINDER.c.campaign_id)
    .where(
        _REMINDER.c.recipient_employee_id == bindparam("employee_id"),
        _REMINDER.c.kind == "validation",
        _CAMPAIGN.c.closed_at.is_(None),
    )
    .order_by(_REMINDER.c.id.desc())
    .limit(5)
)


def validation_reminders_for(session: Session, *, employee_id: int) -> list[CampaignReminder]:
    """Return reminders to validate that a supervisor received in open campaigns (newest five).

    Plain rows with the model's attribute names, not ORM objects.
    """
    rows = session.execute(_VALIDATION_REMINDERS, {"employee_id": employee_id})
    return list(rows)  # type: ignore[arg-type]  # rows read as the model
