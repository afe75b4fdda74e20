"""What the competency pages and the JSON API take in and give out.

Forms are parsed here, at the edge (`*.from_form`): a route turns the posted form into one of
these models and hands the service typed values; when the service refuses them the same model
gives back what was typed (`form_values`) to show the form again. The `*Out` models are the
JSON API's answers (`/api/v1/framework`, `/api/v1/competencies/...`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from backend.deps import form_ids, id_or_none


def _text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name, "") or "")


class LocalizedText(BaseModel):
    es: str
    en: str


class LevelOut(BaseModel):
    level: int
    code: str
    name: LocalizedText
    description: LocalizedText


class DescriptorOut(BaseModel):
    level: int
    text: LocalizedText


class CompetencyOut(BaseModel):
    code: str
    order: int
    group: str
    name: LocalizedText
    description: LocalizedText
    levels: list[DescriptorOut]


class FrameworkOut(BaseModel):
    version: str | None
    proficient_level: int
    scale: list[LevelOut]
    competencies: list[CompetencyOut]


class RequirementRowOut(BaseModel):
    competency: str
    required: int
    importance: str
    current: int | None
    source: str
    gap: int
    critical: bool
    met: bool
    awaiting_validation: int | None


class PersonProfileOut(BaseModel):
    employee_id: int
    number: str
    name: str
    unit: str | None
    position: str | None
    profile: str | None
    profile_version: int | None
    required_n: int
    met_n: int
    coverage: float | None
    mean_gap: float | None
    critical_n: int
    competencies: list[RequirementRowOut]


class SelfRatingIn(BaseModel):
    level: int | str | None = None
    note: str = ""
    evidence_url: str = ""


class SelfAssessmentIn(BaseModel):
    ratings: dict[str, SelfRatingIn] = Field(default_factory=dict)


class EntryOut(BaseModel):
    id: int
    competency: str
    level: int
    source: str
    validated: bool
    review_of_id: int | None
    recorded_at: str
    recorded_by_id: int | None
    note: str
    evidence_url: str


class RatingIn(BaseModel):
    competency: str
    level: int | str
    source: str
    note: str = ""
    evidence_url: str = ""


class QueueItemOut(BaseModel):
    employee_id: int
    name: str
    pending: int
    oldest: str


class DecisionIn(BaseModel):
    entry_id: int
    level: int | str
    reason: str = ""


class ValidationIn(BaseModel):
    decisions: list[DecisionIn]


class RequirementOut(BaseModel):
    competency: str
    level: int
    importance: str


class ProfileOut(BaseModel):
    id: int
    key: str
    role_code: str
    position_id: int | None
    title: str
    version: int
    requirements: list[RequirementOut]


class RequirementIn(BaseModel):
    level: int | str
    importance: str


class ProfileIn(BaseModel):
    requirements: dict[str, RequirementIn]
    reason: str = ""


class OverrideIn(BaseModel):
    position_id: int
    reason: str = ""


class UnitProgressOut(BaseModel):
    unit_id: int | None
    unit: str
    people: int
    not_started: int
    in_progress: int
    self_done: int
    awaiting_validation: int
    validated: int


class CampaignOut(BaseModel):
    id: int
    name: str
    deadline: date
    opened_at: str
    closed_at: str | None
    scope: dict
    total: UnitProgressOut | None = None
    units: list[UnitProgressOut] | None = None


class UnitPlanOut(BaseModel):
    unit_id: int
    code: str
    name: str
    region: str
    central: bool
    planned: int
    actual: int
    open_posts: int
    leavers_by_year: dict[int, int]
    turnover_12m: float | None
    eligible_to_retire: int
    procurement_staff: int
    procurement_qualified_share: float | None
    competency_coverage: float | None
    critical_gaps: int
    single_points_of_failure: int
    shortfall: str


class WorkforceOut(BaseModel):
    retirement_rule: dict[str, int]
    horizon_years: int
    units: list[UnitPlanOut]


class PositionPlanOut(BaseModel):
    position_id: int
    code: str
    title: str
    role_code: str
    planned: int
    actual: int
    open_posts: int


class UnitWorkforceOut(UnitPlanOut):
    """One unit's plan with the breakdown by position (the unit's workforce page)."""

    retirement_rule: dict[str, int]
    horizon_years: int
    positions: list[PositionPlanOut]


class CellOut(BaseModel):
    competency: str
    people: float | None
    required_n: float | None
    met_n: float | None
    coverage: float | None
    mean_gap: float | None
    critical_n: float | None
    bench_n: float | None
    single_points_of_failure: float | None
    suppressed: bool


class RowOut(BaseModel):
    key: str
    label: str
    people: float | None
    total: CellOut
    cells: list[CellOut]


class ProfileUseOut(BaseModel):
    key: str
    title: str
    version: int


class BasisOut(BaseModel):
    ratings_revision: int
    profiles_revision: int
    computed_at: str
    people_without_profile: int
    profiles: list[ProfileUseOut]


class HeatmapOut(BaseModel):
    group_by: str
    filters: dict[str, Any]
    suppression_threshold: int | None
    total: RowOut
    rows: list[RowOut]
    basis: BasisOut


class UnitPersonOut(BaseModel):
    employee_id: int
    number: str
    name: str
    position: str
    gaps: dict[str, int | None]
    required_n: int
    met_n: int
    critical_n: int


class TrendPointOut(BaseModel):
    month: str
    required_n: int
    met_n: float | None
    coverage: float | None
    mean_gap: float | None
    critical_n: float | None
    suppressed: bool


class AttentionItemOut(BaseModel):
    unit_id: int
    unit: str
    region: str
    competency: str
    required_n: float | None
    met_n: float | None
    critical_n: float | None
    essential_n: float | None
    essential_met_n: float | None
    coverage: float | None


class AttentionOut(BaseModel):
    critical: list[AttentionItemOut]
    single_points_of_failure: list[AttentionItemOut]
    basis: BasisOut


# --- forms --------------------------------------------------------------------------------------


class SelfAssessmentForm(SelfAssessmentIn):
    """The self-assessment form: `level_<code>`, `note_<code>`, `evidence_<code>` per competency."""

    @classmethod
    def from_form(cls, form: Mapping[str, Any], codes: Iterable[str]) -> SelfAssessmentForm:
        return cls(
            ratings={
                code: SelfRatingIn(
                    level=_text(form, f"level_{code}"),
                    note=_text(form, f"note_{code}"),
                    evidence_url=_text(form, f"evidence_{code}"),
                )
                for code in codes
            }
        )

    def form_values(self) -> dict[str, dict[str, Any]]:
        return {
            code: {"level": a.level, "note": a.note, "evidence_url": a.evidence_url}
            for code, a in self.ratings.items()
        }


class RatingForm(BaseModel):
    """A rating a supervisor or HR records on a person's page."""

    competency: str = ""
    level: str = ""
    source: str = ""
    note: str = ""
    evidence_url: str = ""


class ValidationForm(BaseModel):
    """The validation form: per pending entry, agree (the self-rated level) or another level.

    Fields `decision_<entry id>` ("agree" or "change"), `self_<id>`, `level_<id>`, `reason_<id>`.
    """

    decisions: list[DecisionIn] = Field(default_factory=list)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> ValidationForm:
        decisions: list[DecisionIn] = []
        values: dict[str, dict[str, str]] = {}
        for key in form:
            entry_id = key.removeprefix("decision_")
            if not key.startswith("decision_") or id_or_none(entry_id) is None:
                continue
            choice = str(form.get(key, "agree"))
            field = f"self_{entry_id}" if choice == "agree" else f"level_{entry_id}"
            level, reason = _text(form, field), _text(form, f"reason_{entry_id}")
            values[entry_id] = {"choice": choice, "level": level, "reason": reason}
            decisions.append(DecisionIn(entry_id=int(entry_id), level=level, reason=reason))
        return cls(decisions=decisions, values=values)


class ProfileForm(BaseModel):
    """A role profile's requirements as edited: `level_<code>` and `importance_<code>`."""

    requirements: dict[str, tuple[str, str]]
    reason: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any], codes: Iterable[str]) -> ProfileForm:
        return cls(
            requirements={
                code: (_text(form, f"level_{code}"), _text(form, f"importance_{code}"))
                for code in codes
            },
            reason=_text(form, "reason"),
        )

    def form_values(self) -> dict[str, dict[str, str]]:
        return {
            code: {"level": level, "importance": importance}
            for code, (level, importance) in self.requirements.items()
        }


class CampaignForm(BaseModel):
    """A new assessment campaign: name, deadline, units and roles in scope."""

    name: str = ""
    deadline: str = ""
    units: list[int] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)
    subunits: bool = False

    @classmethod
    def from_form(cls, form: Any) -> CampaignForm:
        """Parse the posted form (`units` and `roles` are multiple choices)."""
        return cls(
            name=_text(form, "name"),
            deadline=_text(form, "deadline"),
            units=form_ids(form.getlist("units"), field="units"),
            roles=[str(r) for r in form.getlist("roles") if r],
            subunits=form.get("subunits") == "1",
        )

    def form_values(self) -> dict[str, Any]:
        return self.model_dump()
