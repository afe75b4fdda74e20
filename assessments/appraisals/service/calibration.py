"""Calibration: the ratings' distribution per supervisor and unit, sending back."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from assessments.appraisals.models import (
    RATINGS,
    TOP_RATINGS,
    Appraisal,
    AppraisalCycle,
    Stage,
)
from assessments.appraisals.service.access import _cycle_of, _touch
from assessments.appraisals.service.common import (
    CALIBRATION_MEAN_GAP,
    CALIBRATION_MIN_GROUP,
    CALIBRATION_SHARE_GAP,
    MAX_NOTE,
    AppraisalError,
    _audit,
    _raise_if,
    _step,
    _text,
)
from backend import audit, clock
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.i18n import _
from backend.org.models import Employee, Unit


def send_back(session: Session, *, appraisal: Appraisal, reason: str, actor: Actor) -> Appraisal:
    """Send a rated appraisal back to the supervisor from calibration, with a reason (HR).

    The signatures, any disagreement and review are cleared; the supervisor's rating stays as a
    draft for them to reconsider in the dialogue record, which they sign again.
    """
    if not actor.can(Permission.calibrate_appraisals):
        raise AppraisalError(_("Only HR calibrates appraisals."), status_code=403)
    _cycle_of(session, appraisal)
    if appraisal.stage not in (Stage.sign_off, Stage.escalated, Stage.completed):
        raise AppraisalError(
            _("Only an appraisal with a rating can be sent back."), status_code=409
        )
    errors: dict[str, str] = {}
    reason = _text(
        reason,
        limit=MAX_NOTE,
        field="reason",
        errors=errors,
        required=True,
        message=_("Say why the appraisal is sent back."),
    )
    _raise_if(errors, _("The appraisal could not be sent back."))
    before = audit.snapshot(
        appraisal, "stage", "final_rating", "supervisor_rating", "review_rating", "disagreement"
    )
    appraisal.stage = Stage.sign_off
    appraisal.supervisor_signed_at = None
    appraisal.employee_signed_at = None
    appraisal.disagreement = ""
    appraisal.escalated_at = None
    appraisal.reviewer_id = None
    appraisal.review_rating = None
    appraisal.review_reasons = ""
    appraisal.reviewed_at = None
    appraisal.reviewed_by_id = None
    appraisal.completed_at = None
    appraisal.final_rating = appraisal.supervisor_rating
    appraisal.objectives_score = appraisal.competency_score = appraisal.weighted_score = None
    appraisal.sent_back_at = clock.now()
    appraisal.sent_back_reason = reason
    _touch(session, appraisal)
    _step(session, appraisal, "sent_back", actor, reason)
    _audit(
        session,
        "appraisal.sent_back",
        appraisal,
        actor,
        before=before,
        after={"stage": appraisal.stage, "reason": reason},
    )
    session.flush()
    return appraisal


@dataclass
class Distribution:
    """Ratings of one group (a supervisor, a unit, or the organisation)."""

    key: int | None
    label: str
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))
    unit: str = ""
    flag: str = ""  # "lenient" | "severe" | ""

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float | None:
        return sum(r * c for r, c in self.counts.items()) / self.n if self.n else None

    @property
    def top_share(self) -> float | None:
        return sum(self.counts[r] for r in TOP_RATINGS) / self.n if self.n else None

    @property
    def low_share(self) -> float | None:
        return (self.counts[1] + self.counts[2]) / self.n if self.n else None

    def share(self, rating: int) -> float | None:
        return self.counts[rating] / self.n if self.n else None


@dataclass
class CalibrationReport:
    cycle: AppraisalCycle | None
    organisation: Distribution
    units: list[Distribution]
    supervisors: list[Distribution]

    @property
    def flagged_supervisors(self) -> list[Distribution]:
        return [s for s in self.supervisors if s.flag]

    @property
    def flagged_units(self) -> list[Distribution]:
        return [u for u in self.units if u.flag]


def calibration_flag(group: Distribution, org: Distribution) -> str:
    if group.n < CALIBRATION_MIN_GROUP or not org.n:
        return ""
    if (
        group.mean - org.mean >= CALIBRATION_MEAN_GAP
        or group.top_share - org.top_share >= CALIBRATION_SHARE_GAP
    ):
        return "lenient"
    if (
        org.mean - group.mean >= CALIBRATION_MEAN_GAP
        or group.low_share - org.low_share >= CALIBRATION_SHARE_GAP
    ):
        return "severe"
    return ""


def calibration(session: Session, *, cycle: AppraisalCycle | None) -> CalibrationReport:
    """Return the distribution of ratings per supervisor and per unit, against the organisation.

    Counts every appraisal with a rating in force (signed or not yet: calibration happens before
    the cycle completes). One grouped query; groups that stand out are flagged (see the
    CALIBRATION_* thresholds).
    """
    appraisal = Appraisal.__table__
    conditions = [appraisal.c.final_rating.is_not(None)]
    if cycle is not None:
        conditions.append(appraisal.c.cycle_id == cycle.id)
    rows = session.execute(
        sa_select(
            appraisal.c.appraiser_id, appraisal.c.unit_id, appraisal.c.final_rating, func.count()
        )
        .where(*conditions)
        .group_by(appraisal.c.appraiser_id, appraisal.c.unit_id, appraisal.c.final_rating)
    ).all()
    org = Distribution(None, _("Whole organisation"))
    units: dict[int, Distribution] = {}
    supervisors: dict[int | None, Distribution] = {}
    supervisor_units: dict[int | None, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for appraiser_id, unit_id, rating, count in rows:
        org.counts[rating] += count
        units.setdefault(unit_id, Distribution(unit_id, "")).counts[rating] += count
        supervisors.setdefault(appraiser_id, Distribution(appraiser_id, "")).counts[rating] += count
        supervisor_units[appraiser_id][unit_id] += count
    unit_names = dict(session.exec(select(Unit.id, Unit.name)).all())
    for unit_id, group in units.items():
        group.label = unit_names.get(unit_id, str(unit_id))
        group.flag = calibration_flag(group, org)
    names = {}
    ids = [k for k in supervisors if k is not None]
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        names.update(
            {
                eid: (f"{first} {last}", unit_id)
                for eid, first, last, unit_id in session.exec(
                    select(
                        Employee.id, Employee.first_name, Employee.last_name, Employee.unit_id
                    ).where(col(Employee.id).in_(chunk))
                ).all()
            }
        )
    for appraiser_id, group in supervisors.items():
        if appraiser_id is None:
            group.label = _("No supervisor")
        else:
            name, home_unit = names.get(appraiser_id, (str(appraiser_id), None))
            group.label = name
            group.unit = unit_names.get(home_unit, "")
        group.flag = calibration_flag(group, org)

    def order(d: Distribution):
        return (not d.flag, -(abs((d.mean or 0) - (org.mean or 0))), d.label.lower())

    return CalibrationReport(
        cycle=cycle,
        organisation=org,
        units=sorted(units.values(), key=order),
        supervisors=sorted(supervisors.values(), key=order),
    )


def appraisals_for_calibration(
    session: Session,
    *,
    cycle: AppraisalCycle,
    appraiser_id: int | None = None,
    unit_id: int | None = None,
    limit: int = 200,
) -> list[tuple[Appraisal, Employee]]:
    """Return the rated appraisals of one supervisor or unit in a cycle (to send one back)."""
    statement = (
        select(Appraisal, Employee)
        .join(Employee, col(Employee.id) == Appraisal.employee_id)
        .where(Appraisal.cycle_id == cycle.id, col(Appraisal.final_rating).is_not(None))
    )
    if appraiser_id is not None:
        statement = statement.where(Appraisal.appraiser_id == appraiser_id)
    if unit_id is not None:
        statement = statement.where(Appraisal.unit_id == unit_id)
    return list(
        session.exec(statement.order_by(col(Employee.last_name), col(Employee.id)).limit(limit))
    )
