"""The integrity dashboard: anomaly flags per competition and per panel member.

Each flag is a pattern that patronage leaves behind. A flag is a reason to look, not a verdict:
the dashboard shows the figures behind it so an auditor can judge.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import mean, median

from sqlmodel import Session, col, select

from backend import clock
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import N_, _

from ..models import (
    STAGE_LABELS,
    Application,
    ApplicationStatus,
    Appointment,
    AppointmentStatus,
    ConflictDeclaration,
    ConsensusScore,
    PanelMember,
    PanelScore,
    Vacancy,
    VacancyStatus,
)
from . import favouritism as stats
from .base import all_applications, working_days_open
from .merit import merit_entries
from .panel import panel_of

# An item this far from the mean of the OTHER raters (leave-one-out; chosen by simulation,
# service/favouritism.py).
OUTLIER_POINTS = stats.ITEM_POINTS
# Average extra points a rater gives one group over the others to count as systematic leniency.
LENIENCY_POINTS = 1.0
LENIENCY_MIN_FAVOURED = 2
# Winners from a member's own unit in this many competitions count as "repeatedly".
OWN_UNIT_REPEAT = 2

FLAG_LABELS = {
    "rater_outlier": N_("Rater far from the panel mean"),
    "rater_total_outlier": N_("Rater's total for a candidate far from the other raters'"),
    "favoured_related_candidate": N_(
        "Rater scored a related candidate well above the rest of the panel"
    ),
    "lenient_to_internal": N_("Rater lenient to internal candidates"),
    "lenient_to_same_unit": N_("Rater lenient to candidates from their own unit"),
    "edited_after_reveal": N_("Scores edited after identities were revealed"),
    "low_test_top_interview": N_("Winner with a low test score but top interview marks"),
    "short_posting_window": N_("Short posting window"),
    "single_applicant": N_("Single applicant"),
    "own_unit_winners": N_("Panel member repeatedly choosing winners from their own unit"),
    "conflict_flag_overridden": N_("Likely conflict declared as none"),
    "appointed_out_of_order": N_("Appointee not at the top of the merit list"),
}
SEVERITY = {
    "rater_outlier": "medium",
    "rater_total_outlier": "medium",
    "favoured_related_candidate": "high",
    "lenient_to_internal": "high",
    "lenient_to_same_unit": "high",
    "edited_after_reveal": "high",
    "low_test_top_interview": "high",
    "short_posting_window": "medium",
    "single_applicant": "medium",
    "own_unit_winners": "high",
    "conflict_flag_overridden": "info",
    "appointed_out_of_order": "info",
}


@dataclass
class Flag:
    code: str
    vacancy_id: int
    detail: str  # translated, with the figures behind the flag
    member_user_id: int | None = None

    @property
    def severity(self) -> str:
        return SEVERITY[self.code]


@dataclass
class Deviations:
    """Per rater: how far each score lies from the panel, by candidate."""

    # rater -> application -> list of (own score - mean of the other raters)
    by_rater: dict[int, dict[int, list[float]]] = field(default_factory=dict)
    # rater -> number of items more than OUTLIER_POINTS from the panel mean
    outliers: dict[int, int] = field(default_factory=dict)
    items: dict[int, int] = field(default_factory=dict)
    all: list[stats.Deviation] = field(default_factory=list)


def _current(rows) -> dict[tuple[int, str, str, int], int]:
    found: dict[tuple[int, str, str, int], int] = {}
    for row in sorted(rows, key=lambda r: r.id):
        found[(row.application_id, row.stage, row.competency_code, row.rater_id)] = row.score
    return found


def deviations(session: Session, vacancy: Vacancy) -> Deviations:
    """Return every rater's deviations from the rest of the panel, item by item."""
    scores = _current(
        session.exec(select(PanelScore).where(PanelScore.vacancy_id == vacancy.id)).all()
    )
    items: stats.Scores = defaultdict(dict)
    for (app_id, stage, code, rater), score in scores.items():
        items[(app_id, stage, code)][rater] = score
    result = Deviations()
    for found in stats.deviations(items):
        rater = found.rater
        result.by_rater.setdefault(rater, {}).setdefault(found.candidate, []).append(found.points)
        result.items[rater] = result.items.get(rater, 0) + 1
        result.all.append(found)
        if abs(found.points) >= OUTLIER_POINTS:
            result.outliers[rater] = result.outliers.get(rater, 0) + 1
    return result


RELATION_LABELS = {
    "same_unit": N_("from the rater's own unit"),
    "supervisor": N_("a direct report or boss of the rater"),
    "shared_surname": N_("shares a surname with the rater"),
    "former_colleague": N_("a former colleague, as the rater declared"),
    "acquaintance": N_("an acquaintance, as the rater declared"),
    "other": N_("a relation the rater declared"),
}


def related_pairs(
    session: Session, vacancy: Vacancy, applications: list[Application], seats: list[PanelMember]
) -> dict[tuple[int, int], str]:
    """Return {(rater user id, application id): relation} for the pairs checked for favouritism:
    a candidate from the rater's own unit, or a relation the rater declared (or that HR data
    suggested) without declaring a conflict (a conflicted rater does not score)."""
    found: dict[tuple[int, int], str] = {}
    for seat in seats:
        for application in applications:
            if seat.unit_id is not None and application.unit_id == seat.unit_id:
                found[(seat.user_id, application.id)] = "same_unit"
    for declaration in session.exec(
        select(ConflictDeclaration).where(
            ConflictDeclaration.vacancy_id == vacancy.id,
            col(ConflictDeclaration.conflicted).is_(False),
        )
    ):
        kind = declaration.relation or next(iter(declaration.flags or []), "")
        if kind in RELATION_LABELS:
            found.setdefault((declaration.member_user_id, declaration.application_id), kind)
    return found


def _leniency(
    per_application: dict[int, list[float]], favoured: set[int]
) -> tuple[float, int, int] | None:
    """Return (extra points to the favoured group, favoured n, others n), or None if too few."""
    inside = [mean(v) for a, v in per_application.items() if a in favoured]
    outside = [mean(v) for a, v in per_application.items() if a not in favoured]
    if len(inside) < LENIENCY_MIN_FAVOURED or not outside:
        return None
    return mean(inside) - mean(outside), len(inside), len(outside)


def winner(session: Session, vacancy: Vacancy) -> Application | None:
    """Return the appointed candidate (first appointment), else rank 1 of the merit list."""
    appointment = session.exec(
        select(Appointment)
        .where(
            Appointment.vacancy_id == vacancy.id,
            Appointment.status == AppointmentStatus.effective,
            col(Appointment.from_reserve).is_(False),
        )
        .order_by(col(Appointment.id))
    ).first()
    if appointment is not None:
        return session.get(Application, appointment.application_id)

    top = next((e for e in merit_entries(session, vacancy) if e.rank == 1), None)
    return session.get(Application, top.application_id) if top else None


def own_unit_wins(session: Session, user_id: int) -> list[Vacancy]:
    """Return the competitions where `user_id` sat on the panel and the appointee came from the
    member's own unit."""
    found = []
    for seat in session.exec(select(PanelMember).where(PanelMember.user_id == user_id)):
        if seat.unit_id is None:
            continue
        vacancy = session.get(Vacancy, seat.vacancy_id)
        appointed = winner(session, vacancy) if vacancy.appointed_at else None
        if appointed is not None and appointed.unit_id == seat.unit_id:
            found.append(vacancy)
    return found


def _name(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return user.full_name if user else str(user_id)


def competition_flags(session: Session, settings: Settings, vacancy: Vacancy) -> list[Flag]:
    """Return every anomaly flag of one competition."""
    flags: list[Flag] = []
    applications = all_applications(session, vacancy)
    seats = panel_of(session, vacancy)
    vid = vacancy.id

    # The notice in force was on the board for fewer working days than the minimum.
    if vacancy.notice_changed_at and vacancy.closes_at:
        days = working_days_open(vacancy.notice_changed_at, vacancy.closes_at, settings.time_zone)
        if days < settings.vacancy_min_posting_days:
            flags.append(
                Flag(
                    "short_posting_window",
                    vid,
                    _(
                        "The notice in force was open for %(days)s working days; the minimum is "
                        "%(min)s.",
                        days=days,
                        min=settings.vacancy_min_posting_days,
                    ),
                )
            )
    closed = vacancy.status not in (
        VacancyStatus.draft,
        VacancyStatus.pending_approval,
        VacancyStatus.approved,
    ) and (vacancy.closes_at is not None and clock.now() > vacancy.closes_at)
    applied = [a for a in applications if a.status != ApplicationStatus.withdrawn]
    if closed and len(applied) == 1:
        flags.append(Flag("single_applicant", vid, _("Only one person applied.")))

    found = deviations(session, vacancy)
    for rater, count in sorted(found.outliers.items()):
        flags.append(
            Flag(
                "rater_outlier",
                vid,
                _(
                    "%(name)s scored %(count)s of %(items)s items %(points)s points or more "
                    "from the mean of the other raters.",
                    name=_name(session, rater),
                    count=count,
                    items=found.items.get(rater, 0),
                    points=f"{OUTLIER_POINTS:.1f}",
                ),
                rater,
            )
        )
    names = {a.id: a.candidate_name for a in applications}
    for total in stats.total_outliers(found.all):
        flags.append(
            Flag(
                "rater_total_outlier",
                vid,
                _(
                    "%(name)s's scores of %(candidate)s in the %(stage)s lie %(points)s points "
                    "per item from the mean of the other raters (%(items)s items).",
                    name=_name(session, total.rater),
                    candidate=names.get(total.candidate, ""),
                    stage=_(STAGE_LABELS[total.stage]).lower(),
                    points=f"{total.points:+.1f}",
                    items=total.items,
                ),
                total.rater,
            )
        )
    related = related_pairs(session, vacancy, applications, seats)
    for favour in stats.favouritism(found.all, related):
        flags.append(
            Flag(
                "favoured_related_candidate",
                vid,
                _(
                    "%(name)s scored %(candidate)s (%(relation)s) %(points)s points per item "
                    "above the other raters, beyond how %(name)s scores the other candidates "
                    "(%(items)s items; the threshold is %(threshold)s).",
                    name=_name(session, favour.rater),
                    candidate=names.get(favour.candidate, ""),
                    relation=_(RELATION_LABELS[related[(favour.rater, favour.candidate)]]).lower(),
                    points=f"{favour.points:.1f}",
                    items=favour.items,
                    threshold=f"{stats.FAVOUR_POINTS:.1f}",
                ),
                favour.rater,
            )
        )
    internal = {a.id for a in applications if a.is_internal}
    units = {s.user_id: s.unit_id for s in seats}
    for rater, per_application in sorted(found.by_rater.items()):
        result = _leniency(per_application, internal)
        if result and result[0] >= LENIENCY_POINTS:
            flags.append(
                Flag(
                    "lenient_to_internal",
                    vid,
                    _(
                        "%(name)s scored internal candidates %(points)s points higher, relative "
                        "to the rest of the panel, than external ones (%(inside)s internal, "
                        "%(outside)s external).",
                        name=_name(session, rater),
                        points=f"{result[0]:.1f}",
                        inside=result[1],
                        outside=result[2],
                    ),
                    rater,
                )
            )
        unit = units.get(rater)
        if unit is not None:
            same = {a.id for a in applications if a.unit_id == unit}
            result = _leniency(per_application, same)
            if result and result[0] >= LENIENCY_POINTS:
                flags.append(
                    Flag(
                        "lenient_to_same_unit",
                        vid,
                        _(
                            "%(name)s scored candidates from their own unit %(points)s points "
                            "higher, relative to the rest of the panel, than others.",
                            name=_name(session, rater),
                            points=f"{result[0]:.1f}",
                        ),
                        rater,
                    )
                )

    # Independent scores cannot change once revealed; consensus scores can, after a lock, only
    # through an upheld appeal. Either way a change after names were revealed is flagged.
    late = session.exec(
        select(ConsensusScore).where(
            ConsensusScore.vacancy_id == vid, col(ConsensusScore.after_lock).is_(True)
        )
    ).all()
    if late:
        flags.append(
            Flag(
                "edited_after_reveal",
                vid,
                _(
                    "%(count)s score(s) of %(people)s candidate(s) changed after the scores were "
                    "locked and names revealed.",
                    count=len(late),
                    people=len({r.application_id for r in late}),
                ),
            )
        )

    top = winner(session, vacancy)
    if top is not None:
        interviewed = [e for e in merit_entries(session, vacancy) if e.interview_score is not None]
        entry = next((e for e in interviewed if e.application_id == top.id), None)
        if entry is not None and len(interviewed) >= 3:
            tests = [e.test_score or 0 for e in interviewed]
            best_interview = max(e.interview_score or 0 for e in interviewed)
            if (entry.test_score or 0) < median(tests) and entry.interview_score == best_interview:
                flags.append(
                    Flag(
                        "low_test_top_interview",
                        vid,
                        _(
                            "The winner's test score (%(test)s) is below the median of those "
                            "interviewed (%(median)s), but their interview score is the highest "
                            "(%(interview)s).",
                            test=f"{entry.test_score or 0:.1f}",
                            median=f"{median(tests):.1f}",
                            interview=f"{entry.interview_score:.1f}",
                        ),
                    )
                )
        if vacancy.appointed_at is not None:
            for seat in seats:
                if seat.unit_id is None or top.unit_id != seat.unit_id:
                    continue
                wins = own_unit_wins(session, seat.user_id)
                if len(wins) >= OWN_UNIT_REPEAT:
                    flags.append(
                        Flag(
                            "own_unit_winners",
                            vid,
                            _(
                                "%(name)s sat on %(count)s panels whose appointee came from "
                                "their own unit (%(refs)s).",
                                name=_name(session, seat.user_id),
                                count=len(wins),
                                refs=", ".join(v.reference for v in wins),
                            ),
                            seat.user_id,
                        )
                    )

    overridden: dict[int, int] = defaultdict(int)
    for declaration in session.exec(
        select(ConflictDeclaration).where(
            ConflictDeclaration.vacancy_id == vid, col(ConflictDeclaration.conflicted).is_(False)
        )
    ):
        if declaration.flags:
            overridden[declaration.member_user_id] += 1
    for member, count in sorted(overridden.items()):
        flags.append(
            Flag(
                "conflict_flag_overridden",
                vid,
                _(
                    "%(name)s declared no conflict with %(count)s applicant(s) whom HR records "
                    "link to them (see their explanations).",
                    name=_name(session, member),
                    count=count,
                ),
                member,
            )
        )
    for appointment in session.exec(
        select(Appointment).where(
            Appointment.vacancy_id == vid,
            Appointment.status == AppointmentStatus.effective,
            Appointment.justification != "",
        )
    ):
        flags.append(
            Flag(
                "appointed_out_of_order",
                vid,
                _(
                    "Rank %(rank)s was appointed with a justification approved at a second level.",
                    rank=appointment.merit_rank,
                ),
            )
        )
    return flags


@dataclass
class CompetitionIntegrity:
    vacancy: Vacancy
    flags: list[Flag]

    @property
    def high(self) -> int:
        return sum(1 for f in self.flags if f.severity == "high")


def overview(session: Session, settings: Settings) -> list[CompetitionIntegrity]:
    """Return every published competition with its flags, most flagged first."""
    rows = []
    for vacancy in session.exec(
        select(Vacancy)
        .where(col(Vacancy.published_at).is_not(None))
        .order_by(col(Vacancy.id).desc())
    ):
        rows.append(CompetitionIntegrity(vacancy, competition_flags(session, settings, vacancy)))
    return sorted(rows, key=lambda r: (-r.high, -len(r.flags), -(r.vacancy.id or 0)))


@dataclass
class MemberIntegrity:
    user: User
    seats: list[tuple[Vacancy, PanelMember]]
    flags: list[Flag]
    own_unit_wins: list[Vacancy]
    outliers: int
    items: int


def member_profile(session: Session, settings: Settings, user: User) -> MemberIntegrity:
    """Return one panel member's record across competitions, with the flags naming them."""
    seats = [
        (session.get(Vacancy, s.vacancy_id), s)
        for s in session.exec(
            select(PanelMember).where(PanelMember.user_id == user.id).order_by(col(PanelMember.id))
        )
    ]
    flags: list[Flag] = []
    outliers = items = 0
    for vacancy, _seat in seats:
        flags.extend(
            f for f in competition_flags(session, settings, vacancy) if f.member_user_id == user.id
        )
        found = deviations(session, vacancy)
        outliers += found.outliers.get(user.id, 0)
        items += found.items.get(user.id, 0)
    return MemberIntegrity(user, seats, flags, own_unit_wins(session, user.id), outliers, items)


def panel_members_seen(session: Session) -> list[User]:
    """Return everyone who has sat on a panel."""
    ids = session.exec(select(PanelMember.user_id).distinct()).all()
    return sorted((session.get(User, i) for i in ids), key=lambda u: u.full_name)
