"""The invented institute's shape: its units, their posts and what qualifications its people hold.

The shape follows the OECD review of ISSSTE's public procurement (2013); see `backend.demo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.org.models import (
    JobFamily,
    UnitKind,
)

# The demo's "today": every date is computed from it, so the output does not depend on the day
# it is generated.
AS_OF = date(2026, 10, 1)
EMAIL_DOMAIN = "demo.merito.mx"
# Share of the generated employees who have already left (history for turnover figures).
LEFT_SHARE = 0.07

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


def plan_units() -> list[UnitPlan]:
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


def plan_positions(units: list[UnitPlan]) -> list[PositionPlan]:
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
