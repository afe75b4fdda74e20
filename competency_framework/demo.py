"""The competency side of the demo organisation: eighteen months of ratings and campaigns.

`seed_rating_history` is called by `backend.demo.generate`, in the same transaction, once the
people exist. It writes what a year and a half of use would have left behind, the way the
service writes it: an append-only log in which a supervisor's decision is a new validated entry
pointing at the self-assessment it reviews (with a reason when it sets another level),
`current_rating` holding the newest validated entry of each employee × competency, and the
ratings revision advanced once, its value stamped on those rows. The history, relative to the
demo's "today" (`as_of`, 1 October 2026):

- **June–July 2025, a diagnostic** of the central procurement staff by an external assessment
  centre, imported by HR in three batches (source "assessment", validated).
- **February–May 2026, a campaign for the decentralised units** (delegations, hospitals, the
  National Medical Centre, the non-medical entities), closed: three in four procurement staff
  rated themselves on every competency and most were validated by their supervisor (by HR where
  nobody heads the unit); some still wait in their supervisor's queue.
- **Spring 2026, an external assessment of user-area staff** (a third of them), imported by HR.
- **One-off entries** after each round: a supervisor's rating or a passed certification, one
  level up in the competency furthest below its requirement.
- **September 2026, the centre's first self-assessment**, open until 30 November: a quarter
  done (about half of those validated), some half-way, most not started.

Levels are drawn around the required level of the person's role profile: the person's own
ability, their unit's (decentralised units weaker on average, as the OECD review found:
delegations weakest, hospitals and the non-medical entities between them and the centre; each
unit differs a little), a formal procurement qualification, length of service, and a lasting
per-competency component; later rounds sit a little higher (people learn), and self-ratings lean
above the supervisor's. Some people have no assessment yet (hired since, or missed the round):
they count as level 0, as anyone never rated does, so the attention list has real critical gaps
and single points of failure in it.

Everything is drawn with numpy from `default_rng((seed, HISTORY_STREAM))`, in a fixed order:
same seed, same history; the organisation's own random stream is untouched, so adding the
history did not change the people. Ids are given in time order across the whole log (a higher id
is never an earlier entry, as when the service writes them one by one). Rows go in with
`backend.db.insert_rows` in batches; on SQLite the log's (employee, competency, id) index is
built once after the load instead of row by row, and `current_rating` is derived from the log
with one INSERT … SELECT, so 100 000 employees still take seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
from sqlalchemy import func, insert, literal, select, text
from sqlalchemy import select as sa_select
from sqlmodel import Session

from backend.config import Settings
from backend.db import insert_rows
from backend.demo import DemoAccount, DemoPerson
from backend.org.models import Employee
from competency_framework import service
from competency_framework.models import (
    AssessmentCampaign,
    CampaignParticipant,
    CurrentRating,
    RatingEntry,
    RatingSource,
)

# Mixed with the seed so the history has its own stream, independent of the organisation's.
HISTORY_STREAM = 0x52415445
BATCH_SIZE = 20_000
# Where a unit sits, and how far its people are on average from their required level.
SETTING_EFFECT = {"central": 0.35, "hospital": -0.15, "entity": -0.2, "delegation": -0.3}
UNIT_SPREAD = 0.3  # how much units in the same setting differ from each other
# The sources of the entries the demo writes, by code (index into SOURCES).
SOURCES = [RatingSource.self, RatingSource.supervisor, RatingSource.hr, RatingSource.assessment]
SELF, SUPERVISOR, HR, ASSESSMENT = range(4)
MICROSECONDS_PER_DAY = 86_400_000_000
# Office hours in Mexico City (UTC−6), as seconds of the UTC day: 09:00–18:00 local.
OFFICE_HOURS = (15 * 3600, 24 * 3600 - 1)

# The rounds, as dates (the demo's "today" is 1 October 2026).
DIAGNOSTIC_IMPORTS = [date(2025, 6, 9), date(2025, 6, 23), date(2025, 7, 7)]
CAMPAIGN_2026 = (
    "Evaluación de competencias 2026: unidades desconcentradas",
    date(2026, 2, 16),
    date(2026, 4, 17),
)
CAMPAIGN_2026_CLOSED = date(2026, 5, 29)
USER_AREA_IMPORTS = [date(2026, 5, 11), date(2026, 6, 1)]
FOLLOW_UP = ("Autoevaluación 2026-II: unidades centrales", date(2026, 9, 14), date(2026, 11, 30))
IMPORT_TIME = 23 * 3600 * 1_000_000  # 17:00 in Mexico City
# The log's index on (employee, competency, id): rows arrive in time order, so keeping it up
# to date row by row is the slowest part of the load; it is built once at the end instead.
RANDOM_ORDER_INDEX = "ix_rating_entry_employee_competency"

# Notes as people write them (the demo's people work in Spanish).
DIAGNOSTIC = "Diagnóstico externo de competencias 2025 (resultados cargados por RH)."
USER_AREA = "Evaluación externa de competencias en contratación de áreas requirentes 2026."
SELF_NOTES = [
    "Conduje licitaciones públicas de insumos médicos este año.",
    "Elaboré los estudios de mercado de las compras consolidadas de mi área.",
    "Participé en la integración del Programa Anual de Adquisiciones.",
    "Administro los contratos de mantenimiento de equipo médico de la unidad.",
    "Capacitación en CompraNet y en la LAASSP concluida.",
    "Atiendo las solicitudes de las áreas requirentes y reviso sus especificaciones técnicas.",
]
REASONS = [
    "No hay evidencia suficiente del nivel declarado; lo revisaremos en el seguimiento.",
    "Todavía requiere supervisión en procedimientos de licitación pública.",
    "Lo aplica de forma autónoma y orienta al equipo; el nivel es mayor al declarado.",
    "Las evaluaciones de proveedores que elaboró muestran un nivel distinto al declarado.",
]
ONE_OFF_NOTES = [
    "Concluyó el diplomado en contrataciones públicas y lo aplica en los procedimientos.",
    "Condujo la licitación consolidada del trimestre sin observaciones del OIC.",
    "Aprobó la Certificación en Contrataciones Públicas (SFP).",
]
NOTES = [DIAGNOSTIC, USER_AREA, *SELF_NOTES, *REASONS, *ONE_OFF_NOTES]
_NOTE = {text: i for i, text in enumerate(NOTES)}


@dataclass(frozen=True)
class RatingHistory:
    """What `seed_rating_history` wrote."""

    entries: int = 0
    current_ratings: int = 0
    people_rated: int = 0
    awaiting_validation: int = 0  # people with self-ratings waiting for their supervisor
    campaigns: int = 0


class _Log:
    """Rating entries as parallel numpy arrays, in the order they are drawn (not yet by time)."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []
        self.size = 0

    def add(
        self,
        *,
        person: np.ndarray,
        comp: np.ndarray,
        level: np.ndarray,
        source: np.ndarray | int,
        validated: bool,
        at: np.ndarray,
        campaign: int = 0,
        note: np.ndarray | int = -1,
        review: np.ndarray | None = None,
    ) -> int:
        """Append entries; return the index of the first (to point reviews at them)."""
        m = len(person)
        start = self.size
        self.parts.append(
            {
                "person": person.astype(np.int64),
                "comp": comp.astype(np.int64),
                "level": level.astype(np.int64),
                "source": np.broadcast_to(np.asarray(source, dtype=np.int64), (m,)).copy(),
                "validated": np.full(m, validated),
                "at": at.astype(np.int64),
                "campaign": np.full(m, campaign, dtype=np.int64),
                "note": np.broadcast_to(np.asarray(note, dtype=np.int64), (m,)).copy(),
                "review": (
                    np.full(m, -1, dtype=np.int64) if review is None else review.astype(np.int64)
                ),
            }
        )
        self.size += m
        return start

    def columns(self) -> dict[str, np.ndarray]:
        if not self.parts:
            return {}
        return {key: np.concatenate([p[key] for p in self.parts]) for key in self.parts[0]}


def _day(value: date, as_of: date) -> int:
    return (value - as_of).days


def _requirements(session: Session, competency_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Return {role_code: required level per competency} of the role profiles in force."""
    org = service.load_org_frames(session)
    requirements = service.fetch_requirements(session)
    by_role = org.profiles[org.profiles["position_id"].isna()]
    position = {int(c): i for i, c in enumerate(competency_ids)}
    out: dict[str, np.ndarray] = {}
    for role_code, profile_id in zip(by_role["role_code"], by_role["profile_id"], strict=True):
        levels = np.zeros(len(competency_ids), dtype=np.int64)
        rows = requirements[requirements["profile_id"] == int(profile_id)]
        for competency_id, required in zip(rows["competency_id"], rows["required"], strict=True):
            if int(competency_id) in position:
                levels[position[int(competency_id)]] = int(required)
        out[str(role_code)] = levels
    return out


def seed_rating_history(
    session: Session, people: list[DemoPerson], *, seed: int, as_of: date
) -> RatingHistory:
    """Write the demo's rating history and campaigns for `people` (the caller commits)."""
    competencies = service.list_competencies(session)
    if not competencies or not people:
        return RatingHistory()
    competency_ids = np.array([c.id for c in competencies], dtype=np.int64)
    k = len(competency_ids)
    required_by_role = _requirements(session, competency_ids)
    people = [p for p in people if p.role_code in required_by_role]
    if not people:
        return RatingHistory()
    n = len(people)
    rng = np.random.default_rng((seed, HISTORY_STREAM))

    employee_ids = np.array([p.employee_id for p in people], dtype=np.int64)
    roles = sorted(required_by_role)
    role_index = np.array([roles.index(p.role_code) for p in people], dtype=np.int64)
    required = np.stack([required_by_role[r] for r in roles])[role_index]
    settings = np.array([p.setting for p in people])
    procurement = np.array([p.procurement for p in people], dtype=bool)
    central = settings == "central"
    hire = np.array([_day(p.hire, as_of) for p in people], dtype=np.int64)
    far = 10**6
    left = np.array([_day(p.left_on, as_of) if p.left_on else far for p in people], dtype=np.int64)
    supervised = np.array([p.supervised for p in people], dtype=bool)

    # Where each person starts from: required level (1 where the profile asks for nothing)
    # plus the unit's, their own and a lasting per-competency component.
    unit_codes, unit_of = np.unique([p.unit_code for p in people], return_inverse=True)
    unit_setting = {p.unit_code: p.setting for p in people}
    unit_effect = np.array(
        [SETTING_EFFECT.get(unit_setting[str(code)], 0.0) for code in unit_codes]
    ) + rng.normal(0.0, UNIT_SPREAD, len(unit_codes))
    tenure = -hire / 365.25
    ability = (
        rng.normal(0.0, 0.55, n)
        + 0.35 * np.array([p.qualified for p in people])
        + np.where(tenure > 8, 0.15, 0.0)
        - np.where(tenure < 2, 0.25, 0.0)
    )
    latent = (
        np.where(required > 0, required, 1)
        + (unit_effect[unit_of] + ability)[:, None]
        + rng.normal(0.0, 0.55, (n, k))
    )

    def levels(growth: float) -> np.ndarray:
        drawn = latent + growth + rng.normal(0.0, 0.3, (n, k))
        return np.clip(np.rint(drawn), 0, 4).astype(np.int64)

    def office_time(days: np.ndarray) -> np.ndarray:
        seconds = rng.integers(*OFFICE_HOURS, size=len(days))
        return days * MICROSECONDS_PER_DAY + seconds * 1_000_000

    def present(day: int) -> np.ndarray:
        return (hire < day) & (left > day)

    def imported(who: np.ndarray, days: list[date], growth: float, note: str) -> np.ndarray:
        """Write validated "assessment" results of `who`, imported by HR; return who got them."""
        on = np.array([_day(d, as_of) for d in days])[rng.integers(0, len(days), len(who))]
        keep = on < left[who]
        who, on = who[keep], on[keep]
        drawn = np.maximum(levels(growth), floor)
        person, comp = np.repeat(who, k), np.tile(np.arange(k), len(who))
        log.add(
            person=person,
            comp=comp,
            level=drawn[person, comp],
            source=ASSESSMENT,
            validated=True,
            # One import writes all its rows at once, after office hours.
            at=np.repeat(on * MICROSECONDS_PER_DAY + IMPORT_TIME, k),
            note=_NOTE[note],
        )
        latest[person, comp] = drawn[person, comp]
        return who

    def one_off(who: np.ndarray, share: float, days: tuple[date, date]) -> None:
        _one_off(
            log,
            rng,
            who=who,
            latest=latest,
            floor=floor,
            required=required,
            supervised=supervised,
            left=left,
            share=share,
            days=(_day(days[0], as_of), _day(days[1], as_of)),
        )

    log = _Log()
    # The newest validated level drawn so far (-1: none yet), and a floor from one-off level-ups
    # that later rounds do not undo.
    latest = np.full((n, k), -1, dtype=np.int64)
    floor = np.zeros((n, k), dtype=np.int64)

    # 1. The 2025 diagnostic of the central procurement staff, by an external assessment centre.
    eligible = procurement & central & present(_day(DIAGNOSTIC_IMPORTS[0], as_of) - 60)
    diagnosed = imported(
        np.flatnonzero(eligible & (rng.random(n) < 0.85)), DIAGNOSTIC_IMPORTS, -0.15, DIAGNOSTIC
    )
    one_off(diagnosed, 0.12, (date(2025, 8, 18), date(2026, 1, 30)))

    # 2. The 2026 campaign, closed: the procurement staff of the decentralised units.
    name, opened_on, deadline = CAMPAIGN_2026
    opened = _day(opened_on, as_of)
    asked_2026 = np.flatnonzero(procurement & ~central & present(opened))
    campaign_2026 = _campaign(
        session,
        name=name,
        opened=opened_on,
        deadline=deadline,
        closed=CAMPAIGN_2026_CLOSED,
        roles=sorted({roles[i] for i in role_index[asked_2026]}),
        units=sorted({str(unit_codes[unit_of[i]]) for i in asked_2026}),
    )
    who = asked_2026[rng.random(len(asked_2026)) < 0.75]
    self_days = opened + rng.integers(0, 60, len(who))
    who, self_days = who[self_days < left[who]], self_days[self_days < left[who]]
    waiting = _self_and_validation(
        log,
        rng,
        who=who,
        self_days=self_days,
        true=np.maximum(levels(0.0), floor),
        latest=latest,
        left=left,
        supervised=supervised,
        validated_share=0.93,
        lag=(1, 35),
        campaign=campaign_2026.id,
        last_day=_day(CAMPAIGN_2026_CLOSED, as_of),
    )
    one_off(np.setdiff1d(who, waiting), 0.1, (date(2026, 6, 8), date(2026, 9, 4)))

    # 3. The user areas that draft specifications: an external assessment, spring 2026.
    eligible = ~procurement & present(_day(USER_AREA_IMPORTS[0], as_of) - 30)
    imported(np.flatnonzero(eligible & (rng.random(n) < 0.35)), USER_AREA_IMPORTS, 0.0, USER_AREA)

    # 4. The centre's first self-assessment, open and part-way through.
    name, opened_on, deadline = FOLLOW_UP
    opened = _day(opened_on, as_of)
    asked_now = np.flatnonzero(procurement & central & present(opened))
    follow_up = _campaign(
        session,
        name=name,
        opened=opened_on,
        deadline=deadline,
        closed=None,
        roles=sorted({roles[i] for i in role_index[asked_now]}),
        units=sorted({str(unit_codes[unit_of[i]]) for i in asked_now}),
    )
    progress = rng.random(len(asked_now))
    done = asked_now[progress < 0.25]
    halfway = asked_now[(progress >= 0.25) & (progress < 0.35)]
    true = np.maximum(levels(0.2), floor)
    self_days = opened + rng.integers(0, 14, len(done))
    keep = self_days < np.minimum(left[done], 0)
    _self_and_validation(
        log,
        rng,
        who=done[keep],
        self_days=self_days[keep],
        true=true,
        latest=latest,
        left=left,
        supervised=supervised,
        validated_share=0.45,
        lag=(1, 10),
        campaign=follow_up.id,
        last_day=-1,
    )
    # Half-way: some competencies saved, none validated yet.
    some = rng.random((len(halfway), k)) < 0.45
    some[np.arange(len(halfway)), rng.integers(0, k, len(halfway))] = True
    days = opened + rng.integers(0, 14, len(halfway))
    keep = days < np.minimum(left[halfway], 0)
    rows, comp = np.nonzero(some[keep])
    person = halfway[keep][rows]
    log.add(
        person=person,
        comp=comp,
        level=_self_view(rng, true[person, comp]),
        source=SELF,
        validated=False,
        at=office_time(days[keep])[rows],
        campaign=follow_up.id,
        note=_self_notes(rng, len(person)),
    )
    first_id = 1 + int(session.execute(select(func.coalesce(func.max(RatingEntry.id), 0))).scalar())
    unit_codes_of = [p.unit_code for p in people]
    _participants(session, campaign_2026.id, employee_ids, unit_codes_of, asked_2026)
    _participants(session, follow_up.id, employee_ids, unit_codes_of, asked_now)
    with _index_built_afterwards(session, RANDOM_ORDER_INDEX):
        entries, awaiting = _write(
            session,
            log,
            employee_ids=employee_ids,
            competency_ids=competency_ids,
            as_of=as_of,
            first_id=first_id,
        )
    current = _derive_current_ratings(session, first_id=first_id)
    return RatingHistory(
        entries=entries,
        current_ratings=current,
        people_rated=int((latest >= 0).any(axis=1).sum()),
        awaiting_validation=awaiting,
        campaigns=2,
    )


def _self_view(rng: np.random.Generator, true: np.ndarray) -> np.ndarray:
    """Return self-ratings of people whose supervisor would say `true`: they lean higher."""
    lean = rng.choice([-1, 0, 1], size=true.shape, p=[0.06, 0.66, 0.28])
    return np.clip(true + lean, 0, 4)


def _self_notes(rng: np.random.Generator, m: int) -> np.ndarray:
    """Return note codes for self entries: most leave the evidence note empty."""
    picked = rng.integers(0, len(SELF_NOTES), m) + _NOTE[SELF_NOTES[0]]
    return np.where(rng.random(m) < 0.12, picked, -1)


def _self_and_validation(
    log: _Log,
    rng: np.random.Generator,
    *,
    who: np.ndarray,
    self_days: np.ndarray,
    true: np.ndarray,
    latest: np.ndarray,
    left: np.ndarray,
    supervised: np.ndarray,
    validated_share: float,
    lag: tuple[int, int],
    campaign: int,
    last_day: int,
) -> np.ndarray:
    """Write complete self-assessments and the validations of most; return who still waits."""
    k = true.shape[1]
    person = np.repeat(who, k)
    comp = np.tile(np.arange(k), len(who))
    at_self = np.repeat(self_days * MICROSECONDS_PER_DAY, k)
    at_self += np.repeat(rng.integers(*OFFICE_HOURS, size=len(who)) * 1_000_000, k)
    self_levels = _self_view(rng, true[person, comp])
    first = log.add(
        person=person,
        comp=comp,
        level=self_levels,
        source=SELF,
        validated=False,
        at=at_self,
        campaign=campaign,
        note=_self_notes(rng, len(person)),
    )
    decided = self_days + rng.integers(*lag, size=len(who))
    validated = (
        (rng.random(len(who)) < validated_share)
        & (decided < left[who])
        & (decided <= max(last_day, -1))
    )
    by_hr = ~supervised[who] | (rng.random(len(who)) < 0.05)
    rows = np.flatnonzero(validated)
    vperson = np.repeat(who[rows], k)
    vcomp = np.tile(np.arange(k), len(rows))
    self_index = first + np.repeat(rows * k, k) + vcomp
    level = true[vperson, vcomp]
    differs = level != self_levels[np.repeat(rows * k, k) + vcomp]
    reason = rng.integers(0, len(REASONS), len(vperson)) + _NOTE[REASONS[0]]
    at = np.repeat(decided[rows] * MICROSECONDS_PER_DAY, k)
    at += np.repeat(rng.integers(*OFFICE_HOURS, size=len(rows)) * 1_000_000, k)
    log.add(
        person=vperson,
        comp=vcomp,
        level=level,
        source=np.where(np.repeat(by_hr[rows], k), HR, SUPERVISOR),
        validated=True,
        at=at,
        campaign=campaign,
        note=np.where(differs, reason, -1),
        review=self_index,
    )
    latest[vperson, vcomp] = level
    return who[~validated]


def _one_off(
    log: _Log,
    rng: np.random.Generator,
    *,
    who: np.ndarray,
    latest: np.ndarray,
    floor: np.ndarray,
    required: np.ndarray,
    supervised: np.ndarray,
    left: np.ndarray,
    share: float,
    days: tuple[int, int],
) -> None:
    """A level up, rated directly, in the competency furthest below its requirement."""
    chosen = who[rng.random(len(who)) < share]
    on = rng.integers(days[0], days[1] + 1, len(chosen))
    chosen, on = chosen[on < left[chosen]], on[on < left[chosen]]
    shortfall = np.where(latest[chosen] >= 0, required[chosen] - latest[chosen], -9)
    comp = np.argmax(shortfall + rng.random(shortfall.shape) * 0.5, axis=1)
    keep = latest[chosen, comp] < 4
    chosen, on, comp = chosen[keep], on[keep], comp[keep]
    level = latest[chosen, comp] + 1
    kind = rng.random(len(chosen))
    source = np.where(
        kind < 0.25, ASSESSMENT, np.where(supervised[chosen] & (kind < 0.9), SUPERVISOR, HR)
    )
    note = np.where(
        source == ASSESSMENT,
        _NOTE[ONE_OFF_NOTES[2]],
        rng.integers(0, 2, len(chosen)) + _NOTE[ONE_OFF_NOTES[0]],
    )
    seconds = rng.integers(*OFFICE_HOURS, size=len(chosen))
    log.add(
        person=chosen,
        comp=comp,
        level=level,
        source=source,
        validated=True,
        at=on * MICROSECONDS_PER_DAY + seconds * 1_000_000,
        note=note,
    )
    latest[chosen, comp] = level
    floor[chosen, comp] = np.maximum(floor[chosen, comp], level)


def _campaign(
    session: Session,
    *,
    name: str,
    opened: date,
    deadline: date,
    closed: date | None,
    roles: list[str],
    units: list[str],
) -> AssessmentCampaign:
    campaign = AssessmentCampaign(
        name=name,
        deadline=deadline,
        opened_at=datetime(opened.year, opened.month, opened.day, 15, 0, tzinfo=UTC),
        closed_at=(
            datetime(closed.year, closed.month, closed.day, 23, 0, tzinfo=UTC) if closed else None
        ),
        scope={"units": units, "roles": roles, "subunits": False},
    )
    session.add(campaign)
    session.flush()
    return campaign


def _participants(
    session: Session,
    campaign_id: int,
    employee_ids: np.ndarray,
    unit_codes: list[str],
    who: np.ndarray,
) -> None:
    from backend.org.models import Unit

    unit_ids = dict(session.execute(select(Unit.code, Unit.id)).all())
    rows = [
        {
            "campaign_id": campaign_id,
            "employee_id": int(employee_ids[i]),
            "unit_id": unit_ids[unit_codes[i]],
        }
        for i in who.tolist()
    ]
    for start in range(0, len(rows), BATCH_SIZE):
        insert_rows(session, CampaignParticipant.__table__, rows[start : start + BATCH_SIZE])


@contextmanager
def _index_built_afterwards(session: Session, name: str) -> Iterator[None]:
    """On SQLite, drop an index for a bulk load into its (empty) table and rebuild it after.

    The index is recreated from its own stored definition (sqlite_master), so it comes back
    exactly as the migrations made it, in the same transaction: on any failure the rollback
    restores it. Only while its table is empty, as in a new demo. PostgreSQL loads with COPY
    and keeps its indexes.
    """
    connection = session.connection()
    found = None
    if connection.dialect.name == "sqlite":
        found = connection.execute(
            text("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' AND name = :name"),
            {"name": name},
        ).first()
    if found is not None:
        table, _sql = found
        if connection.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first():  # noqa: S608
            found = None
    if found is not None:
        connection.execute(text(f'DROP INDEX "{name}"'))
    yield
    if found is not None:
        connection.execute(text(found[1]))


def _write(
    session: Session,
    log: _Log,
    *,
    employee_ids: np.ndarray,
    competency_ids: np.ndarray,
    as_of: date,
    first_id: int,
) -> tuple[int, int]:
    """Insert the log in time order, with ids from `first_id` in that order.

    Returns the entries written and how many people have self-ratings awaiting validation (the
    newest self entry of a competency, not yet reviewed).
    """
    columns = log.columns()
    if not columns:
        return 0, 0
    m = len(columns["at"])
    k = len(competency_ids)
    # Time order; entries written at the same moment keep the order they were drawn in.
    order = np.lexsort((np.arange(m), columns["at"]))
    new_id = np.empty(m, dtype=np.int64)
    new_id[order] = first_id + np.arange(m, dtype=np.int64)
    review = columns["review"]
    review_id = np.where(review >= 0, new_id[np.maximum(review, 0)], 0)

    # One datetime object per distinct moment (microseconds from `as_of` at midnight UTC):
    # the rows of one event share it, and insert_rows converts it once.
    moments, moment_of = np.unique(columns["at"], return_inverse=True)
    stamps = [
        t.replace(tzinfo=UTC)
        for t in (np.datetime64(as_of, "us") + moments.astype("timedelta64[us]")).tolist()
    ]
    source_names = [str(source) for source in SOURCES]
    notes = ["", *NOTES]  # code -1 → ""
    table = RatingEntry.__table__
    for start in range(0, m, BATCH_SIZE):
        picked = order[start : start + BATCH_SIZE]
        insert_rows(
            session,
            table,
            [
                {
                    "id": entry_id,
                    "employee_id": employee,
                    "competency_id": competency,
                    "level": level,
                    "source": source_names[source],
                    "validated": validated,
                    "review_of_id": review_of or None,
                    "campaign_id": campaign or None,
                    "recorded_by_id": None,
                    "recorded_at": stamps[moment],
                    "note": notes[note + 1],
                    "evidence_url": "",
                }
                for (
                    entry_id,
                    employee,
                    competency,
                    level,
                    source,
                    validated,
                    review_of,
                    campaign,
                    moment,
                    note,
                ) in zip(
                    new_id[picked].tolist(),
                    employee_ids[columns["person"][picked]].tolist(),
                    competency_ids[columns["comp"][picked]].tolist(),
                    columns["level"][picked].tolist(),
                    columns["source"][picked].tolist(),
                    columns["validated"][picked].tolist(),
                    review_id[picked].tolist(),
                    columns["campaign"][picked].tolist(),
                    moment_of[picked].tolist(),
                    columns["note"][picked].tolist(),
                    strict=True,
                )
            ],
        )
    if session.connection().dialect.name == "postgresql":
        # The ids were given here, not by the sequence: move it past them.
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('rating_entry', 'id'), :last)"),
            {"last": first_id + m - 1},
        )

    selves = np.flatnonzero(columns["source"] == SELF)
    key = columns["person"][selves] * k + columns["comp"][selves]
    by_key = selves[np.lexsort((new_id[selves], key))]
    sorted_key = columns["person"][by_key] * k + columns["comp"][by_key]
    newest = by_key[np.r_[sorted_key[1:] != sorted_key[:-1], True]]
    reviewed = np.zeros(m, dtype=bool)
    reviewed[review[review >= 0]] = True
    awaiting = len(np.unique(columns["person"][newest[~reviewed[newest]]]))
    return m, awaiting


def _derive_current_ratings(session: Session, *, first_id: int) -> int:
    """Write `current_rating` from the log: the newest validated entry per employee × competency.

    Set-based, by the definition itself (ids are in time order, so the newest is the highest),
    stamped with a new ratings revision as the service stamps what it writes.
    """
    revision = service.advance_ratings_revision(session)
    entry = RatingEntry.__table__
    newest = (
        sa_select(func.max(entry.c.id).label("id"))
        .where(entry.c.validated.is_(True), entry.c.id >= first_id)
        .group_by(entry.c.employee_id, entry.c.competency_id)
        .subquery()
    )
    current = CurrentRating.__table__
    written = session.execute(
        insert(current).from_select(
            ["employee_id", "competency_id", "level", "entry_id", "source", "rated_at", "revision"],
            sa_select(
                entry.c.employee_id,
                entry.c.competency_id,
                entry.c.level,
                entry.c.id,
                entry.c.source,
                entry.c.recorded_at,
                literal(revision),
            ).join(newest, newest.c.id == entry.c.id),
        )
    )
    return written.rowcount


def include_demo_accounts(session: Session, employee_ids: list[int]) -> int:
    """Put the demo accounts' employees in the newest open campaign; return how many joined.

    The open campaign covers the central procurement staff; the demo supervisor and employee
    may work elsewhere, and then could not take part. They join it as HR would have included
    them (with their current unit), so both can self-assess and the supervisor validate on the
    first `merito up`. Idempotent; nothing happens without an open campaign.
    """
    campaign_id = session.execute(
        select(AssessmentCampaign.id)
        .where(AssessmentCampaign.closed_at.is_(None))
        .order_by(AssessmentCampaign.opened_at.desc())
        .limit(1)
    ).scalar()
    if campaign_id is None or not employee_ids:
        return 0
    inside = set(
        session.execute(
            select(CampaignParticipant.employee_id).where(
                CampaignParticipant.campaign_id == campaign_id,
                CampaignParticipant.employee_id.in_(employee_ids),
            )
        ).scalars()
    )
    joining = [
        {"campaign_id": campaign_id, "employee_id": employee_id, "unit_id": unit_id}
        for employee_id, unit_id in session.execute(
            select(Employee.id, Employee.unit_id).where(Employee.id.in_(employee_ids))
        )
        if employee_id not in inside
    ]
    if joining:
        session.execute(insert(CampaignParticipant), joining)
    return len(joining)


def seed_people(
    session: Session, people: list[DemoPerson], *, seed: int, as_of: date
) -> dict[str, int]:
    """The `demo.people` hook: the generated people's rating history (the caller commits)."""
    history = seed_rating_history(session, people, seed=seed, as_of=as_of)
    return {
        "rating_entries": history.entries,
        "current_ratings": history.current_ratings,
        "people_rated": history.people_rated,
        "awaiting_validation": history.awaiting_validation,
        "campaigns": history.campaigns,
    }


def prepare_accounts(session: Session, settings: Settings, accounts: list[DemoAccount]) -> None:
    """The `demo.accounts` hook: the demo accounts' employees join the open campaign."""
    include_demo_accounts(session, [a.employee_id for a in accounts if a.employee_id is not None])
