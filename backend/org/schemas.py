"""What the organisation's services take and its API answers: typed inputs and outputs.

Routes parse what was typed (a form, a JSON body, a spreadsheet row) into these, and the
services work with typed values only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from backend.deps import FieldError, form_int, id_or_none
from backend.org.models import (
    EMAIL_MAX,
    FIRST_NAME_MAX,
    LAST_NAME_MAX,
    NUMBER_MAX,
    EmployeeStatus,
    JobFamily,
    UnitKind,
)


@dataclass
class EmployeeInput:
    """What a form, the API or an import row gives to create or update an employee."""

    number: str
    first_name: str
    last_name: str
    email: str
    unit_id: int
    hire_date: date
    position_id: int | None = None
    supervisor_id: int | None = None
    birth_date: date | None = None
    status: str = EmployeeStatus.active
    qualification_codes: tuple[str, ...] = ()


# --- forms: what the organisation's pages post, parsed at the edge ---------------------------


class OrgForm(BaseModel):
    """A form's values as typed (trimmed text): shown again as they were when refused."""

    model_config = ConfigDict(frozen=True)

    @classmethod
    def parse(cls, form: Mapping[str, Any]) -> Self:
        """Return the form's fields, each trimmed; a missing field is empty."""
        return cls(**{name: str(form.get(name, "")).strip() for name in cls.model_fields})


class UnitForm(OrgForm):
    code: str = ""
    name: str = ""
    kind: str = ""
    parent_id: str = ""
    region: str = ""
    state: str = ""
    scope: str = ""  # "central" | "decentralised" | "auto" (from the kind)

    def parent(self) -> int | None:
        """The parent unit's id, None when none is chosen or it is not an id."""
        return id_or_none(self.parent_id)

    def is_central(self) -> bool | None:
        return {"central": True, "decentralised": False}.get(self.scope)


class PositionForm(OrgForm):
    code: str = ""
    title: str = ""
    job_family: str = ""
    grade: str = ""
    unit_id: str = ""
    role_code: str = ""
    planned_headcount: str = ""

    def unit(self) -> int | None:
        return id_or_none(self.unit_id)

    def headcount(self, problems: dict[str, str]) -> int:
        """The planned headcount; a problem is added (by the field) when it is not one."""
        try:
            return form_int(self.planned_headcount, field="planned_headcount", required=True) or 0
        except FieldError as err:
            problems[err.field] = err.message
            return 0


EMPLOYEE_FORM_FIELDS = (
    "number",
    "first_name",
    "last_name",
    "email",
    "unit_id",
    "position_code",
    "supervisor_number",
    "hire_date",
    "birth_date",
    "status",
    "effective_on",
)


class EmployeeForm(OrgForm):
    number: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    unit_id: str = ""
    position_code: str = ""
    supervisor_number: str = ""
    hire_date: str = ""
    birth_date: str = ""
    status: str = ""
    effective_on: str = ""
    qualifications: tuple[str, ...] = ()

    @classmethod
    def parse(cls, form: Any) -> Self:
        values: dict[str, Any] = {
            name: str(form.get(name, "")).strip() for name in EMPLOYEE_FORM_FIELDS
        }
        return cls(**values, qualifications=tuple(str(q) for q in form.getlist("qualifications")))

    def unit(self) -> int | None:
        return id_or_none(self.unit_id)

    def values(self) -> dict[str, Any]:
        """The values as the form template shows them."""
        return {**self.model_dump(), "qualifications": list(self.qualifications)}


class QualificationForm(OrgForm):
    code: str = ""
    name_es: str = ""
    name_en: str = ""
    is_procurement: bool = False

    @classmethod
    def parse(cls, form: Mapping[str, Any]) -> Self:
        text = {name: str(form.get(name, "")).strip() for name in ("code", "name_es", "name_en")}
        return cls(**text, is_procurement=form.get("is_procurement") == "1")


# --- the JSON API: what it answers and what it takes ----------------------------------------------


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    fields: list[FieldProblem] | None = None


class ErrorOut(BaseModel):
    """Every API error has this shape."""

    error: ErrorBody


ERRORS = {
    401: {"model": ErrorOut, "description": "Not signed in"},
    403: {"model": ErrorOut, "description": "Not allowed"},
}
NOT_FOUND = {404: {"model": ErrorOut, "description": "No such record"}}
INVALID = {422: {"model": ErrorOut, "description": "Invalid values, listed in `fields`"}}
CONFLICT = {409: {"model": ErrorOut, "description": "The employee number is taken"}}


class UnitOut(BaseModel):
    id: int
    code: str
    name: str
    kind: UnitKind
    parent_id: int | None
    region: str
    state: str
    is_central: bool


class PositionOut(BaseModel):
    id: int
    code: str
    title: str
    job_family: JobFamily
    grade: str
    unit_id: int
    unit_code: str
    role_code: str
    planned_headcount: int
    occupants: int = Field(description="People in the position who have not left")


class UnitDetailOut(UnitOut):
    sub_units: list[UnitOut]
    positions: list[PositionOut]
    employees: int = Field(description="People in this unit (not sub-units) who have not left")
    planned_headcount: int


class EmployeeOut(BaseModel):
    id: int
    number: str
    first_name: str
    last_name: str
    email: str
    unit_id: int
    unit_code: str
    position_id: int | None
    position_code: str | None
    supervisor_id: int | None
    supervisor_number: str | None
    hire_date: date
    birth_date: date | None
    status: EmployeeStatus
    qualifications: list[str]
    updated_at: datetime


class EmployeePage(BaseModel):
    items: list[EmployeeOut]
    total: int
    page: int
    per_page: int
    pages: int


class QualificationOut(BaseModel):
    id: int
    code: str
    name_es: str
    name_en: str
    is_procurement: bool
    holders: int = Field(description="People holding it who have not left")


class EmployeeCreate(BaseModel):
    """A new employee. Unit, position and supervisor are given by code and number."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=NUMBER_MAX)
    first_name: str = Field(min_length=1, max_length=FIRST_NAME_MAX)
    last_name: str = Field(min_length=1, max_length=LAST_NAME_MAX)
    email: str = Field(default="", max_length=EMAIL_MAX)
    unit_code: str = Field(min_length=1, max_length=32)
    position_code: str | None = Field(default=None, max_length=40)
    supervisor_number: str | None = Field(default=None, max_length=NUMBER_MAX)
    hire_date: date
    birth_date: date | None = None
    status: EmployeeStatus = EmployeeStatus.active
    qualifications: list[str] = Field(default_factory=list)


class EmployeeUpdate(BaseModel):
    """Changes to an employee: only the fields sent change. `null` clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    number: str | None = Field(default=None, min_length=1, max_length=NUMBER_MAX)
    first_name: str | None = Field(default=None, min_length=1, max_length=FIRST_NAME_MAX)
    last_name: str | None = Field(default=None, min_length=1, max_length=LAST_NAME_MAX)
    email: str | None = Field(default=None, max_length=EMAIL_MAX)
    unit_code: str | None = Field(default=None, min_length=1, max_length=32)
    position_code: str | None = Field(default=None, max_length=40)
    supervisor_number: str | None = Field(default=None, max_length=NUMBER_MAX)
    hire_date: date | None = None
    birth_date: date | None = None
    status: EmployeeStatus | None = None
    qualifications: list[str] | None = None
    effective_on: date | None = Field(
        default=None, description="When a status change takes effect (default: today)"
    )
