"""The demo organisation: its shape, its people, determinism, refusals, accounts and the CLI."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, inspect
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from backend import demo
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.auth.service import roles_of
from backend.db import make_engine
from backend.org import service as org_service
from backend.org.models import (
    Employee,
    EmployeeQualification,
    EmployeeStatus,
    EmployeeStatusChange,
    Position,
    Qualification,
    Unit,
    UnitKind,
)
from competency_framework import gaps
from competency_framework import service as campaigns_service
from competency_framework import service as competency_service
from competency_framework.models import AssessmentCampaign, CurrentRating, RatingEntry
from tests.conftest import login

MEXICAN_STATES = {state for _code, state, _region, _size in demo.STATES} | {demo.CDMX}
REGIONS = {"Noroeste", "Noreste", "Occidente", "Centro", "Sur", "Sureste"}
PROCUREMENT_ROLES = {
    "head_of_unit",
    "procurement_specialist",
    "procurement_officer",
    "market_research_analyst",
    "contract_manager",
    "technical_support",
    "administrative_support",
}


def _people(engine) -> list[tuple]:
    """Return every employee as comparable values (no database ids), by number."""
    with Session(engine) as session:
        units = dict(session.exec(select(Unit.id, Unit.code)).all())
        positions = dict(session.exec(select(Position.id, Position.code)).all())
        numbers = dict(session.exec(select(Employee.id, Employee.number)).all())
        rows = session.exec(select(Employee).order_by(col(Employee.number))).all()
        return [
            (
                e.number,
                e.first_name,
                e.last_name,
                e.email,
                e.hire_date,
                e.birth_date,
                e.status,
                units[e.unit_id],
                positions[e.position_id],
                numbers.get(e.supervisor_id),
            )
            for e in rows
        ]


@pytest.fixture
def fresh_sqlite(sqlite_template, tmp_path):
    """Return a function giving engines on new, migrated SQLite databases."""
    engines = []

    def build(name: str):
        target = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, target)
        engines.append(make_engine(f"sqlite:///{target}"))
        return engines[-1]

    yield build
    for engine in engines:
        engine.dispose()


def test_demo_organisation_has_the_shape_of_the_institute(engine, session):
    summary = demo.generate(engine, employees=300, seed=7)

    kinds = Counter(session.exec(select(Unit.kind)).all())
    assert kinds[UnitKind.delegation] == 35
    assert kinds[UnitKind.regional_hospital] == 12
    assert kinds[UnitKind.national_medical_centre] == 1
    assert kinds[UnitKind.non_medical_entity] == 4
    assert 90 <= kinds[UnitKind.procurement_unit] <= 110
    assert kinds[UnitKind.user_area] > 50
    assert summary.units == sum(kinds.values())
    assert summary.procurement_units == kinds[UnitKind.procurement_unit]
    assert summary.employees == 300
    assert session.exec(select(func.count()).select_from(Employee)).one() == 300
    assert session.exec(select(func.count()).select_from(Position)).one() == summary.positions

    units = session.exec(select(Unit)).all()
    by_id = {u.id: u for u in units}
    delegations = [u for u in units if u.kind == UnitKind.delegation]
    assert {u.state for u in delegations} == MEXICAN_STATES  # all 32; Mexico City has four
    assert {u.region for u in units} == REGIONS
    assert all(u.region and u.state for u in units)
    entities = {u.name for u in units if u.kind == UnitKind.non_medical_entity}
    for name in ("SuperISSSTE", "TURISSSTE", "FOVISSSTE", "PENSIONISSSTE"):
        assert any(name in entity for entity in entities)
    assert any("20 de Noviembre" in u.name for u in units)
    administration = org_service.unit_by_code(session, "DA")
    assert administration.is_central and administration.name == "Dirección de Administración"
    sub_directorates = {u.name for u in units if u.parent_id == administration.id}
    assert "Subdirección de Abasto de Insumos Médicos" in sub_directorates
    assert all(by_id[u.parent_id].is_central for u in units if u.is_central and u.parent_id)
    assert not any(u.is_central for u in delegations)
    # Every delegation, hospital, the medical centre and every entity buys through its own unit.
    for parent in units:
        if parent.kind in (
            UnitKind.delegation,
            UnitKind.regional_hospital,
            UnitKind.national_medical_centre,
            UnitKind.non_medical_entity,
        ):
            children = [u for u in units if u.parent_id == parent.id]
            assert any(c.kind == UnitKind.procurement_unit for c in children), parent.name
            assert all((c.region, c.state) == (parent.region, parent.state) for c in children)
    # One tree under the Director General's office.
    assert [u.code for u in units if u.parent_id is None] == ["DG"]


def test_positions_follow_the_role_profiles_and_some_are_planned_above_occupancy(engine, session):
    demo.generate(engine, employees=2000, seed=7)
    positions = session.exec(select(Position)).all()
    procurement = [p for p in positions if p.job_family == "procurement"]
    assert {p.role_code for p in procurement} == PROCUREMENT_ROLES
    assert {p.role_code for p in positions if p.job_family == "user_area"} == {"user_area_staff"}
    assert all(p.title and p.grade for p in positions)
    present = Counter(
        session.exec(
            select(Employee.position_id).where(Employee.status != EmployeeStatus.left)
        ).all()
    )
    short = [p for p in positions if p.planned_headcount > present[p.id]]
    assert short, "workforce planning needs shortfalls to show"
    assert len(short) < len(positions) / 2
    assert all(p.planned_headcount >= present[p.id] for p in positions)


def test_everyone_has_a_unit_a_post_and_a_reporting_line_without_loops(engine, session):
    demo.generate(engine, employees=300, seed=7)
    employees = session.exec(select(Employee)).all()
    supervisor_of = {e.id: e.supervisor_id for e in employees}
    assert all(e.unit_id and e.position_id for e in employees)
    director_general = org_service.unit_by_code(session, "DG")
    assert [e.unit_id for e in employees if e.supervisor_id is None] == [director_general.id]
    for employee_id in supervisor_of:
        seen, current = set(), employee_id
        while current is not None:
            assert current not in seen, f"reporting loop through employee {current}"
            seen.add(current)
            current = supervisor_of[current]
    for employee in employees[::20]:
        assert not org_service.would_create_cycle(
            session, employee_id=employee.id, supervisor_id=employee.supervisor_id
        )


def test_staff_report_to_their_head_and_local_buyers_to_a_central_sub_director(engine, session):
    demo.generate(engine, employees=1500, seed=7)
    units = {u.id: u for u in session.exec(select(Unit)).all()}
    positions = {p.id: p for p in session.exec(select(Position)).all()}
    employees = {e.id: e for e in session.exec(select(Employee)).all()}
    head_of = {
        e.unit_id: e for e in employees.values() if positions[e.position_id].code.endswith("-TIT")
    }
    local_heads = 0
    for employee in employees.values():
        unit = units[employee.unit_id]
        is_head = head_of.get(unit.id) is employee
        if not is_head and unit.id in head_of:
            assert employee.supervisor_id == head_of[unit.id].id
        if (
            is_head
            and unit.kind == UnitKind.procurement_unit
            and units[unit.parent_id].kind
            in (UnitKind.delegation, UnitKind.regional_hospital, UnitKind.national_medical_centre)
        ):
            boss_unit = units[employees[employee.supervisor_id].unit_id]
            assert boss_unit.kind == UnitKind.sub_directorate and boss_unit.is_central
            local_heads += 1
    assert local_heads > 50


def test_people_look_like_a_real_workforce(engine, session):
    demo.generate(engine, employees=3000, seed=11)
    employees = session.exec(select(Employee)).all()
    assert len({e.number for e in employees}) == 3000
    assert len({e.email for e in employees}) == 3000
    assert all(len(e.last_name.split()) >= 2 for e in employees)  # two surnames
    assert any("á" in e.last_name or "é" in e.last_name for e in employees)
    hires = [e.hire_date for e in employees]
    assert min(hires).year <= demo.AS_OF.year - 25 and max(hires) <= demo.AS_OF
    assert all(e.birth_date < e.hire_date for e in employees)
    near_retirement = [e for e in employees if (demo.AS_OF - e.birth_date).days > 60 * 365]
    assert 0.02 * 3000 < len(near_retirement) < 0.2 * 3000
    status = Counter(e.status for e in employees)
    assert status[EmployeeStatus.active] > 0.8 * 3000
    assert status[EmployeeStatus.on_leave] > 0 and status[EmployeeStatus.left] > 0

    # The status history ends in the current status, so turnover can be computed from it.
    history: dict[int, list[EmployeeStatusChange]] = {}
    for change in session.exec(
        select(EmployeeStatusChange).order_by(
            col(EmployeeStatusChange.effective_on), col(EmployeeStatusChange.id)
        )
    ):
        history.setdefault(change.employee_id, []).append(change)
    for employee in employees:
        changes = history[employee.id]
        assert changes[0].status == EmployeeStatus.active
        assert changes[0].effective_on == employee.hire_date
        assert changes[-1].status == employee.status
        assert all(c.effective_on <= demo.AS_OF for c in changes)


def test_procurement_qualifications_are_a_minority_and_rarer_in_local_units(engine, session):
    demo.generate(engine, employees=4000, seed=5)
    procurement_codes = set(
        session.exec(select(Qualification.code).where(col(Qualification.is_procurement))).all()
    )
    assert {"CERT-SFP-CP", "CIPS-L4"} <= procurement_codes
    qualified = set(
        session.exec(
            select(EmployeeQualification.employee_id)
            .join(Qualification, col(Qualification.id) == EmployeeQualification.qualification_id)
            .where(col(Qualification.is_procurement))
        ).all()
    )
    rows = session.exec(
        select(Employee.id, Unit.is_central)
        .join(Unit, col(Unit.id) == Employee.unit_id)
        .join(Position, col(Position.id) == Employee.position_id)
        .where(Position.job_family == "procurement")
    ).all()
    share = {}
    for central in (True, False):
        ids = [eid for eid, is_central in rows if is_central is central]
        share[central] = sum(eid in qualified for eid in ids) / len(ids)
    assert share[True] < 0.5 and share[False] < share[True]


def test_same_seed_gives_the_same_organisation_and_another_seed_another(engine, fresh_sqlite):
    demo.generate(engine, employees=300, seed=42)
    again = fresh_sqlite("again")
    demo.generate(again, employees=300, seed=42)
    other = fresh_sqlite("other")
    demo.generate(other, employees=300, seed=43)

    first = _people(engine)
    assert len(first) == 300
    assert _people(again) == first  # on SQLite too when `engine` is PostgreSQL
    different = _people(other)
    assert {p[0] for p in different} != {p[0] for p in first}
    assert [p[1:3] for p in different] != [p[1:3] for p in first]


def test_generation_refuses_a_database_that_already_has_an_organisation(engine, session, org):
    before = session.exec(select(func.count()).select_from(Employee)).one()
    with pytest.raises(demo.DemoError, match="already has an organisation"):
        demo.generate(engine, employees=100, seed=1)
    assert session.exec(select(func.count()).select_from(Employee)).one() == before


def test_generation_cannot_run_twice(engine, session):
    demo.generate(engine, employees=120, seed=1)
    with pytest.raises(demo.DemoError):
        demo.generate(engine, employees=120, seed=1)
    assert session.exec(select(func.count()).select_from(Employee)).one() == 120


def test_generation_writes_one_audit_entry_naming_the_seed(engine, session):
    from backend import audit

    demo.generate(engine, employees=150, seed=9)
    entries = session.exec(select(audit.AuditEntry)).all()
    generated = [e for e in entries if e.action == "demo.generated"]
    assert len(generated) == 1
    assert generated[0].after["seed"] == 9 and generated[0].after["employees"] == 150
    assert (
        generated[0].after["rating_entries"]
        == session.exec(select(func.count()).select_from(RatingEntry)).one()
    )
    assert audit.verify(session).ok


@pytest.mark.parametrize("employees", [0, -5])
def test_generation_rejects_a_nonsensical_size(engine, employees):
    with pytest.raises(demo.DemoError):
        demo.generate(engine, employees=employees, seed=1)


def test_demo_accounts_are_idempotent_and_every_one_can_sign_in(engine, session, settings, client):
    demo.generate(engine, employees=300, seed=3)
    accounts = demo.create_demo_accounts(session, settings)
    session.commit()
    assert {a.role for a in accounts} == {r.value for r in Role}
    assert all(a.email.endswith("@demo.merito.mx") for a in accounts)
    users_before = session.exec(select(func.count()).select_from(User)).one()

    again = demo.create_demo_accounts(session, settings)
    session.commit()
    assert [(a.role, a.email, a.password) for a in again] == [
        (a.role, a.email, a.password) for a in accounts
    ]
    assert session.exec(select(func.count()).select_from(User)).one() == users_before

    by_role = {a.role: a for a in accounts}
    supervisor = session.exec(select(User).where(User.email == by_role["supervisor"].email)).one()
    employee = session.exec(select(User).where(User.email == by_role["employee"].email)).one()
    assert Role.supervisor in roles_of(session, supervisor)
    assert Role.supervisor not in roles_of(session, employee)
    assert session.get(Employee, employee.employee_id).supervisor_id == supervisor.employee_id

    for account in accounts:
        client.cookies.clear()
        login(client, account.email, account.password)
        page = client.get("/")
        assert page.status_code == 200
        if account.role == "supervisor":  # the supervisor's team lists the employee account
            assert session.get(Employee, employee.employee_id).last_name in page.text


def test_demo_accounts_are_refused_in_production(session, settings):
    production = settings.model_copy(update={"environment": "production"})
    with pytest.raises(demo.DemoError):
        demo.create_demo_accounts(session, production)
    assert session.exec(select(func.count()).select_from(User)).one() == 0


# --- the rating history ---------------------------------------------------------------------


def _rating_log(engine) -> list[tuple]:
    """Return every rating entry as comparable values (no database ids), in log order."""
    with Session(engine) as session:
        numbers = dict(session.exec(select(Employee.id, Employee.number)).all())
        competencies = {c.id: c.code for c in competency_service.list_competencies(session)}
        campaigns = dict(session.exec(select(AssessmentCampaign.id, AssessmentCampaign.name)).all())
        entries = session.exec(select(RatingEntry).order_by(col(RatingEntry.id))).all()
        position = {e.id: i for i, e in enumerate(entries)}
        return [
            (
                numbers[e.employee_id],
                competencies[e.competency_id],
                e.level,
                e.source,
                e.validated,
                position.get(e.review_of_id),
                campaigns.get(e.campaign_id),
                e.recorded_at,
                e.note,
            )
            for e in entries
        ]


def test_the_demo_has_eighteen_months_of_ratings_in_the_log(engine, session):
    summary = demo.generate(engine, employees=1500, seed=5)
    entries = session.exec(select(RatingEntry).order_by(col(RatingEntry.id))).all()
    assert summary.rating_entries == len(entries) > 1500
    by_id = {e.id: e for e in entries}

    # Self-assessments, supervisors' and HR's validations and imported assessments, spread
    # over the eighteen months before the demo's "today", and ids in time order as the service
    # gives them.
    sources = Counter(e.source for e in entries)
    assert {"self", "supervisor", "hr", "assessment"} <= set(sources)
    assert sources["supervisor"] > sources["hr"]
    stamps = [e.recorded_at for e in entries]
    assert stamps == sorted(stamps)
    as_of = datetime.combine(demo.AS_OF, time(), tzinfo=UTC)
    assert as_of - timedelta(days=500) < stamps[0] < as_of - timedelta(days=420)
    assert as_of - timedelta(days=20) < stamps[-1] < as_of
    months = {(s.year, s.month) for s in stamps}
    assert len(months) >= 8

    # A validation is a new entry pointing at the self-assessment it decides, written later,
    # with a reason whenever it sets another level.
    reviews = [e for e in entries if e.review_of_id is not None]
    assert reviews
    for review in reviews:
        reviewed = by_id[review.review_of_id]
        assert review.validated and review.source in ("supervisor", "hr")
        assert reviewed.source == "self" and not reviewed.validated
        assert (reviewed.employee_id, reviewed.competency_id) == (
            review.employee_id,
            review.competency_id,
        )
        assert reviewed.recorded_at < review.recorded_at
        assert review.note or review.level == reviewed.level
    assert any(r.level != by_id[r.review_of_id].level for r in reviews)
    assert all(not e.validated for e in entries if e.source == "self")
    assert all(e.validated for e in entries if e.source != "self")

    # Most procurement staff in post have been rated; some have not been assessed yet.
    in_post = session.exec(
        select(Employee.id, Position.job_family)
        .join(Position, col(Position.id) == Employee.position_id)
        .where(Employee.status != EmployeeStatus.left)
    ).all()
    rated = set(session.exec(select(CurrentRating.employee_id)).all())
    procurement = [eid for eid, family in in_post if family == "procurement"]
    share = sum(eid in rated for eid in procurement) / len(procurement)
    assert 0.6 < share < 0.95
    assert summary.people_rated == len(rated)


def test_current_levels_are_the_newest_validated_entries_of_the_log(engine, session):
    demo.generate(engine, employees=800, seed=2)
    newest: dict[tuple[int, int], RatingEntry] = {}
    for entry in session.exec(
        select(RatingEntry).where(col(RatingEntry.validated)).order_by(col(RatingEntry.id))
    ):
        newest[(entry.employee_id, entry.competency_id)] = entry
    current = {
        (c.employee_id, c.competency_id): c for c in session.exec(select(CurrentRating)).all()
    }
    assert current.keys() == newest.keys()
    for key, row in current.items():
        entry = newest[key]
        assert (row.entry_id, row.level, row.source, row.rated_at) == (
            entry.id,
            entry.level,
            entry.source,
            entry.recorded_at,
        )
    # Stamped with the ratings revision of the transaction that wrote them, as the service does.
    revision = competency_service.revision(session)
    assert revision.ratings >= 1
    assert {row.revision for row in current.values()} == {revision.ratings}
    # And the log's index is back after the bulk load.
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("rating_entry")}
    assert "ix_rating_entry_employee_competency" in indexes

    # The service carries on from the demo's history: a new self-assessment gets a later id.
    employee = session.get(Employee, next(iter(current))[0])
    entry = competency_service.record_training_result(
        session,
        employee=employee,
        competency=competency_service.list_competencies(session)[0],
        level=2,
    )
    session.flush()
    assert entry.id > max(e.entry_id for e in current.values())
    session.rollback()


def test_the_heatmap_is_not_flat_and_decentralised_units_are_weaker(engine, session):
    demo.generate(engine, employees=2500, seed=1)
    org = competency_service.load_org_frames(session)
    cells = competency_service.organisation_cells(session, org).cells

    by_type = gaps.totals_by_group(gaps.rollup(cells, org.units, group_by="unit_type"))
    coverage = dict(zip(by_type["group"], by_type["coverage"], strict=True))
    assert 0.5 < coverage["central"] < 0.95
    assert 0.2 < coverage["decentralised"] < coverage["central"] - 0.1

    by_unit = gaps.rollup(cells, org.units, group_by="unit")
    per_unit = gaps.totals_by_group(by_unit)
    staffed = per_unit[per_unit["required_n"] >= 20]
    assert staffed["coverage"].std() > 0.1
    assert staffed["coverage"].max() > 0.7 and staffed["coverage"].min() < 0.3
    assert by_unit["mean_gap"].nunique() > 20

    # The attention list names some units, not all of them.
    lists = gaps.attention(by_unit, limit=20)
    assert len(lists["critical"]) == 20
    spof_units = set(lists["spof"]["group"])
    assert spof_units and len(spof_units) < len(set(by_unit["group"]))

    # The trend moves: coverage a year before the demo's "today" was well below today's.
    inputs, _employees = competency_service.gap_inputs(session, org)
    log = pd.DataFrame(
        session.exec(
            select(
                RatingEntry.employee_id,
                RatingEntry.competency_id,
                RatingEntry.level,
                RatingEntry.recorded_at,
            ).where(col(RatingEntry.validated))
        ).all(),
        columns=["employee_id", "competency_id", "level", "recorded_at"],
    )
    trend = gaps.trend(log, inputs, gaps.month_ends(pd.Timestamp(demo.AS_OF), 13))
    assert trend["coverage"].iloc[-1] > trend["coverage"].iloc[0] + 0.1
    assert trend["coverage"].is_monotonic_increasing


def test_the_demo_has_a_closed_campaign_and_an_open_one_part_way_through(engine, session):
    demo.generate(engine, employees=1500, seed=4)
    campaigns = campaigns_service.list_campaigns(session)
    assert [c.closed_at is None for c in campaigns] == [True, False]
    open_campaign, closed = campaigns
    assert open_campaign.deadline > demo.AS_OF
    _rows, total = campaigns_service.progress(session, open_campaign)
    assert total.people > 20
    assert total.not_started > total.validated > 0
    assert total.in_progress > 0 and total.awaiting_validation > 0
    _rows, total = campaigns_service.progress(session, closed)
    assert total.validated > total.people / 2
    assert total.not_started > 0
    # Self-ratings still wait in supervisors' queues.
    waiting = session.exec(
        select(RatingEntry.employee_id).where(RatingEntry.source == "self").distinct()
    ).all()
    assert any(competency_service.pending_self_entries(session, employee_id=eid) for eid in waiting)


def test_same_seed_gives_the_same_rating_history_and_another_seed_another(engine, fresh_sqlite):
    demo.generate(engine, employees=300, seed=42)
    again = fresh_sqlite("again")
    demo.generate(again, employees=300, seed=42)
    other = fresh_sqlite("other")
    demo.generate(other, employees=300, seed=43)

    first = _rating_log(engine)
    assert len(first) > 300
    assert _rating_log(again) == first  # on SQLite too when `engine` is PostgreSQL
    assert _rating_log(other) != first


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """Point the CLI at a fresh SQLite database; settings are re-read around the test."""
    from backend.config import get_settings

    monkeypatch.setenv("MERITO_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MERITO_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'cli.db'}")
    monkeypatch.setenv("MERITO_FAST_PASSWORD_HASHING", "true")
    monkeypatch.setenv("MERITO_ENVIRONMENT", "development")
    get_settings.cache_clear()
    yield tmp_path / "var" / "cli.db"
    get_settings.cache_clear()


def test_merito_demo_creates_the_organisation_and_prints_the_accounts(cli_env):
    from backend.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["demo", "--employees", "200", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "200 employees" in result.output
    assert "seed 3" in result.output
    for role in Role:
        assert demo.demo_email(role) in result.output
        assert demo.demo_password(role) in result.output

    engine = make_engine(f"sqlite:///{cli_env}")
    try:
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(Employee)).one() == 200
    finally:
        engine.dispose()

    second = runner.invoke(app, ["demo", "--employees", "200", "--seed", "3"])
    assert second.exit_code == 1
    assert "already has an organisation" in second.output


def test_merito_demo_needs_a_migrated_database(cli_env):
    from backend.cli import app

    result = CliRunner().invoke(app, ["demo", "--employees", "50"])
    assert result.exit_code == 1
    assert "merito migrate" in result.output


@pytest.mark.parametrize("command", [["demo"], ["up"]])
def test_merito_refuses_demo_data_in_production(cli_env, monkeypatch, command):
    from backend.cli import app
    from backend.config import get_settings

    monkeypatch.setenv("MERITO_ENVIRONMENT", "production")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert "production" in result.output
    assert not cli_env.exists()


# --- the core calls the domains through their hooks (it imports none of them) ---------------

_HOOK_CALLS: list[tuple] = []


def _probe_people(session, people, *, seed, as_of):
    _HOOK_CALLS.append(("people", [tuple(p) for p in people], seed, as_of))
    return {"probe_people": len(people), "probe_procurement": sum(p.procurement for p in people)}


def _second_probe_people(session, people, *, seed, as_of):
    return {"probe_people": 1}


def _probe_accounts_late(session, settings, accounts):
    _HOOK_CALLS.append(("late", [a.role for a in accounts]))


def _probe_accounts_early(session, settings, accounts):
    _HOOK_CALLS.append(("early", len(accounts)))


@pytest.fixture
def probe_plugins(monkeypatch):
    from backend import plugins

    here = "tests.integration.test_demo"
    probe = plugins.Plugin(
        name="probe",
        package="tests",
        hooks=(
            plugins.Hook("demo.people", f"{here}:_probe_people"),
            plugins.Hook("demo.people", f"{here}:_second_probe_people", order=60),
            plugins.Hook("demo.accounts", f"{here}:_probe_accounts_late", order=90),
            plugins.Hook("demo.accounts", f"{here}:_probe_accounts_early", order=10),
        ),
    )
    monkeypatch.setattr(plugins, "installed", lambda: (probe,))
    _HOOK_CALLS.clear()
    yield _HOOK_CALLS
    _HOOK_CALLS.clear()


def test_generation_hands_the_people_to_the_domains_hooks_and_records_their_counts(
    engine, session, probe_plugins
):
    from backend import audit

    summary = demo.generate(engine, employees=90, seed=4)
    [(kind, people, seed, as_of)] = probe_plugins
    assert (kind, seed, as_of) == ("people", 4, demo.AS_OF)
    with_roles = session.exec(
        select(Employee.id)
        .join(Position, col(Employee.position_id) == Position.id)
        .where(Position.role_code != "")
    ).all()
    assert sorted(p[0] for p in people) == sorted(with_roles) and people
    assert all(
        isinstance(p[4], bool) and p[3] in {"central", "delegation", "hospital", "entity"}
        for p in people
    )
    # The counts of every hook are added up, shown in the summary and kept in the audit entry.
    assert summary.probe_people == len(people) + 1
    assert summary.rating_entries == 0  # no competency hook installed: nothing was rated
    assert session.exec(select(func.count()).select_from(RatingEntry)).one() == 0
    [entry] = [e for e in session.exec(select(audit.AuditEntry)) if e.action == "demo.generated"]
    assert entry.after["probe_people"] == len(people) + 1
    assert entry.after["probe_procurement"] == sum(p[4] for p in people)


def test_demo_accounts_run_every_domains_accounts_hook_in_order(
    engine, session, settings, probe_plugins
):
    demo.generate(engine, employees=60, seed=1)
    probe_plugins.clear()
    accounts = demo.create_demo_accounts(session, settings)
    assert probe_plugins == [("early", len(accounts)), ("late", [a.role for a in accounts])]
    assert len(accounts) == len(demo.DEMO_ROLES)
