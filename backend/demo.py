"""A deterministic synthetic organisation shaped like ISSSTE, and one demo account per role.

The shape follows the OECD review of ISSSTE's public procurement (2013): a strong centre (the
Administration Directorate and its procurement sub-directorates), 35 delegations, 12 regional
hospitals, the National Medical Centre "20 de Noviembre" and four non-medical entities
(SuperISSSTE, TURISSSTE, FOVISSSTE, PENSIONISSSTE), giving about 100 procurement units, plus the
user areas (medical services, pharmacies, maintenance…) that ask them for goods and services.
The people in it are invented: Mexican names, hire dates over 30 years, some near retirement,
some on leave, some gone (with status history, so turnover can be computed), fewer procurement
qualifications in the decentralised units than at the centre (as the review found), and posts
planned above their occupancy in some units (the shortfalls workforce planning should show).
In the same transaction, competency_framework.demo gives them eighteen months of competency
ratings and two assessment campaigns (one still open), so gap reports have something to show.

Same `employees` and `seed`, same organisation: every random draw comes from one
`random.Random(seed)`, in a fixed order (the ratings from their own stream of the same seed),
and every date is relative to `AS_OF`, never today.

Rows are written with SQLAlchemy Core in batches, not as one ORM object (and one audit entry)
per row, so that 100 000 employees take seconds, not minutes; see `generate`.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate

from sqlalchemy import exists, func, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from backend import audit
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.config import Settings
from backend.demo_names import FEMALE_NAMES, MALE_NAMES, SURNAMES
from backend.org import service as org_service
from backend.org.models import (
    Employee,
    EmployeeQualification,
    EmployeeStatus,
    EmployeeStatusChange,
    JobFamily,
    Position,
    Qualification,
    Unit,
    UnitKind,
)
from competency_framework import demo as competency_demo

# The demo's "today": every date is computed from it, so the output does not depend on the day
# it is generated.
AS_OF = date(2026, 10, 1)
DEFAULT_EMPLOYEES = 600
MAX_EMPLOYEES = 1_000_000
EMAIL_DOMAIN = "demo.merito.mx"
# Share of the generated employees who have already left (history for turnover figures).
LEFT_SHARE = 0.07
# Rows per INSERT batch: large enough to amortise round trips, small enough to bound memory.
BATCH_SIZE = 5000


class DemoError(RuntimeError):
    """The demo cannot be created here (message for the operator, in English)."""


@dataclass(frozen=True)
class DemoSummary:
    """What `generate` created."""

    units: int
    positions: int
    employees: int
    procurement_units: int
    qualifications: int
    seed: int
    as_of: date = AS_OF
    rating_entries: int = 0
    people_rated: int = 0
    campaigns: int = 0


@dataclass(frozen=True)
class DemoAccount:
    """A demo sign-in: role, email and its fixed, development-only password."""

    role: str
    email: str
    password: str
    full_name: str
    employee_id: int | None = None


# --- the shape of the institute ----------------------------------------------------------------

NOROESTE, NORESTE, OCCIDENTE, CENTRO, SUR, SURESTE = (
    "Noroeste",
    "Noreste",
    "Occidente",
    "Centro",
    "Sur",
    "Sureste",
)
CDMX = "Ciudad de México"

# (code, state, region, relative size of the delegation)
STATES: list[tuple[str, str, str, float]] = [
    ("AGS", "Aguascalientes", OCCIDENTE, 0.7),
    ("BC", "Baja California", NOROESTE, 1.1),
    ("BCS", "Baja California Sur", NOROESTE, 0.5),
    ("CAM", "Campeche", SURESTE, 0.6),
    ("CHIS", "Chiapas", SUR, 1.4),
    ("CHIH", "Chihuahua", NOROESTE, 1.2),
    ("COAH", "Coahuila", NORESTE, 1.1),
    ("COL", "Colima", OCCIDENTE, 0.5),
    ("DGO", "Durango", NOROESTE, 0.9),
    ("GTO", "Guanajuato", OCCIDENTE, 1.4),
    ("GRO", "Guerrero", SUR, 1.3),
    ("HGO", "Hidalgo", CENTRO, 1.0),
    ("JAL", "Jalisco", OCCIDENTE, 1.8),
    ("MEX", "Estado de México", CENTRO, 2.2),
    ("MICH", "Michoacán", OCCIDENTE, 1.4),
    ("MOR", "Morelos", CENTRO, 0.9),
    ("NAY", "Nayarit", OCCIDENTE, 0.7),
    ("NL", "Nuevo León", NORESTE, 1.6),
    ("OAX", "Oaxaca", SUR, 1.4),
    ("PUE", "Puebla", CENTRO, 1.5),
    ("QRO", "Querétaro", CENTRO, 0.8),
    ("QROO", "Quintana Roo", SURESTE, 0.7),
    ("SLP", "San Luis Potosí", NORESTE, 1.0),
    ("SIN", "Sinaloa", NOROESTE, 1.1),
    ("SON", "Sonora", NOROESTE, 1.1),
    ("TAB", "Tabasco", SURESTE, 1.0),
    ("TAMPS", "Tamaulipas", NORESTE, 1.2),
    ("TLAX", "Tlaxcala", CENTRO, 0.6),
    ("VER", "Veracruz", SURESTE, 1.8),
    ("YUC", "Yucatán", SURESTE, 0.9),
    ("ZAC", "Zacatecas", OCCIDENTE, 0.8),
]
REGION_OF_STATE = {state: region for _c, state, region, _s in STATES} | {CDMX: CENTRO}
# Mexico City is served by four regional delegations: 31 state + 4 = the review's 35.
CDMX_ZONES: list[tuple[str, str]] = [
    ("NTE", "Zona Norte"),
    ("SUR", "Zona Sur"),
    ("OTE", "Zona Oriente"),
    ("PTE", "Zona Poniente"),
]
CDMX_ZONE_SIZE = 2.0
# Delegations at least this large have a second procurement unit for medical supplies.
LARGE_DELEGATION = 1.4

# (code, name, short name, state, size)
REGIONAL_HOSPITALS: list[tuple[str, str, str, str, float]] = [
    ("HR-1OCT", "Hospital Regional “1° de Octubre”", "HR 1° de Octubre", CDMX, 1.6),
    (
        "HR-ALM",
        "Hospital Regional “Lic. Adolfo López Mateos”",
        "HR Adolfo López Mateos",
        CDMX,
        1.6,
    ),
    (
        "HR-GIZ",
        "Hospital Regional “General Ignacio Zaragoza”",
        "HR Ignacio Zaragoza",
        CDMX,
        1.5,
    ),
    ("HR-LEON", "Hospital Regional León", "HR León", "Guanajuato", 1.2),
    ("HR-MTY", "Hospital Regional Monterrey", "HR Monterrey", "Nuevo León", 1.3),
    ("HR-PUE", "Hospital Regional Puebla", "HR Puebla", "Puebla", 1.2),
    ("HR-VER", "Hospital Regional Veracruz", "HR Veracruz", "Veracruz", 1.1),
    ("HR-MER", "Hospital Regional Mérida", "HR Mérida", "Yucatán", 1.1),
    ("HR-CLN", "Hospital Regional Culiacán", "HR Culiacán", "Sinaloa", 1.0),
    ("HR-MOR", "Hospital Regional Morelia", "HR Morelia", "Michoacán", 1.0),
    (
        "HR-VGF",
        "Hospital Regional “Valentín Gómez Farías”",
        "HR Valentín Gómez Farías",
        "Jalisco",
        1.3,
    ),
    ("HR-OAX", "Hospital Regional “Presidente Juárez”", "HR Presidente Juárez", "Oaxaca", 1.0),
]

# The Administration Directorate's four procurement sub-directorates. The review places about
# 100 procurement units "in 4 sub-directorates at the central level", local units and entities,
# names the Subdirección de Abasto de Insumos Médicos, and gives the Directorate the purchase of
# medicines, medical supplies and equipment, conservation and maintenance services and public
# works, and the annual procurement plan (with the Programming and Budget area moved into it).
# (code, name, [central departments])
PROCUREMENT_SUB_DIRECTORATES: list[tuple[str, str, list[str]]] = [
    (
        "DA-SAIM",
        "Subdirección de Abasto de Insumos Médicos",
        [
            "Departamento de Adquisición de Medicamentos",
            "Departamento de Adquisición de Material de Curación",
            "Departamento de Adquisición de Material Radiológico y de Laboratorio",
            "Departamento de Compras Consolidadas de Insumos Médicos",
            "Departamento de Investigación de Mercado de Insumos Médicos",
            "Departamento de Control de Abasto",
        ],
    ),
    (
        "DA-SABCI",
        "Subdirección de Adquisición de Bienes de Consumo e Inversión",
        [
            "Departamento de Adquisición de Equipo Médico",
            "Departamento de Adquisición de Bienes de Consumo",
            "Departamento de Adquisición de Bienes de Inversión",
            "Departamento de Contratación de Servicios Generales",
            "Departamento de Procedimientos de Licitación",
        ],
    ),
    (
        "DA-SCM",
        "Subdirección de Conservación y Mantenimiento",
        [
            "Departamento de Contratación de Mantenimiento de Equipo Médico",
            "Departamento de Contratación de Conservación de Inmuebles",
            "Departamento de Contratación de Obra Pública",
            "Departamento de Supervisión de Contratos de Mantenimiento",
        ],
    ),
    (
        "DA-SPPA",
        "Subdirección de Programación y Planeación de Adquisiciones",
        [
            "Departamento del Programa Anual de Adquisiciones",
            "Departamento de Programación y Presupuesto de Adquisiciones",
            "Departamento de Información y Estadística de Compras",
            "Departamento de Normatividad de Adquisiciones",
        ],
    ),
]
# Which central sub-director coordinates each line of local procurement units: their heads
# report to that sub-director (the functional line the review describes), not to the delegate.
LINE_COORDINATOR = {"ADQ": "DA-SABCI", "ABA": "DA-SAIM", "CYM": "DA-SCM"}
LOCAL_PROCUREMENT_UNITS = {
    "ADQ": "Departamento de Adquisiciones",
    "ABA": "Departamento de Abasto de Insumos Médicos",
    "CYM": "Departamento de Contratación de Conservación y Mantenimiento",
}

# (suffix, name, kind of area, title of its head)
DELEGATION_AREAS = [
    ("SMED", "Subdelegación Médica", "medical", "Subdelegado(a) médico(a)"),
    (
        "ALM",
        "Almacén Delegacional de Insumos Médicos",
        "pharmacy",
        "Jefe(a) del Almacén Delegacional",
    ),
]
HOSPITAL_AREAS = [
    ("SMED", "Subdirección Médica", "medical", "Subdirector(a) médico(a)"),
    ("FAR", "Servicio de Farmacia", "pharmacy", "Jefe(a) del Servicio de Farmacia"),
    (
        "IBM",
        "Departamento de Ingeniería Biomédica y Mantenimiento",
        "maintenance",
        "Jefe(a) de Ingeniería Biomédica y Mantenimiento",
    ),
]
CMN_AREAS = [
    *HOSPITAL_AREAS,
    ("LAB", "Laboratorio Clínico", "laboratory", "Jefe(a) del Laboratorio Clínico"),
]

# (code, name, short name, head title, size, [(suffix, procurement unit)], (suffix, area, kind,
# head title))
NON_MEDICAL_ENTITIES = [
    (
        "SUPERISSSTE",
        "Sistema Integral de Tiendas y Farmacias (SuperISSSTE)",
        "SuperISSSTE",
        "Director(a) de SuperISSSTE",
        1.5,
        [
            ("ADQ", "Departamento de Adquisición de Mercancías"),
            ("SERV", "Departamento de Adquisición de Bienes y Servicios"),
        ],
        ("UA", "Gerencia de Tiendas y Farmacias", "commerce", "Gerente de Tiendas y Farmacias"),
    ),
    (
        "TURISSSTE",
        "Sistema de Agencias Turísticas (TURISSSTE)",
        "TURISSSTE",
        "Director(a) de TURISSSTE",
        0.7,
        [("ADQ", "Departamento de Adquisiciones")],
        (
            "UA",
            "Gerencia de Operación Turística",
            "tourism",
            "Gerente de Operación Turística",
        ),
    ),
    (
        "FOVISSSTE",
        "Fondo de la Vivienda del ISSSTE (FOVISSSTE)",
        "FOVISSSTE",
        "Vocal Ejecutivo(a) del FOVISSSTE",
        1.0,
        [
            ("ADQ", "Departamento de Adquisiciones"),
            ("SERV", "Departamento de Contratación de Servicios"),
        ],
        ("UA", "Subdirección de Crédito", "housing", "Subdirector(a) de Crédito"),
    ),
    (
        "PENSIONISSSTE",
        "Fondo Nacional de Pensiones (PENSIONISSSTE)",
        "PENSIONISSSTE",
        "Vocal Ejecutivo(a) de PENSIONISSSTE",
        0.8,
        [("ADQ", "Departamento de Adquisiciones")],
        ("UA", "Subdirección de Inversiones", "pensions", "Subdirector(a) de Inversiones"),
    ),
]

# Procurement posts below the head: (role_code, suffix, title, grade, weight at the centre,
# weight in a local unit). Local units lean on officers and support staff, with few specialists
# or market researchers (the review's "uneven" local capability).
PROCUREMENT_STAFF = [
    ("procurement_specialist", "ESP", "Especialista en adquisiciones", "P31", 1.6, 0.6),
    ("procurement_officer", "ANA", "Analista de adquisiciones", "P21", 3.0, 2.6),
    ("market_research_analyst", "IM", "Analista de investigación de mercado", "P21", 1.2, 0.4),
    ("contract_manager", "AC", "Administrador(a) de contratos", "P31", 1.2, 0.9),
    ("technical_support", "AT", "Apoyo técnico en adquisiciones", "CF28", 1.4, 1.6),
    ("administrative_support", "AA", "Apoyo administrativo en adquisiciones", "CF21", 1.2, 1.6),
]
# User-area posts by kind of area: (suffix, title, grade, weight)
AREA_STAFF = {
    "medical": [
        ("MED", "Médico(a) especialista", "M02", 2.0),
        ("ENF", "Enfermero(a) general", "CF34", 3.0),
        ("CAM", "Coordinador(a) de atención médica", "CF41", 0.6),
    ],
    "pharmacy": [
        ("QFB", "Químico(a) farmacobiólogo(a)", "CF36", 1.0),
        ("AUX", "Auxiliar de farmacia", "CF22", 2.0),
        ("ALM", "Almacenista de insumos médicos", "CF20", 1.2),
    ],
    "maintenance": [
        ("IBM", "Ingeniero(a) biomédico(a)", "CF38", 1.0),
        ("TEC", "Técnico(a) de mantenimiento", "CF26", 2.2),
    ],
    "laboratory": [
        ("QC", "Químico(a) clínico(a)", "CF36", 1.5),
        ("LAB", "Técnico(a) laboratorista", "CF26", 1.5),
    ],
    "planning": [("PLA", "Analista de planeación de insumos médicos", "P21", 2.0)],
    "infrastructure": [("ING", "Ingeniero(a) de proyectos de equipamiento", "P31", 2.0)],
    "commerce": [
        ("GT", "Gerente de tienda", "CF40", 1.0),
        ("ENC", "Encargado(a) de almacén", "CF24", 1.5),
    ],
    "tourism": [
        ("CST", "Coordinador(a) de servicios turísticos", "CF32", 1.0),
        ("AGV", "Agente de viajes", "CF24", 1.5),
    ],
    "housing": [("ACR", "Analista de crédito hipotecario", "CF30", 2.0)],
    "pensions": [
        ("AIN", "Analista de inversiones", "P31", 1.2),
        ("ACI", "Analista de cuentas individuales", "CF30", 1.0),
    ],
}
USER_AREA_WEIGHT = 0.8  # user-area staff relative to a procurement unit's staff

# (code, name_es, name_en, is_procurement)
QUALIFICATIONS = [
    (
        "CERT-SFP-CP",
        "Certificación en Contrataciones Públicas (SFP)",
        "Public Procurement Certification (Ministry of Public Administration)",
        True,
    ),
    (
        "CIPS-L4",
        "CIPS Nivel 4: Diploma en Adquisiciones y Suministro",
        "CIPS Level 4 Diploma in Procurement and Supply",
        True,
    ),
    (
        "DIP-UNAM-CP",
        "Diplomado en Contrataciones Públicas (UNAM)",
        "Diploma in Public Procurement (UNAM)",
        True,
    ),
    (
        "DIP-IPN-AS",
        "Diplomado en Adquisiciones del Sector Salud (IPN)",
        "Diploma in Health Sector Procurement (IPN)",
        True,
    ),
    ("LIC-DER", "Licenciatura en Derecho", "Law degree", False),
    ("LIC-CONT", "Licenciatura en Contaduría Pública", "Accounting degree", False),
    ("LIC-ADM", "Licenciatura en Administración", "Business administration degree", False),
    ("LIC-ECO", "Licenciatura en Economía", "Economics degree", False),
    ("MAE-AP", "Maestría en Administración Pública", "Master's in Public Administration", False),
    ("LIC-MED", "Médico Cirujano", "Medical degree", False),
    ("LIC-ENF", "Licenciatura en Enfermería", "Nursing degree", False),
    ("LIC-QFB", "Químico Farmacéutico Biólogo", "Pharmaceutical chemistry degree", False),
    ("ING-BIO", "Ingeniería Biomédica", "Biomedical engineering degree", False),
]
PROCUREMENT_CERTS = [("CERT-SFP-CP", 45), ("DIP-UNAM-CP", 25), ("DIP-IPN-AS", 18), ("CIPS-L4", 12)]
GENERAL_DEGREES = [("LIC-CONT", 30), ("LIC-ADM", 30), ("LIC-DER", 25), ("LIC-ECO", 15)]
AREA_DEGREES = {
    "medical": [("LIC-MED", 45), ("LIC-ENF", 55)],
    "pharmacy": [("LIC-QFB", 100)],
    "maintenance": [("ING-BIO", 100)],
    "laboratory": [("LIC-QFB", 100)],
    "infrastructure": [("ING-BIO", 100)],
}
# Chance that a procurement employee holds a formal procurement qualification: a minority,
# and fewer in the decentralised units (the review: local units have the larger capability gap).
PROCUREMENT_QUALIFIED = {"central": 0.34, "local": 0.12}
ROLE_QUALIFICATION_FACTOR = {
    "head_of_unit": 1.7,
    "procurement_specialist": 1.6,
    "contract_manager": 1.1,
    "procurement_officer": 1.0,
    "market_research_analyst": 1.0,
    "technical_support": 0.45,
    "administrative_support": 0.3,
}
PROFESSIONAL_ROLES = {
    "head_of_unit",
    "procurement_specialist",
    "procurement_officer",
    "market_research_analyst",
    "contract_manager",
}


@dataclass
class UnitPlan:
    code: str
    name: str
    kind: UnitKind
    parent: str | None  # parent unit's code
    rank: int  # depth in the chain of command; a head reports to a strictly lower rank
    reports_to: str | None  # the unit whose head supervises this unit's head
    head_title: str
    head_family: JobFamily
    head_role: str = ""  # role profile of the head's post
    head_grade: str = "O11"
    region: str = CENTRO
    state: str = CDMX
    is_central: bool = False
    size: float = 1.0  # relative staffing
    procurement: str = ""  # "central" | "local" for procurement units
    area: str = ""  # kind of user area (see AREA_STAFF)
    priority_head: bool = True  # filled before user-area heads and staff


@dataclass
class PositionPlan:
    code: str
    title: str
    job_family: JobFamily
    grade: str
    unit: UnitPlan
    role_code: str
    weight: float = 0.0
    is_head: bool = False
    planned: int = 0
    occupied: int = 0


def _institute() -> list[UnitPlan]:
    """Return the units, parents before children (no randomness: the shape is fixed)."""
    units: list[UnitPlan] = []
    other, proc, ua = JobFamily.other, JobFamily.procurement, JobFamily.user_area

    def add(**fields) -> UnitPlan:
        units.append(UnitPlan(**fields))
        return units[-1]

    def central(code: str, name: str, kind: UnitKind, parent: str | None, rank: int, **fields):
        fields.setdefault("reports_to", parent)
        fields.setdefault("size", 1.6)
        return add(code=code, name=name, kind=kind, parent=parent, rank=rank, is_central=True,
                   **fields)  # fmt: skip

    def below(parent: UnitPlan, suffix: str, name: str, kind: UnitKind, **fields) -> UnitPlan:
        fields.setdefault("reports_to", parent.code)
        return add(code=f"{parent.code}-{suffix}", name=name, kind=kind, parent=parent.code,
                   rank=parent.rank + 1, region=parent.region, state=parent.state,
                   is_central=parent.is_central, size=parent.size, **fields)  # fmt: skip

    def procurement_units(parent: UnitPlan, short: str, lines: list[str]) -> None:
        for line in lines:
            name = LOCAL_PROCUREMENT_UNITS[line]
            below(parent, line, f"{name} ({short})", UnitKind.procurement_unit,
                  reports_to=LINE_COORDINATOR[line], head_title="Jefe(a) del " + name,
                  head_family=proc, head_role="head_of_unit", procurement="local")  # fmt: skip

    def user_areas(parent: UnitPlan, short: str, areas: list[tuple[str, str, str, str]]) -> None:
        for suffix, name, area, head in areas:
            below(parent, suffix, f"{name} ({short})", UnitKind.user_area, head_title=head,
                  head_family=ua, head_role="user_area_staff", area=area,
                  priority_head=False)  # fmt: skip

    # Headquarters.
    directorate = UnitKind.directorate
    central("DG", "Dirección General", directorate, None, 0,
            head_title="Director(a) General", head_grade="J11", head_family=other)  # fmt: skip
    for code, name, head in [
        ("DA", "Dirección de Administración", "Director(a) de Administración"),
        ("DM", "Dirección Médica", "Director(a) Médico(a)"),
        ("DD", "Dirección de Delegaciones", "Director(a) de Delegaciones"),
    ]:
        central(code, name, directorate, "DG", 1, head_title=head, head_grade="K11",
                head_family=other)  # fmt: skip
    for sd_code, sd_name, departments in PROCUREMENT_SUB_DIRECTORATES:
        central(sd_code, sd_name, UnitKind.sub_directorate, "DA", 2,
                head_title="Subdirector(a) de " + sd_name.removeprefix("Subdirección de "),
                head_grade="N11", head_family=proc, head_role="head_of_unit")  # fmt: skip
        for i, department in enumerate(departments, start=1):
            central(f"{sd_code}-D{i:02d}", department, UnitKind.procurement_unit, sd_code, 3,
                    head_title="Jefe(a) del " + department, head_family=proc,
                    head_role="head_of_unit", procurement="central")  # fmt: skip
    # The Medical Directorate is a user area: it plans the needs, it does not buy.
    central("DM-CPIM", "Coordinación de Planeación de Insumos Médicos", UnitKind.user_area, "DM",
            2, head_title="Coordinador(a) de Planeación de Insumos Médicos", head_grade="N21",
            head_family=ua, head_role="user_area_staff", area="planning",
            priority_head=False)  # fmt: skip
    central("DM-SI", "Subdirección de Infraestructura", UnitKind.sub_directorate, "DM", 2,
            head_title="Subdirector(a) de Infraestructura", head_grade="N11", head_family=ua,
            head_role="user_area_staff", priority_head=False)  # fmt: skip
    central("DM-SI-DPE", "Departamento de Proyectos de Equipamiento Médico", UnitKind.user_area,
            "DM-SI", 3, head_title="Jefe(a) del Departamento de Proyectos de Equipamiento Médico",
            head_family=ua, head_role="user_area_staff", area="infrastructure",
            priority_head=False)  # fmt: skip

    # The 35 delegations: one per state, four in Mexico City.
    delegations = [
        (f"DEL-{code}", f"Delegación Estatal {state}", state, state, size)
        for code, state, _region, size in STATES
    ] + [
        (f"DEL-CDMX-{code}", f"Delegación Regional {zone}", f"{zone}, CDMX", CDMX, CDMX_ZONE_SIZE)
        for code, zone in CDMX_ZONES
    ]
    for code, name, short, state, size in delegations:
        delegation = add(code=code, name=name, kind=UnitKind.delegation, parent="DD", rank=2,
                         reports_to="DD", region=REGION_OF_STATE[state], state=state, size=size,
                         head_title="Delegado(a) regional" if state == CDMX
                         else "Delegado(a) estatal",
                         head_grade="M11", head_family=other)  # fmt: skip
        procurement_units(
            delegation, short, ["ADQ", "ABA"] if size >= LARGE_DELEGATION else ["ADQ"]
        )
        user_areas(delegation, short, DELEGATION_AREAS)

    # Third-level care: the 12 regional hospitals and the National Medical Centre.
    for code, name, short, state, size in REGIONAL_HOSPITALS:
        hospital = add(code=code, name=name, kind=UnitKind.regional_hospital, parent="DM",
                       rank=2, reports_to="DM", region=REGION_OF_STATE[state], state=state,
                       size=size, head_title="Director(a) del hospital regional",
                       head_grade="M21", head_family=other)  # fmt: skip
        procurement_units(hospital, short, ["ADQ", "CYM"])
        user_areas(hospital, short, HOSPITAL_AREAS)
    cmn = add(code="CMN-20NOV", name="Centro Médico Nacional “20 de Noviembre”",
              kind=UnitKind.national_medical_centre, parent="DM", rank=2, reports_to="DM",
              size=2.0, head_title="Director(a) del Centro Médico Nacional", head_grade="M11",
              head_family=other)  # fmt: skip
    procurement_units(cmn, "CMN 20 de Noviembre", ["ADQ", "ABA", "CYM"])
    user_areas(cmn, "CMN 20 de Noviembre", CMN_AREAS)

    # The non-medical entities are deconcentrated bodies that buy for themselves: their
    # procurement heads answer to the entity, not to a sub-director of the Administration.
    for code, name, short, head, size, purchasing, area in NON_MEDICAL_ENTITIES:
        entity = add(code=code, name=name, kind=UnitKind.non_medical_entity, parent="DG", rank=1,
                     reports_to="DG", size=size, head_title=head, head_grade="K21",
                     head_family=other)  # fmt: skip
        for suffix, unit_name in purchasing:
            below(entity, suffix, f"{unit_name} ({short})", UnitKind.procurement_unit,
                  head_title="Jefe(a) del " + unit_name, head_family=proc,
                  head_role="head_of_unit", procurement="local")  # fmt: skip
        user_areas(entity, short, [area])
    return units


def _positions(units: list[UnitPlan]) -> list[PositionPlan]:
    """Return every post: one head per unit, then the staff posts of procurement units and areas."""
    positions: list[PositionPlan] = []
    for unit in units:
        positions.append(
            PositionPlan(
                f"{unit.code}-TIT",
                unit.head_title,
                unit.head_family,
                unit.head_grade,
                unit,
                unit.head_role,
                is_head=True,
            )
        )
    for unit in units:
        if unit.kind == UnitKind.procurement_unit:
            central = unit.procurement == "central"
            for role, suffix, title, grade, w_central, w_local in PROCUREMENT_STAFF:
                weight = unit.size * (w_central if central else w_local)
                positions.append(
                    PositionPlan(
                        f"{unit.code}-{suffix}",
                        title,
                        JobFamily.procurement,
                        grade,
                        unit,
                        role,
                        weight=weight,
                    )
                )
        elif unit.area:
            for suffix, title, grade, weight in AREA_STAFF[unit.area]:
                positions.append(
                    PositionPlan(
                        f"{unit.code}-{suffix}",
                        title,
                        JobFamily.user_area,
                        grade,
                        unit,
                        "user_area_staff",
                        weight=unit.size * weight * USER_AREA_WEIGHT,
                    )
                )
    return positions


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Return whole shares of `total` proportional to `weights` (largest remainder)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    quotas = [w * total / whole for w in weights]
    shares = [int(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (shares[i] - quotas[i], i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


class _Picker:
    """Weighted choice with precomputed cumulative weights (fast for 100 000 draws)."""

    def __init__(self, items: list[tuple[str, float]]) -> None:
        self.values = [v for v, _w in items]
        self.cumulative = list(accumulate(w for _v, w in items))

    def __call__(self, rng: random.Random) -> str:
        # What rng.choices does for one draw, without its per-call setup.
        return self.values[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


@lru_cache(maxsize=4096)
def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _years(value: float) -> timedelta:
    return timedelta(days=int(value * 365.25))


def _at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


@dataclass
class _Slot:
    """One employee to create: which post, and whether they head it, hold it, or have left."""

    position: PositionPlan
    kind: str  # "head" | "staff" | "left"
    supervisor: int | None = None  # index of the supervising slot
    index: int = 0


@dataclass
class _Plan:
    units: list[UnitPlan]
    positions: list[PositionPlan]
    slots: list[_Slot]
    unit_traits: dict[str, tuple[float, bool]] = field(default_factory=dict)


def _plan(rng: random.Random, employees: int) -> _Plan:
    """Decide who sits where, who supervises whom and each post's planned headcount."""
    units = _institute()
    positions = _positions(units)
    by_code = {u.code: u for u in units}
    # Per unit: turnover propensity and whether its posts are planned above occupancy. Local
    # units lose people faster and are more often short-staffed, as the review reports.
    traits: dict[str, tuple[float, bool]] = {}
    for unit in units:
        if unit.is_central:
            turnover, short = 0.6, rng.random() < 0.15
        else:
            turnover = 2.5 if rng.random() < 0.15 else 1.0
            short = rng.random() < (0.45 if unit.kind == UnitKind.procurement_unit else 0.2)
        traits[unit.code] = (turnover, short)

    heads = [p for p in positions if p.is_head]
    priority = sorted(
        (p for p in heads if p.unit.priority_head), key=lambda p: p.unit.rank
    )  # stable: institute order within a rank
    area_heads = [p for p in heads if not p.unit.priority_head]
    staff_posts = [p for p in positions if not p.is_head]

    left = int(employees * LEFT_SHARE)
    present = employees - left
    filled_heads = priority[:present]
    remaining = present - len(filled_heads)
    # User-area heads only once there are enough people to staff the areas under them.
    if remaining >= 2 * len(area_heads):
        filled_heads += area_heads
        remaining -= len(area_heads)
    filled_heads.sort(key=lambda p: p.unit.rank)
    for post in filled_heads:
        post.occupied = 1
    for post, share in zip(
        staff_posts, _apportion(remaining, [p.weight for p in staff_posts]), strict=True
    ):
        post.occupied = share

    # Former holders of posts that are still staffed: where turnover is higher, more have gone.
    leavers: list[PositionPlan] = []
    if left:
        picker_weights = [
            p.weight * traits[p.unit.code][0] if p.occupied else 0.0 for p in staff_posts
        ]
        if sum(picker_weights) > 0:
            leavers = rng.choices(staff_posts, weights=picker_weights, k=left)
        elif filled_heads:  # so small that no staff post is filled: former heads, then
            leavers = rng.choices(filled_heads, k=left)

    slots: list[_Slot] = [_Slot(p, "head") for p in filled_heads]
    for post in staff_posts:
        slots.extend(_Slot(post, "staff") for _ in range(post.occupied))
    slots.extend(_Slot(p, "left") for p in leavers)
    for i, slot in enumerate(slots):
        slot.index = i

    # Reporting lines: staff report to their unit's head; a head to the head of the unit named
    # by `reports_to`. A vacant head's duties pass up the same chain. Ranks strictly decrease
    # along it, so there can be no loop.
    head_of = {s.position.unit.code: s.index for s in slots if s.kind == "head"}

    def head_above(code: str | None) -> int | None:
        while code is not None and code not in head_of:
            code = by_code[code].reports_to
        return head_of.get(code) if code is not None else None

    for slot in slots:
        unit = slot.position.unit
        if slot.kind == "head":
            slot.supervisor = head_above(unit.reports_to)
        else:
            slot.supervisor = head_of.get(unit.code, head_above(unit.reports_to))

    for post in positions:
        if post.is_head:
            post.planned = 1
            continue
        short = traits[post.unit.code][1]
        post.planned = post.occupied
        if short:
            # 15-45 % more planned than present, rounded at random so small posts keep the
            # same expected shortfall instead of always gaining a whole person.
            post.planned += int(post.occupied * rng.uniform(0.15, 0.45) + rng.random())
    # A staff post with no one in it, nobody planned and no former holder does not exist yet:
    # small demos would otherwise carry hundreds of empty posts.
    former = {id(s.position) for s in slots if s.kind == "left"}
    positions = [p for p in positions if p.is_head or p.planned or id(p) in former]
    return _Plan(units, positions, slots, traits)


# --- people -----------------------------------------------------------------------------------


@dataclass
class _Person:
    row: dict
    qualifications: list[str]
    history: list[tuple[str, date]]


class _People:
    """Makes invented employees, one at a time, from the shared random stream."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.female = _Picker([(n, w) for n, w in FEMALE_NAMES])
        self.male = _Picker([(n, w) for n, w in MALE_NAMES])
        self.surname = _Picker([(n, w) for n, w in SURNAMES])
        self.certs = _Picker([(c, w) for c, w in PROCUREMENT_CERTS])
        self.degrees = _Picker([(c, w) for c, w in GENERAL_DEGREES])
        self.area_degrees = {a: _Picker(list(d)) for a, d in AREA_DEGREES.items()}
        # Eight-digit employee numbers, unique, drawn once so they differ from seed to seed.
        self.numbers = rng.sample(range(10_000_000, 100_000_000), count)
        self.emails: dict[str, int] = {}
        self.updated_at = _at_noon(AS_OF)

    def make(self, slot: _Slot) -> _Person:
        rng = self.rng
        post = slot.position
        female = rng.random() < 0.56
        first = (self.female if female else self.male)(rng)
        surname1, surname2 = self.surname(rng), self.surname(rng)
        local = f"{_ascii(first.split()[0])}.{_ascii(surname1)}{_ascii(surname2)[:1]}"
        seen = self.emails.get(local, 0) + 1
        self.emails[local] = seen
        email = f"{local}{seen if seen > 1 else ''}@{EMAIL_DOMAIN}"

        # Ages and tenures: heads are older with long service; staff span 21 to retirement,
        # with a cohort close to it (the ageing the workforce plan must see coming).
        if slot.kind == "head":
            age = rng.uniform(36, 64)
            tenure = max(2.0, min(30.0, age - 24) * rng.betavariate(3, 2))
        else:
            age = rng.uniform(58, 67) if rng.random() < 0.07 else rng.triangular(21.5, 62, 37)
            tenure = min(30.0, age - 21) * rng.betavariate(1.4, 1.8)
        if slot.kind == "left":
            # Left within the last three years, usually after a shorter stay.
            departure = AS_OF - timedelta(days=rng.randint(1, 3 * 365))
            tenure = min(tenure, rng.uniform(0.3, 12))
            hire = departure - _years(tenure)
            birth = departure - _years(age)
        else:
            departure = None
            hire = AS_OF - _years(tenure)
            birth = AS_OF - _years(age)
        if (hire - birth).days < 18 * 365:  # at least eighteen at hire
            birth = hire - _years(18 + rng.random() * 4)

        history: list[tuple[str, date]] = [(EmployeeStatus.active, hire)]
        status = EmployeeStatus.active
        served = ((departure or AS_OF) - hire).days
        if slot.kind == "left":
            if served > 200 and rng.random() < 0.25:
                history.append((EmployeeStatus.on_leave, departure - timedelta(days=120)))
            history.append((EmployeeStatus.left, departure))
            status = EmployeeStatus.left
        elif served > 30 and rng.random() < self._leave_chance(slot):
            status = EmployeeStatus.on_leave
            history.append((status, AS_OF - timedelta(days=rng.randint(1, min(400, served - 1)))))
        elif served > 800 and rng.random() < 0.05:  # an earlier leave, now back at work
            start = hire + timedelta(days=rng.randint(30, served - 400))
            history.append((EmployeeStatus.on_leave, start))
            history.append((EmployeeStatus.active, start + timedelta(days=rng.randint(30, 360))))

        return _Person(
            row={
                "number": str(self.numbers[slot.index]),
                "first_name": first,
                "last_name": f"{surname1} {surname2}",
                "email": email,
                "unit_id": 0,  # filled in with database ids by the writer
                "position_id": 0,
                "supervisor_id": None,
                "hire_date": hire,
                "birth_date": birth,
                "status": status,
                "updated_at": self.updated_at,
            },
            qualifications=self._qualifications(post),
            history=history,
        )

    @staticmethod
    def _leave_chance(slot: _Slot) -> float:
        if slot.kind != "head":
            return 0.045
        # Directors and sub-directors are kept at their desks: the demo's chain of command
        # should be complete at the top.
        return 0.02 if slot.position.unit.rank >= 3 else 0.0

    def _qualifications(self, post: PositionPlan) -> list[str]:
        rng = self.rng
        held: list[str] = []
        if post.job_family == JobFamily.procurement:
            level = post.unit.procurement or ("central" if post.unit.is_central else "local")
            chance = PROCUREMENT_QUALIFIED[level] * ROLE_QUALIFICATION_FACTOR.get(post.role_code, 1)
            if rng.random() < chance:
                held.append(self.certs(rng))
                if rng.random() < 0.15:
                    held.append(self.certs(rng))
            professional = post.role_code in PROFESSIONAL_ROLES
            if rng.random() < (0.88 if professional else 0.4):
                held.append(self.degrees(rng))
            if post.role_code == "head_of_unit" and rng.random() < 0.3:
                held.append("MAE-AP")
        elif post.job_family == JobFamily.user_area:
            picker = self.area_degrees.get(post.unit.area)
            if rng.random() < 0.7:
                held.append(picker(rng) if picker else self.degrees(rng))
            if rng.random() < 0.02:  # the rare user-area person trained in procurement
                held.append(self.certs(rng))
        else:
            held.append(self.degrees(rng))
            if rng.random() < 0.5:
                held.append("MAE-AP")
        return list(dict.fromkeys(held))  # once each, order kept


# --- writing ----------------------------------------------------------------------------------

PROCUREMENT_CERT_CODES = {code for code, _weight in PROCUREMENT_CERTS}
# Where a decentralised unit sits, by the kind of unit above it.
_SETTING_OF_KIND = {
    UnitKind.delegation: "delegation",
    UnitKind.regional_hospital: "hospital",
    UnitKind.national_medical_centre: "hospital",
    UnitKind.non_medical_entity: "entity",
}


def _settings(units: list[UnitPlan]) -> dict[str, str]:
    """Return {unit code: "central" | "delegation" | "hospital" | "entity"}."""
    by_code = {u.code: u for u in units}
    out: dict[str, str] = {}
    for unit in units:
        current: UnitPlan | None = unit
        setting = "central"
        while current is not None and not current.is_central:
            if current.kind in _SETTING_OF_KIND:
                setting = _SETTING_OF_KIND[current.kind]
                break
            current = by_code.get(current.parent) if current.parent else None
        out[unit.code] = setting
    return out


def _ratee(
    employee_id: int, slot: _Slot, person: _Person, settings: dict[str, str]
) -> competency_demo.DemoRatee:
    row = person.row
    return competency_demo.DemoRatee(
        employee_id=employee_id,
        role_code=slot.position.role_code,
        unit_code=slot.position.unit.code,
        setting=settings[slot.position.unit.code],
        procurement=slot.position.job_family == JobFamily.procurement,
        hire=row["hire_date"],
        left_on=person.history[-1][1] if row["status"] == EmployeeStatus.left else None,
        qualified=any(code in PROCUREMENT_CERT_CODES for code in person.qualifications),
        supervised=slot.supervisor is not None,
    )


def has_organisation(session: Session) -> bool:
    """Return True if the database already holds units or employees."""
    return bool(
        session.execute(select(exists().where(col(Employee.id).is_not(None)))).scalar()
        or session.execute(select(exists().where(col(Unit.id).is_not(None)))).scalar()
    )


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_and_map(session: Session, model, rows: list[dict], key: str) -> dict[str, int]:
    """Insert rows with one executemany and return {row[key]: new id}.

    The ids are read back by their unique key rather than with RETURNING: SQLite cannot promise
    RETURNING's order for a multi-row insert, and SQLAlchemy then falls back to a round trip
    per row, five times slower.
    """
    if not rows:
        return {}
    table = model.__table__
    session.execute(insert(table), rows)
    keys = [row[key] for row in rows]
    column = table.c[key]
    return dict(session.execute(select(column, table.c.id).where(column.in_(keys))).all())


# SQLite's page cache while the demo loads, in KiB (its default is 2 MiB). A transaction of
# millions of rows otherwise spills pages to the WAL and reads them back (for foreign-key
# checks, say) over and over; with this the process stays far below the 2 GiB budget.
DEMO_PAGE_CACHE_KIB = 256 * 1024


@contextmanager
def _large_page_cache(session: Session) -> Iterator[None]:
    """Give the session's SQLite connection a large page cache, and restore it afterwards."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{DEMO_PAGE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def generate(engine: Engine, *, employees: int = DEFAULT_EMPLOYEES, seed: int = 1) -> DemoSummary:
    """Create the synthetic organisation in an empty database and return what was created.

    All or nothing: one transaction. Refuses (DemoError) if units or employees already exist,
    since mixing invented people into a real organisation must never happen by accident.
    """
    if not 1 <= employees <= MAX_EMPLOYEES:
        raise DemoError(f"--employees must be between 1 and {MAX_EMPLOYEES}.")
    rng = random.Random(seed)
    plan = _plan(rng, employees)
    people = _People(rng, len(plan.slots))
    with Session(engine) as session:
        with _large_page_cache(session):
            if has_organisation(session):
                raise DemoError(
                    "The database already has an organisation (units or employees); the demo is "
                    "only created in an empty one. Use a fresh database (MERITO_DATABASE_URL)."
                )
            for code, name_es, name_en, is_procurement in QUALIFICATIONS:
                org_service.ensure_qualification(
                    session,
                    code=code,
                    name_es=name_es,
                    name_en=name_en,
                    is_procurement=is_procurement,
                )
            qualification_ids = dict(
                session.execute(select(Qualification.code, Qualification.id)).all()
            )

            unit_ids: dict[str, int] = {}
            for rank in sorted({u.rank for u in plan.units}):
                level = [u for u in plan.units if u.rank == rank]
                rows = [
                    {
                        "code": u.code,
                        "name": u.name,
                        "kind": u.kind.value,
                        "parent_id": unit_ids[u.parent] if u.parent else None,
                        "region": u.region,
                        "state": u.state,
                        "is_central": u.is_central,
                    }
                    for u in level
                ]
                unit_ids.update(_insert_and_map(session, Unit, rows, "code"))

            position_rows = [
                {
                    "code": p.code,
                    "title": p.title,
                    "job_family": p.job_family.value,
                    "grade": p.grade,
                    "unit_id": unit_ids[p.unit.code],
                    "role_code": p.role_code,
                    "planned_headcount": p.planned,
                }
                for p in plan.positions
            ]
            position_ids = _insert_and_map(session, Position, position_rows, "code")

            # Heads go in rank by rank, so every supervisor has an id before anyone reports to
            # them; staff (who report to heads) follow in batches.
            employee_ids: list[int] = []
            heads = [s for s in plan.slots if s.kind == "head"]
            batches = [
                [s for s in heads if s.position.unit.rank == rank]
                for rank in sorted({s.position.unit.rank for s in heads})
            ]
            batches += list(_chunks([s for s in plan.slots if s.kind != "head"], BATCH_SIZE))
            qualified = 0
            settings = _settings(plan.units)
            ratees: list[competency_demo.DemoRatee] = []
            for batch in batches:
                if not batch:
                    continue
                persons = [people.make(slot) for slot in batch]
                for slot, person in zip(batch, persons, strict=True):
                    person.row["unit_id"] = unit_ids[slot.position.unit.code]
                    person.row["position_id"] = position_ids[slot.position.code]
                    if slot.supervisor is not None:
                        person.row["supervisor_id"] = employee_ids[slot.supervisor]
                rows = [p.row for p in persons]
                by_number = _insert_and_map(session, Employee, rows, "number")
                ids = [by_number[row["number"]] for row in rows]
                employee_ids.extend(ids)
                ratees.extend(
                    _ratee(eid, slot, person, settings)
                    for eid, slot, person in zip(ids, batch, persons, strict=True)
                    if slot.position.role_code
                )
                links = [
                    {"employee_id": eid, "qualification_id": qualification_ids[code]}
                    for eid, person in zip(ids, persons, strict=True)
                    for code in person.qualifications
                ]
                qualified += len(links)
                changes = [
                    {
                        "employee_id": eid,
                        "status": status.value if hasattr(status, "value") else status,
                        "effective_on": day,
                        "recorded_at": _at_noon(day),
                    }
                    for eid, person in zip(ids, persons, strict=True)
                    for status, day in person.history
                ]
                if links:
                    session.execute(insert(EmployeeQualification.__table__), links)
                session.execute(insert(EmployeeStatusChange.__table__), changes)

            history = competency_demo.seed_rating_history(session, ratees, seed=seed, as_of=AS_OF)
            summary = DemoSummary(
                units=len(plan.units),
                positions=len(plan.positions),
                employees=len(employee_ids),
                procurement_units=sum(1 for u in plan.units if u.kind == UnitKind.procurement_unit),
                qualifications=len(QUALIFICATIONS),
                seed=seed,
                rating_entries=history.entries,
                people_rated=history.people_rated,
                campaigns=history.campaigns,
            )
            # One audit entry for the whole generation, not one per row: these people are invented,
            # no real person's record was decided, and the seed and counts are enough to reproduce
            # every row exactly. 100 000 entries would only lengthen the chain `audit verify` walks.
            audit.record(
                session,
                action="demo.generated",
                actor="merito demo",
                entity_type="organisation",
                entity_id="demo",
                after={
                    "seed": seed,
                    "as_of": AS_OF,
                    "units": summary.units,
                    "procurement_units": summary.procurement_units,
                    "positions": summary.positions,
                    "employees": summary.employees,
                    "qualification_links": qualified,
                    "rating_entries": history.entries,
                    "current_ratings": history.current_ratings,
                    "people_rated": history.people_rated,
                    "awaiting_validation": history.awaiting_validation,
                    "campaigns": history.campaigns,
                },
            )
        session.commit()
    return summary


# --- demo accounts ----------------------------------------------------------------------------

# (account, role, account name for unlinked accounts). Passwords are fixed and published in the
# docs: these accounts exist to try Mérito out and must never exist in production. The account
# names the email and the password; it is the role's, except for the second investigator (the
# demo channels' deputy, so a report whose reporter excludes the first still has a reader).
DEMO_ROLES: list[tuple[str, str, str]] = [
    ("admin", Role.admin, "Administración del sistema (demo)"),
    ("hr_planner", Role.hr_planner, "Planeación de recursos humanos (demo)"),
    ("supervisor", Role.supervisor, ""),
    ("employee", Role.employee, ""),
    ("panel_member", Role.panel_member, "Integrante de comité de selección (demo)"),
    ("panel_member2", Role.panel_member, "Integrante de comité de selección (demo 2)"),
    ("panel_member3", Role.panel_member, "Integrante de comité de selección (demo 3)"),
    ("candidate", Role.candidate, "Persona candidata externa (demo)"),
    ("investigator", Role.investigator, "Investigación de denuncias (demo)"),
    ("investigator2", Role.investigator, "Investigación de denuncias, suplencia (demo)"),
    ("protection_officer", Role.protection_officer, "Protección a personas denunciantes (demo)"),
    ("auditor", Role.auditor, "Auditoría (demo)"),
    ("supplier", Role.supplier, "Representante de proveedor (demo)"),
]


def demo_email(account: str) -> str:
    """Return the sign-in email of the demo account (`DEMO_ROLES`' first column, or a role)."""
    return f"{account.replace('_', '-')}@{EMAIL_DOMAIN}"


def demo_password(account: str) -> str:
    """Return the fixed, development-only password of the demo account."""
    return f"demo-{account.replace('_', '-')}-2026"


def _demo_supervisor(session: Session) -> Employee | None:
    """Return the head of a procurement unit with the most active reports (ties: by number)."""
    reports = (
        select(Employee.supervisor_id, func.count().label("reports"))
        .where(
            col(Employee.supervisor_id).is_not(None),
            Employee.status == EmployeeStatus.active,
        )
        .group_by(Employee.supervisor_id)
        .subquery()
    )
    linked = select(User.employee_id).where(col(User.employee_id).is_not(None))
    base = (
        select(Employee)
        .join(reports, reports.c.supervisor_id == Employee.id)
        .where(
            Employee.status == EmployeeStatus.active,
            col(Employee.id).not_in(linked),
        )
        .order_by(reports.c.reports.desc(), col(Employee.number))
    )
    in_procurement = (
        base.join(Position, col(Employee.position_id) == Position.id)
        .join(Unit, col(Employee.unit_id) == Unit.id)
        .where(Position.role_code == "head_of_unit", Unit.kind == UnitKind.procurement_unit)
    )
    return (
        session.execute(in_procurement.limit(1)).scalars().first()
        or session.execute(base.limit(1)).scalars().first()
    )


def _demo_employee(session: Session, supervisor_id: int) -> Employee | None:
    """Return an active, unlinked direct report of the supervisor (by number)."""
    linked = select(User.employee_id).where(col(User.employee_id).is_not(None))
    return (
        session.execute(
            select(Employee)
            .where(
                Employee.supervisor_id == supervisor_id,
                Employee.status == EmployeeStatus.active,
                col(Employee.id).not_in(linked),
            )
            .order_by(col(Employee.number))
            .limit(1)
        )
        .scalars()
        .first()
    )


def create_demo_accounts(session: Session, settings: Settings) -> list[DemoAccount]:
    """Return one demo account per role, creating those missing (the caller commits).

    Idempotent: existing demo accounts are returned as they are. The supervisor account is
    linked to an employee who has direct reports, and the employee account to one of them, so
    both journeys can be walked. The demo investigators and protection officer get their key
    pairs and the reporting channels their readers (`whistleblowing.demo.prepare`), so a report
    can be made and read on the first `merito up`. Refuses in production.
    """
    from backend.auth import service as auth_service

    if settings.environment == "production":
        raise DemoError("Demo accounts are never created in production.")
    accounts: list[DemoAccount] = []
    supervisor: Employee | None = None
    for account, role, label in DEMO_ROLES:
        email, password = demo_email(account), demo_password(account)
        user = session.execute(select(User).where(User.email == email)).scalars().first()
        if user is not None:
            if role == Role.supervisor and user.employee_id is not None:
                supervisor = session.get(Employee, user.employee_id)
            accounts.append(DemoAccount(role, email, password, user.full_name, user.employee_id))
            continue
        employee: Employee | None = None
        if role == Role.supervisor:
            employee = supervisor = _demo_supervisor(session)
            if employee is None:
                continue  # nobody has reports yet: there is no supervisor to sign in as
        elif role == Role.employee and supervisor is not None:
            employee = _demo_employee(session, supervisor.id)
        # A supervisor is an employee whose role is derived from reporting lines, not stored.
        roles = [Role.employee] if role in (Role.supervisor, Role.employee) else [Role(role)]
        user = auth_service.create_user(
            session,
            settings,
            email=email,
            full_name=employee.full_name if employee else (label or "Persona servidora (demo)"),
            password=password,
            roles=roles,
            employee_id=employee.id if employee else None,
            locale="es",
            actor="merito demo",
            # Fixed, published passwords would fail the strength check; they are for demos only.
            check_password=False,
        )
        session.flush()
        accounts.append(DemoAccount(role, email, password, user.full_name, user.employee_id))
    # The reporting channel is a domain of its own (the core imports it only here, for the demo).
    from whistleblowing import demo as reporting_demo

    reporting_demo.prepare(session, settings, accounts)
    # An open appraisal cycle with plan priorities and trained supervisors, and the demo
    # supervisor and employee inside the open competency campaign: both journeys work at once.
    from assessments.appraisals import demo as appraisal_demo

    appraisal_demo.prepare(session, settings, accounts)
    competency_demo.include_demo_accounts(
        session, [a.employee_id for a in accounts if a.employee_id is not None]
    )
    # Competitions at every stage, the question bank and the confirmed demo candidate.
    from assessments.vacancies import demo as vacancies_demo

    vacancies_demo.prepare(session, settings, accounts)
    return accounts
