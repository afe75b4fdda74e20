"""Data revisions: triggers advance them on every change, and cached reports follow them."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from backend import revisions
from backend.org import service as org_service
from competency_framework import service as competency_service
from competency_framework.training import service as training_service
from tests.competency.helpers import principal_for


def test_every_change_to_a_watched_table_advances_its_counter(session: Session, org):
    before = revisions.current(session)
    assert set(before) == set(revisions.WATCHED_TABLES)

    # An ORM insert, a core UPDATE and a core DELETE are all seen: triggers, not app code.
    unit = org_service.create_unit(
        session, code="TMP", name="Unidad temporal", kind="delegation", region="Sur", state="Oax"
    )
    session.commit()
    inserted = revisions.value_of(session, "org")
    assert inserted > before["org"]
    session.execute(text("UPDATE unit SET name = 'Renombrada' WHERE id = :id"), {"id": unit.id})
    session.commit()
    updated = revisions.value_of(session, "org")
    assert updated > inserted
    session.execute(text("DELETE FROM unit WHERE id = :id"), {"id": unit.id})
    session.commit()
    assert revisions.value_of(session, "org") > updated
    # Other counters did not move.
    assert revisions.value_of(session, "training") == before["training"]


def test_a_rolled_back_change_leaves_the_counter_where_it_was(session: Session, org):
    before = revisions.value_of(session, "org")
    org_service.create_unit(
        session, code="TMP2", name="Nunca", kind="delegation", region="Sur", state="Oax"
    )
    session.flush()
    session.rollback()
    assert revisions.value_of(session, "org") == before


def test_organisation_frames_are_reread_after_a_change(session: Session, org):
    frames = competency_service.load_org_frames(session)
    again = competency_service.load_org_frames(session)
    assert again.fingerprint == frames.fingerprint
    # Callers get their own frames: a column they add never reaches the cache.
    again.units["scratch"] = 1
    assert "scratch" not in competency_service.load_org_frames(session).units.columns

    session.execute(
        text("UPDATE unit SET name = 'Delegación renombrada' WHERE id = :id"),
        {"id": org.delegation.id},
    )
    session.commit()
    fresh = competency_service.load_org_frames(session)
    assert fresh.fingerprint != frames.fingerprint
    names = dict(zip(fresh.units["unit_id"], fresh.units["name"], strict=True))
    assert names[org.delegation.id] == "Delegación renombrada"


def test_the_cached_needs_report_follows_budget_changes(session: Session, org, make_user):
    year = training_service.plan_year(session.info["settings"])
    hr = principal_for(session, make_user("hr_planner"))
    first = training_service.needs_report(session, year=year)
    assert training_service.needs_report(session, year=year) is first  # served from the cache
    training_service.set_budget(session, unit=org.delegation, year=year, amount="125000", actor=hr)
    session.commit()
    after = training_service.needs_report(session, year=year)
    assert after is not first
    assert after.budget_total == first.budget_total + 125000


def test_many_statements_in_one_transaction_advance_the_counter_and_savepoints_undo_it(
    session: Session, org
):
    before = revisions.value_of(session, "org")
    for i in range(3):  # three INSERT statements, one transaction
        session.execute(
            text(
                "INSERT INTO unit (code, name, kind, region, state, is_central) "
                "VALUES (:code, 'Tmp', 'delegation', 'Sur', 'Oax', false)"
            ),
            {"code": f"TMP{i}"},
        )
    session.commit()
    after = revisions.value_of(session, "org")
    assert after > before
    if session.get_bind().dialect.name == "postgresql":
        assert after == before + 1  # one bump per transaction, not per statement

    # A bump inside a rolled-back savepoint is undone with it, and the next change still bumps.
    savepoint = session.begin_nested()
    session.execute(text("UPDATE unit SET name = 'Nunca' WHERE code = 'TMP0'"))
    savepoint.rollback()
    session.execute(text("UPDATE unit SET name = 'Sí' WHERE code = 'TMP1'"))
    session.commit()
    assert revisions.value_of(session, "org") > after
