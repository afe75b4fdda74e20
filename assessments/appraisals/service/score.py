"""The weighted score: objectives 70 %, competencies 30 % (see docs/appraisals.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlmodel import Session, select

from assessments.appraisals.models import (
    Appraisal,
    AppraisalAssessment,
    Objective,
    ObjectiveRating,
    Side,
)
from assessments.appraisals.service.access import roles_in
from assessments.appraisals.service.common import (
    COMPETENCIES_SHARE,
    IMPORTANCE_WEIGHTS,
    OBJECTIVES_SHARE,
)
from assessments.appraisals.service.objectives import objectives_of
from backend.auth import Actor
from backend.org.models import Employee
from competency_framework import service as competency_service


def side_of(session: Session, *, appraisal: Appraisal, actor: Actor) -> Side | None:
    """Return the side `actor` writes (self or supervisor), or None."""
    parts = roles_in(session, appraisal=appraisal, actor=actor)
    if "employee" in parts:
        return Side.self
    if "supervisor" in parts:
        return Side.supervisor
    return None


def _assessment_row(
    session: Session, appraisal: Appraisal, side: Side
) -> AppraisalAssessment | None:
    return session.exec(
        select(AppraisalAssessment).where(
            AppraisalAssessment.appraisal_id == appraisal.id, AppraisalAssessment.side == side
        )
    ).first()


@dataclass
class CompetencyPoint:
    code: str
    name_es: str
    name_en: str
    required: int
    current: int | None
    importance: str
    points: int


@dataclass
class ScoreBreakdown:
    """The documented weighted score (docs/appraisals.md) and its parts."""

    objectives: list[tuple[Objective, int | None]]  # (objective, supervisor's rating)
    objectives_score: float | None
    competencies: list[CompetencyPoint]
    competency_score: float | None
    weighted_score: float | None

    @property
    def suggested_rating(self) -> int | None:
        if self.weighted_score is None:
            return None
        return max(1, min(5, math.floor(self.weighted_score + 0.5)))


def competency_points(required: int, current: int | None) -> int:
    """Return 1–5 points for one competency: 3 at the required level, ±1 per level off."""
    return max(1, min(5, 3 + (current or 0) - required))


def score(session: Session, *, appraisal: Appraisal) -> ScoreBreakdown:
    """Return the weighted score of an appraisal from objectives and competency ratings.

    objectives = Σ weight × supervisor's rating / 100 (1–5);
    competencies = importance-weighted mean of competency_points over the role profile's
    required competencies, from the current validated levels (competency_framework);
    weighted = 0.7 × objectives + 0.3 × competencies (objectives alone without a profile).
    """
    objectives = objectives_of(session, appraisal)
    supervisor_row = _assessment_row(session, appraisal, Side.supervisor)
    ratings = {}
    if supervisor_row is not None:
        ratings = {
            r.objective_id: r.rating
            for r in session.exec(
                select(ObjectiveRating).where(ObjectiveRating.assessment_id == supervisor_row.id)
            )
        }
    rated = [(o, ratings.get(o.id)) for o in objectives]
    objectives_score = None
    if objectives and all(r is not None for _o, r in rated):
        objectives_score = sum(o.weight * r for o, r in rated) / 100
    employee = session.get(Employee, appraisal.employee_id)
    profile = competency_service.person_gap_profile(session, employee=employee)
    points = []
    for row in profile.rows:
        if row.required <= 0:
            continue
        points.append(
            CompetencyPoint(
                code=row.competency.code,
                name_es=row.competency.name_es,
                name_en=row.competency.name_en,
                required=row.required,
                current=row.current,
                importance=row.importance,
                points=competency_points(row.required, row.current),
            )
        )
    competency_score = None
    if points:
        weights = [IMPORTANCE_WEIGHTS.get(p.importance, 1) for p in points]
        competency_score = sum(w * p.points for w, p in zip(weights, points, strict=True)) / sum(
            weights
        )
    weighted = None
    if objectives_score is not None:
        weighted = (
            OBJECTIVES_SHARE * objectives_score + COMPETENCIES_SHARE * competency_score
            if competency_score is not None
            else objectives_score
        )
    return ScoreBreakdown(rated, objectives_score, points, competency_score, weighted)
