"""The training domain's inputs and outputs: what a form or an API body holds once parsed at the
edge (the routes parse, the services take these), and the JSON API's answers.

Values whose checks need the catalogue or give a translated message by field (levels, costs,
hours) stay text here and are checked by the service (`check_activity`, `add_session`), which
reports every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.datastructures import FormData, UploadFile

from competency_framework.training.models import Audience, EvidenceRule

# --- what the services take -------------------------------------------------------------------


@dataclass
class TargetInput:
    """A level an activity raises a competency from and to, as entered."""

    competency: str
    from_level: Any
    to_level: Any


@dataclass
class ActivityInput:
    """What HR enters (form, import or data file) for one activity, unchecked."""

    code: str
    title_es: str
    title_en: str
    modality: str
    description_es: str = ""
    description_en: str = ""
    provider: str = ""
    hours: Any = 0
    cost: Any = 0
    capacity: Any = 0
    audience: list[str] = field(default_factory=lambda: [Audience.procurement_staff.value])
    evidence: str = EvidenceRule.none.value
    pass_score: Any = None
    is_induction: bool = False
    is_active: bool = True
    targets: list[TargetInput] = field(default_factory=list)


@dataclass
class Certificate:
    """An uploaded certificate, unchecked."""

    filename: str
    content_type: str
    data: bytes


# --- forms ------------------------------------------------------------------------------------

ACTIVITY_TEXT_FIELDS = (
    "code",
    "title_es",
    "title_en",
    "modality",
    "description_es",
    "description_en",
    "provider",
    "hours",
    "cost",
    "capacity",
    "pass_score",
)


@dataclass
class ActivityForm:
    """HR's activity form: the activity as entered and the values to show again."""

    data: ActivityInput
    values: dict[str, Any]

    @classmethod
    def parse(cls, form: FormData, competency_codes: list[str]) -> ActivityForm:
        values: dict[str, Any] = {k: str(form.get(k, "")) for k in form if k != "csrf_token"}
        values["audience"] = [str(a) for a in form.getlist("audience")]
        values["is_induction"] = form.get("is_induction") == "on"
        values["is_active"] = form.get("is_active") == "on"
        targets = []
        for code in competency_codes:
            low = str(form.get(f"from_{code}", "")).strip()
            high = str(form.get(f"to_{code}", "")).strip()
            if low or high:
                targets.append(TargetInput(code, low, high))
        text = {name: values.get(name, "") for name in ACTIVITY_TEXT_FIELDS}
        data = ActivityInput(
            **text,
            audience=values["audience"],
            evidence=values.get("evidence", "none"),
            is_induction=values["is_induction"],
            is_active=values["is_active"],
            targets=targets,
        )
        return cls(data, values)


@dataclass
class CompletionForm:
    """The completion form: a score, a note and perhaps a certificate file."""

    score: str
    note: str
    upload: UploadFile | None
    file: Certificate | None = None  # the upload, once read (`certificate()`)
    expires_on: str = ""  # the day the certificate stops being valid ("": never)

    @classmethod
    def parse(cls, form: FormData) -> CompletionForm:
        upload = form.get("certificate")
        return cls(
            score=str(form.get("score", "")),
            note=str(form.get("note", "")),
            upload=upload if isinstance(upload, UploadFile) else None,
            expires_on=str(form.get("certificate_expires_on", "")).strip()[:20],
        )

    async def certificate(self) -> Certificate | None:
        """Read the uploaded file (None when no file, or an empty one, was sent)."""
        if self.upload is None:
            return None
        data = await self.upload.read()
        if not data:
            return None
        return Certificate(self.upload.filename or "", self.upload.content_type or "", data)


# --- the JSON API -----------------------------------------------------------------------------


class ActivityIn(BaseModel):
    """An activity posted to the API (checked by the service, every problem by field)."""

    code: Any = ""
    title: dict[str, Any] = {}
    modality: Any = ""
    provider: Any = ""
    hours: Any = 0
    cost: Any = 0
    capacity: Any = 0
    audience: list[Any] = []
    evidence: Any = "none"
    pass_score: Any = None
    targets: dict[str, list[Any]] = {}

    def to_input(self) -> ActivityInput:
        title = self.title or {}
        return ActivityInput(
            code=str(self.code or ""),
            title_es=str(title.get("es", "")),
            title_en=str(title.get("en", "")),
            modality=str(self.modality or ""),
            provider=str(self.provider or ""),
            hours=self.hours,
            cost=self.cost,
            capacity=self.capacity,
            audience=list(self.audience or []),
            evidence=str(self.evidence or "none"),
            pass_score=self.pass_score,
            targets=[
                TargetInput(code, *([*list(levels), "", ""])[:2])
                for code, levels in (self.targets or {}).items()
            ],
        )


class TargetOut(BaseModel):
    competency: str
    from_level: int
    to_level: int


class SessionOut(BaseModel):
    id: int
    starts_at: str
    ends_at: str
    place: str
    capacity: int
    enrolled: int
    waiting: int
    cancelled: bool


class ActivityOut(BaseModel):
    code: str
    title: dict[str, str]
    modality: str
    provider: str
    hours: float
    cost: int
    capacity: int
    audience: list[str]
    evidence: str
    pass_score: int | None
    induction: bool
    active: bool
    targets: list[TargetOut]
    sessions: list[SessionOut] | None = None


class PlanItemOut(BaseModel):
    id: int
    activity: str | None
    competency: str | None
    origin: str
    status: str
    priority: int
    gap: int
    current_level: int | None
    target_level: int | None
    cost: int
    description: str
    enrolment_status: str | None


class PlanOut(BaseModel):
    employee_id: int
    year: int
    status: str | None
    items: list[PlanItemOut]
    pending_cost: int
    approved_cost: int
    unit_budget: int | None
    unit_committed: int
    over_budget: bool


class ActivityNeedOut(BaseModel):
    rank: int
    activity: str
    people: int
    needs: int
    critical: int
    closes: int
    cost: int
    sessions: int | None
    funded: bool
    cumulative_cost: int
    cumulative_share: float
    by_region: dict[str, int]


class NeedsOut(BaseModel):
    year: int
    region: str
    people: int
    needs: int
    critical: int
    budget: int
    funded_cost: int
    funded_share: float
    activities: list[ActivityNeedOut]
    uncovered: dict[str, int]
