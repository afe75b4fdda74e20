"""The appraisals' inputs and outputs: forms parsed at the edge, and the JSON API's shapes.

A route turns the posted form into one of these (a `Form()` model, or `from_form` for the forms
with numbered rows) and hands its values to the service, which checks the rules and says by
field what is wrong; `values()` is what the form shows again when refused. The `*Out` models
are what `/api/v1/appraisals` answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel

from assessments.appraisals.service import ActionInput, ObjectiveInput, ObjectiveScore, record_id
from backend.deps import form_ids, form_int, id_or_none

# The most rows a form with numbered rows is read for (more are ignored).
MAX_OBJECTIVE_ROWS = 50
MAX_ACTION_ROWS = 30


def _text(form: Any, key: str) -> str:
    return str(form.get(key, ""))


def whole_number(text: str) -> int | None:
    """Return the whole number typed (ASCII digits, at most 9 of them), or None."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def iso_date(text: str) -> date | None:
    """Return the day typed as YYYY-MM-DD (what a date field sends), or None."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


# --- the organisation's plan ----------------------------------------------------------------------


class PriorityForm(BaseModel):
    """A priority of the organisation's plan (HR)."""

    year: str = ""
    title: str = ""
    target: str = ""
    description: str = ""

    def arguments(self) -> dict[str, Any]:
        """The service's `add_priority` arguments."""
        return {**self.model_dump(), "year": whole_number(self.year)}


class UnitObjectiveForm(BaseModel):
    """A unit's objective serving a plan priority; `year` is the plan shown (hidden field)."""

    unit_id: str = ""
    priority_id: str = ""
    title: str = ""
    target: str = ""
    year: str = ""

    def arguments(self) -> dict[str, Any]:
        """The service's `add_unit_objective` arguments."""
        return {
            "unit_id": record_id(self.unit_id),
            "priority_id": record_id(self.priority_id),
            "title": self.title,
            "target": self.target,
        }

    def values(self) -> dict[str, str]:
        return self.model_dump(exclude={"year"})


# --- team objectives ------------------------------------------------------------------------------


class TeamObjectiveForm(BaseModel):
    """An objective shared by a unit's team in a cycle."""

    cycle_id: str = ""
    unit_id: str = ""
    link: str = ""
    title: str = ""
    measure: str = ""
    weight: str = ""

    def arguments(self) -> dict[str, Any]:
        """The service's `add_team_objective` arguments (besides the cycle)."""
        fields = self.model_dump(include={"link", "title", "measure", "weight"})
        return {**fields, "unit_id": record_id(self.unit_id)}

    def values(self) -> dict[str, str]:
        return self.model_dump(include={"link", "title", "measure", "weight"})


class ProgressForm(BaseModel):
    """Progress on an objective (a person's, or a team's when `objective_id` is not used)."""

    objective_id: str = ""
    percent: str = ""
    note: str = ""

    def arguments(self) -> dict[str, Any]:
        """The service's `add_progress` (or `add_team_progress`) arguments."""
        return {
            "objective_id": record_id(self.objective_id),
            "percent": whole_number(self.percent),
            "note": self.note,
        }


# --- cycles and training (HR) ---------------------------------------------------------------------


@dataclass
class CycleForm:
    """What the form opening a cycle sends; `units` and `plan_year` are checked at the edge."""

    name: str = ""
    period_start: str = ""
    period_end: str = ""
    plan_year: str = ""
    units: list[Any] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    subunits: bool = False
    trained: bool = False

    @classmethod
    def from_form(cls, form: Any) -> CycleForm:
        return cls(
            name=_text(form, "name"),
            period_start=_text(form, "period_start"),
            period_end=_text(form, "period_end"),
            plan_year=_text(form, "plan_year"),
            units=list(form.getlist("units")),
            roles=[str(r) for r in form.getlist("roles") if r],
            subunits=form.get("subunits") == "1",
            trained=form.get("trained") == "1",
        )

    def check(self) -> None:
        """Turn the units into ids and check the plan's year; raise `FieldError` if they are not.

        The service reads the year; one beyond any plan's never reaches the database.
        """
        raw, self.units = self.units, []
        self.units = form_ids(raw, field="units")
        form_int(self.plan_year, field="plan_year", low=1, high=9999)

    def values(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def arguments(self) -> dict[str, Any]:
        """The service's `open_cycle` arguments."""
        return {
            "name": self.name,
            "period_start": iso_date(self.period_start),
            "period_end": iso_date(self.period_end),
            "plan_year": whole_number(self.plan_year),
            "unit_ids": self.units,
            "role_codes_chosen": self.roles,
            "include_subunits": self.subunits,
            "require_trained_managers": self.trained,
        }


class TrainingForm(BaseModel):
    """Appraisal-dialogue training completed by a supervisor, recorded by HR."""

    employee_id: str = ""
    completed_on: str = ""
    evidence: str = ""

    def arguments(self) -> dict[str, Any]:
        """The service's `record_manager_training` arguments."""
        return {
            "employee_id": record_id(self.employee_id),
            "completed_on": iso_date(self.completed_on),
            "evidence": self.evidence,
        }

    def values(self) -> dict[str, str]:
        return self.model_dump(include={"completed_on", "evidence"})


# --- one appraisal --------------------------------------------------------------------------------


@dataclass
class ObjectivesForm:
    """The supervisor's objectives form: numbered rows (`title_0`, `measure_0`…)."""

    rows: list[ObjectiveInput]
    shown: list[dict[str, Any]]

    @classmethod
    def from_form(cls, form: Any) -> ObjectivesForm:
        rows, shown = [], []
        for index in range(min(id_or_none(form.get("rows")) or 0, MAX_OBJECTIVE_ROWS)):
            objective_id = _text(form, f"id_{index}")
            row = ObjectiveInput(
                title=_text(form, f"title_{index}"),
                measure=_text(form, f"measure_{index}"),
                link=_text(form, f"link_{index}"),
                weight=_text(form, f"weight_{index}"),
                objective_id=id_or_none(objective_id),
                team_objective_id=id_or_none(_text(form, f"team_{index}")),
            )
            rows.append(row)
            shown.append(
                {
                    "id": objective_id,
                    "team": row.team_objective_id,
                    "title": row.title,
                    "measure": row.measure,
                    "link": row.link,
                    "weight": row.weight,
                }
            )
        return cls(rows, shown)

    def values(self) -> dict[str, Any]:
        return {"objective_rows": self.shown}


@dataclass
class AssessmentForm:
    """One side's assessment: a rating and comment per objective, a draft or submitted."""

    achievements: str
    to_improve: str
    scores: list[ObjectiveScore]
    submit: bool

    @classmethod
    def from_form(cls, form: Any, objective_ids: list[int]) -> AssessmentForm:
        scores = [
            ObjectiveScore(i, _text(form, f"rating_{i}"), _text(form, f"comment_{i}"))
            for i in objective_ids
        ]
        return cls(
            achievements=_text(form, "achievements"),
            to_improve=_text(form, "to_improve"),
            scores=scores,
            submit=form.get("action") == "submit",
        )

    def arguments(self) -> dict[str, Any]:
        """The service's `save_assessment` arguments."""
        return {
            "achievements": self.achievements,
            "to_improve": self.to_improve,
            "scores": self.scores,
            "submit": self.submit,
        }

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {"achievements": self.achievements, "to_improve": self.to_improve}
        for score in self.scores:
            values[f"rating_{score.objective_id}"] = score.rating
            values[f"comment_{score.objective_id}"] = score.comment
        return values


DIALOGUE_FIELDS = (
    "held_on",
    "achievements",
    "barriers",
    "support_needed",
    "next_objectives",
    "rating",
    "reasons",
)


@dataclass
class DialogueForm:
    """The dialogue record: what was discussed, the rating, and development actions (rows)."""

    fields: dict[str, str]
    actions: list[ActionInput]

    @classmethod
    def from_form(cls, form: Any) -> DialogueForm:
        count = min(id_or_none(form.get("action_rows")) or 0, MAX_ACTION_ROWS)
        actions = [
            ActionInput(
                description=_text(form, f"action_{index}"),
                competency_code=_text(form, f"action_competency_{index}"),
                due_by=_text(form, f"action_due_{index}"),
            )
            for index in range(count)
        ]
        return cls({name: _text(form, name) for name in DIALOGUE_FIELDS}, actions)

    def values(self) -> dict[str, Any]:
        shown = [
            {"description": a.description, "competency": a.competency_code, "due": a.due_by}
            for a in self.actions
        ]
        return {**self.fields, "action_rows": shown}


class SignForm(BaseModel):
    """A signature of the dialogue record; the employee may sign with disagreement."""

    decision: str = "agree"
    disagreement: str = ""


class ReviewForm(BaseModel):
    """The second-level manager's decision on an escalated appraisal."""

    rating: str = ""
    reasons: str = ""


class SendBackForm(BaseModel):
    """HR sends a rated appraisal back in calibration; `next` is the page to return to."""

    reason: str = ""
    next: str = ""


# --- the JSON API ---------------------------------------------------------------------------------


class LocalizedText(BaseModel):
    es: str
    en: str


class RatingOut(BaseModel):
    rating: int
    label: LocalizedText
    descriptor: LocalizedText


class StageCounts(BaseModel):
    unit_id: int | None
    unit: str
    counts: dict[str, int]


class CycleProgressOut(BaseModel):
    cycle_id: int
    name: str
    completed: bool
    total: StageCounts
    units: list[StageCounts]


class DistributionOut(BaseModel):
    key: int | None
    label: str
    n: int
    counts: dict[int, int]
    mean: float | None
    top_share: float | None
    low_share: float | None
    flag: str


class CalibrationOut(BaseModel):
    cycle_id: int | None
    organisation: DistributionOut
    units: list[DistributionOut]
    supervisors: list[DistributionOut]


class AppraisalRecordOut(BaseModel):
    appraisal_id: int
    cycle: str
    period_start: date
    period_end: date
    final_rating: int
    supervisor_rating: int | None
    reviewed: bool
    weighted_score: float | None


class CompetencyRecordOut(BaseModel):
    code: str
    required: int
    current: int | None
    source: str


class PromotionEvidenceOut(BaseModel):
    employee_id: int
    latest_rating: int | None
    mean_rating: float | None
    appraisals: list[AppraisalRecordOut]
    competencies: list[CompetencyRecordOut]


class ObjectiveOut(BaseModel):
    id: int
    title: str
    measure: str
    weight: int
    serves: str
    team: bool


class AppraisalOut(BaseModel):
    id: int
    cycle_id: int
    employee_id: int
    stage: str
    objectives: list[ObjectiveOut]
    self_submitted: bool
    supervisor_submitted: bool
    supervisor_rating: int | None
    final_rating: int | None
    supervisor_signed: bool
    employee_signed: bool
    escalated: bool
    completed: bool


class ObjectiveRatingOut(BaseModel):
    objective_id: int
    rating: int
    comment: str


class AssessmentOut(BaseModel):
    side: str
    submitted: bool
    achievements: str
    to_improve: str
    ratings: list[ObjectiveRatingOut]


# --- 360° and upward feedback -------------------------------------------------------------------


@dataclass
class FeedbackAnswerForm:
    """An answer to a request for feedback: a rating per behaviour and an optional comment."""

    ratings: dict[str, str]
    comment: str

    @classmethod
    def from_form(cls, form: Any, items: list[str]) -> FeedbackAnswerForm:
        return cls(
            ratings={code: _text(form, f"item_{code}") for code in items},
            comment=_text(form, "comment"),
        )

    def arguments(self) -> dict[str, Any]:
        """The service's `answer_feedback` arguments."""
        return {"ratings": self.ratings, "comment": self.comment}

    def values(self) -> dict[str, Any]:
        return {**{f"item_{c}": r for c, r in self.ratings.items()}, "comment": self.comment}


@dataclass
class FeedbackRoundForm:
    """HR switching feedback on for a cycle: the behaviours every answer rates."""

    items: list[str]

    @classmethod
    def from_form(cls, form: Any) -> FeedbackRoundForm:
        return cls(items=[str(v) for v in form.getlist("items")][:50])


class PeerForm(BaseModel):
    """A colleague asked for feedback on an appraisal."""

    peer_id: str = ""


class FeedbackItemOut(BaseModel):
    code: str
    count: int
    mean: float | None
    distribution: dict[int, int]


class FeedbackOut(BaseModel):
    """The pooled feedback on an appraisal (nothing of others' answers below the threshold)."""

    appraisal_id: int
    invited: int
    answered: int
    shown: int
    min_answers: int
    items: list[FeedbackItemOut]
    comments: list[str]
    own: dict[str, int] | None
