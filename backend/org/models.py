"""The organisation: units, positions, employees, reporting lines, qualifications."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from backend import clock
from backend.db import UTCDateTime
from backend.i18n import N_


class UnitKind(StrEnum):
    directorate = "directorate"
    sub_directorate = "sub_directorate"
    delegation = "delegation"
    regional_hospital = "regional_hospital"
    national_medical_centre = "national_medical_centre"
    non_medical_entity = "non_medical_entity"
    procurement_unit = "procurement_unit"
    user_area = "user_area"


UNIT_KIND_LABELS = {
    UnitKind.directorate: N_("Directorate"),
    UnitKind.sub_directorate: N_("Sub-directorate"),
    UnitKind.delegation: N_("Delegation"),
    UnitKind.regional_hospital: N_("Regional hospital"),
    UnitKind.national_medical_centre: N_("National medical centre"),
    UnitKind.non_medical_entity: N_("Non-medical entity"),
    UnitKind.procurement_unit: N_("Procurement unit"),
    UnitKind.user_area: N_("User area"),
}


class JobFamily(StrEnum):
    procurement = "procurement"
    user_area = "user_area"
    other = "other"


JOB_FAMILY_LABELS = {
    JobFamily.procurement: N_("Procurement"),
    JobFamily.user_area: N_("User area"),
    JobFamily.other: N_("Other"),
}


class EmployeeStatus(StrEnum):
    active = "active"
    on_leave = "on_leave"
    left = "left"


EMPLOYEE_STATUS_LABELS = {
    EmployeeStatus.active: N_("Active"),
    EmployeeStatus.on_leave: N_("On leave"),
    EmployeeStatus.left: N_("Left"),
}


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32, index=True)
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    region: str = Field(default="", max_length=80, index=True)
    state: str = Field(default="", max_length=80)
    # Central (headquarters) or decentralised: the review found local units weaker.
    is_central: bool = False


class Position(SQLModel, table=True):
    """A post in a unit. `role_code` names the role profile it follows (e.g. head_of_unit)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    title: str = Field(max_length=200)
    job_family: str = Field(default=JobFamily.procurement, max_length=32, index=True)
    grade: str = Field(default="", max_length=20)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role_code: str = Field(default="", max_length=40, index=True)
    planned_headcount: int = Field(default=1, ge=0)


class Qualification(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name_es: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    # A formal procurement qualification (the NHS dashboard's C8 metric counts these).
    is_procurement: bool = False


# Column sizes of an employee's record, checked by the service and the API so both databases
# refuse the same values.
NUMBER_MAX, FIRST_NAME_MAX, LAST_NAME_MAX, EMAIL_MAX = 20, 100, 150, 254


def person_name(first_name: str, last_name: str) -> str:
    """A person's name as every page shows it (`Employee.full_name`), for reads that fetch the
    two columns without loading the employee."""
    return f"{first_name} {last_name}"


class Employee(SQLModel, table=True):
    # The employee list is ordered by name: this index lets a page of 100,000 people be read
    # without sorting them all. Headcounts per unit and per position count people who have not
    # left: with the status in the index those counts never touch the table.
    __table_args__ = (
        Index("ix_employee_last_name_first_name_id", "last_name", "first_name", "id"),
        Index("ix_employee_unit_id_status", "unit_id", "status"),
        Index("ix_employee_position_id_status", "position_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=NUMBER_MAX, unique=True, index=True)
    first_name: str = Field(max_length=FIRST_NAME_MAX)
    last_name: str = Field(max_length=LAST_NAME_MAX)
    email: str = Field(default="", max_length=EMAIL_MAX, index=True)
    unit_id: int = Field(foreign_key="unit.id")
    position_id: int | None = Field(default=None, foreign_key="position.id")
    supervisor_id: int | None = Field(default=None, foreign_key="employee.id", index=True)
    hire_date: date
    birth_date: date | None = None
    status: str = Field(default=EmployeeStatus.active, max_length=16, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)

    @property
    def full_name(self) -> str:
        return person_name(self.first_name, self.last_name)


class EmployeeQualification(SQLModel, table=True):
    __tablename__ = "employee_qualification"

    employee_id: int = Field(foreign_key="employee.id", primary_key=True, ondelete="CASCADE")
    # Indexed on its own too: "who holds this qualification" is asked by the C8 metric.
    qualification_id: int = Field(foreign_key="qualification.id", primary_key=True, index=True)
    # The day the qualification stops being valid (None: it never expires). The C8 metric
    # counts only valid ones; holders and HR are told 90, 30 and 0 days before (training's
    # daily job).
    expires_on: date | None = None


class EmployeeStatusChange(SQLModel, table=True):
    """Status history, for turnover: one row each time an employee's status changes."""

    __tablename__ = "employee_status_change"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id", index=True, ondelete="CASCADE")
    status: str = Field(max_length=16)
    effective_on: date
    recorded_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class ImportMapping(SQLModel, table=True):
    """A named, confirmed way of reading an HR system's export (the roster import's mapping).

    `columns` is JSON: {header as written in the file: field, or "" for an ignored column};
    `matches` remembers the close unit and position matches someone confirmed, as JSON
    {"unit_code" | "position_code": {value as written: code}}, so the next file is exact.
    """

    __tablename__ = "import_mapping"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    columns: str = Field(sa_type=Text)
    name_rule: str = Field(default="given_first", max_length=24)
    matches: str = Field(default="{}", sa_type=Text)
    updated_by: str = Field(default="", max_length=254)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


IMPORT_RUN_STATES = {
    "mapping": N_("Waiting for its mapping"),
    "checking": N_("Being checked"),
    "checked": N_("Checked, not imported"),
    "importing": N_("Being imported"),
    "imported": N_("Imported"),
    "failed": N_("Could not be processed"),
}


class ImportRun(SQLModel, table=True):
    """One uploaded roster file on its way through mapping, check and import (in the background).

    The file itself is kept only until it is imported or abandoned; what the check found (its
    problems with the original rows, the list of changes) is kept as gzip-compressed JSON so the
    downloads do not need the file again.
    """

    __tablename__ = "import_run"

    id: int | None = Field(default=None, primary_key=True)
    created_by_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    filename: str = Field(default="", max_length=255)
    sha256: str = Field(max_length=64)
    size: int = 0
    # mapping | checking | checked | importing | imported | failed
    state: str = Field(default="mapping", max_length=16)
    phase: str = Field(default="", max_length=16)
    locale: str = Field(default="es", max_length=8)
    total_rows: int = 0
    done_rows: int = 0
    mapping: str = Field(default="{}", sa_type=Text)
    mapping_name: str = Field(default="", max_length=80)
    summary: str = Field(default="{}", sa_type=Text)
    error: str = Field(default="", sa_type=Text)
    content: bytes | None = Field(default=None, sa_type=LargeBinary)
    report: bytes | None = Field(default=None, sa_type=LargeBinary)
    changes: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
