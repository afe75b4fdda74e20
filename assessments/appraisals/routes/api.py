"""The appraisals' JSON under /api/v1/appraisals: the scale, a cycle's progress, calibration,
promotion evidence (for competitions), one appraisal and one side's assessment."""

from __future__ import annotations

from fastapi import APIRouter

from assessments.appraisals import service
from assessments.appraisals.models import RATING_DESCRIPTORS, RATING_LABELS, RATINGS, Stage
from assessments.appraisals.routes.common import CycleDep
from assessments.appraisals.schemas import (
    AppraisalOut,
    AppraisalRecordOut,
    AssessmentOut,
    CalibrationOut,
    CompetencyRecordOut,
    CycleProgressOut,
    DistributionOut,
    LocalizedText,
    ObjectiveOut,
    ObjectiveRatingOut,
    PromotionEvidenceOut,
    RatingOut,
    StageCounts,
)
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import LOCALES, _, use_locale

# No pages here: the JSON only (the app includes every router module's `router`).
router = APIRouter(prefix="/appraisals")
api_router = APIRouter(prefix="/appraisals", tags=["appraisals"])


def _both(message: str) -> LocalizedText:
    texts = {}
    for locale in LOCALES:
        with use_locale(locale):
            texts[locale] = _(message)
    return LocalizedText(**texts)


@api_router.get(
    "/scale",
    response_model=list[RatingOut],
    dependencies=[require(Permission.take_part_in_appraisals)],
)
def scale_json() -> list[RatingOut]:
    """The fixed 1–5 rating scale with its descriptors, in Spanish and English."""
    return [
        RatingOut(rating=r, label=_both(RATING_LABELS[r]), descriptor=_both(RATING_DESCRIPTORS[r]))
        for r in RATINGS
    ]


def _stage_counts(row) -> StageCounts:
    counts = {str(k): v for k, v in row.counts.items()}
    return StageCounts(unit_id=row.unit_id, unit=row.unit, counts=counts)


@api_router.get(
    "/cycles/{cycle_id}/progress",
    response_model=CycleProgressOut,
    dependencies=[require(Permission.manage_appraisal_cycles)],
)
def cycle_progress_json(session: SessionDep, cycle: CycleDep) -> CycleProgressOut:
    """Live counters of a cycle: appraisals per stage, per unit and in total."""
    rows, total = service.cycle_progress(session, cycle)
    return CycleProgressOut(
        cycle_id=cycle.id,
        name=cycle.name,
        completed=cycle.completed_at is not None,
        total=_stage_counts(total),
        units=[_stage_counts(r) for r in rows],
    )


def _distribution_out(d: service.Distribution) -> DistributionOut:
    return DistributionOut(
        key=d.key,
        label=d.label,
        n=d.n,
        counts=d.counts,
        mean=d.mean,
        top_share=d.top_share,
        low_share=d.low_share,
        flag=d.flag,
    )


@api_router.get(
    "/calibration",
    response_model=CalibrationOut,
    dependencies=[require(Permission.calibrate_appraisals)],
)
def calibration_json(session: SessionDep, cycle_id: int | None = None) -> CalibrationOut:
    """Distribution of ratings per supervisor and unit against the organisation, with flags."""
    cycle = service.require_cycle(session, cycle_id) if cycle_id is not None else None
    report = service.calibration(session, cycle=cycle)
    return CalibrationOut(
        cycle_id=cycle.id if cycle else None,
        organisation=_distribution_out(report.organisation),
        units=[_distribution_out(u) for u in report.units],
        supervisors=[_distribution_out(s) for s in report.supervisors],
    )


@api_router.get(
    "/employees/{employee_id}/promotion-evidence",
    response_model=PromotionEvidenceOut,
    dependencies=[require(Permission.manage_vacancies)],
)
def promotion_evidence_json(session: SessionDep, employee_id: int) -> PromotionEvidenceOut:
    """A person's completed appraisals and competency ratings, as evidence for competitions."""
    evidence = service.promotion_evidence(session, employee_id=employee_id)
    return PromotionEvidenceOut(
        employee_id=evidence.employee_id,
        latest_rating=evidence.latest_rating,
        mean_rating=evidence.mean_rating,
        appraisals=[AppraisalRecordOut(**a.__dict__) for a in evidence.appraisals],
        competencies=[CompetencyRecordOut(**c.__dict__) for c in evidence.competencies],
    )


def _objectives_out(session, appraisal) -> list[ObjectiveOut]:
    return [
        ObjectiveOut(
            id=o.id,
            title=o.title,
            measure=o.measure,
            weight=o.weight,
            serves=service.link_label(session, o),
            team=o.team_objective_id is not None,
        )
        for o in service.objectives_of(session, appraisal)
    ]


@api_router.get(
    "/{appraisal_id}",
    response_model=AppraisalOut,
    dependencies=[require(Permission.take_part_in_appraisals)],
)
def appraisal_json(session: SessionDep, principal: CurrentPrincipal, appraisal_id: int):
    """One appraisal's state (for the people taking part in it, and HR)."""
    appraisal = service.get_appraisal(session, appraisal_id=appraisal_id, actor=principal)
    signed = appraisal.supervisor_signed_at is not None
    completed = appraisal.stage == Stage.completed
    return AppraisalOut(
        id=appraisal.id,
        cycle_id=appraisal.cycle_id,
        employee_id=appraisal.employee_id,
        stage=appraisal.stage,
        objectives=_objectives_out(session, appraisal),
        self_submitted=appraisal.self_submitted_at is not None,
        supervisor_submitted=appraisal.supervisor_submitted_at is not None,
        supervisor_rating=appraisal.supervisor_rating if signed else None,
        final_rating=appraisal.final_rating if completed else None,
        supervisor_signed=signed,
        employee_signed=appraisal.employee_signed_at is not None,
        escalated=appraisal.escalated_at is not None,
        completed=completed,
    )


@api_router.get(
    "/{appraisal_id}/assessments/{side}",
    response_model=AssessmentOut,
    dependencies=[require(Permission.take_part_in_appraisals)],
)
def assessment_json(session: SessionDep, principal: CurrentPrincipal, appraisal_id: int, side: str):
    """One side's assessment; 403 until both sides are submitted (except for its author)."""
    appraisal = service.get_appraisal(session, appraisal_id=appraisal_id, actor=principal)
    view = service.read_assessment(session, appraisal=appraisal, side=side, actor=principal)
    row = view.assessment
    return AssessmentOut(
        side=side,
        submitted=row is not None and row.submitted_at is not None,
        achievements=row.achievements if row else "",
        to_improve=row.to_improve if row else "",
        ratings=[
            ObjectiveRatingOut(objective_id=r.objective_id, rating=r.rating, comment=r.comment)
            for r in view.ratings.values()
        ],
    )
