"""Reference data read once per data revision and shared; per-person work once per request."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import event, text
from sqlmodel import Session

from backend import revisions
from competency_framework import service as competency_service
from competency_framework.training import service as training_service
from tests.competency.helpers import principal_for, self_assess
from tests.training.helpers import activity


def _count_statements(session: Session) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", record)
    return seen


def test_the_framework_is_read_once_per_revision_and_shared(engine, session: Session):
    first = competency_service.framework_snapshot(session)
    session.commit()
    with Session(engine) as other:
        seen = _count_statements(other)
        again = competency_service.framework_snapshot(other)
        # Another request, another session: the same snapshot, no query but the counters.
        assert again is first
        assert not [s for s in seen if "level_descriptor" in s or "FROM competency" in s]
    assert len(first.competencies) == 13 and len(first.scale) == 5
    assert [c.order for c in first.competencies] == sorted(c.order for c in first.competencies)
    code = first.competencies[0].code
    assert first.by_code[code] is first.competencies[0]
    # Immutable: neither a competency nor the descriptor table can be changed in place.
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.competencies[0].name_es = "Otra"  # type: ignore[misc]
    with pytest.raises(TypeError):
        first.descriptors[first.competencies[0].id][1] = None  # type: ignore[index]

    # A change to the framework's tables, even by plain SQL, advances its revision: re-read.
    cid = first.competencies[0].id
    session.execute(
        text("UPDATE level_descriptor SET text_es = 'Nuevo texto' WHERE competency_id = :c"),
        {"c": cid},
    )
    session.commit()
    fresh = competency_service.framework_snapshot(session)
    assert fresh is not first
    assert fresh.descriptors[cid][1].text_es == "Nuevo texto"


def test_the_offer_table_follows_the_catalogue(session: Session, org):
    table = training_service.offer_table(session)
    assert training_service.offer_table(session) is table  # served from the cache
    assert not table.choice.flags.writeable  # shared by every request: read-only
    competency = competency_service.framework_snapshot(session).competencies[0]
    activity(session, "SNAP-1", {competency.code: (0, 2)})
    session.commit()
    assert training_service.offer_table(session) is not table


def test_a_persons_gap_profile_is_computed_once_per_transaction(session: Session, org, make_user):
    employee = org.officer_a
    first = competency_service.person_gap_profile(session, employee=employee)
    assert competency_service.person_gap_profile(session, employee=employee) is first
    # A write ends the copy: the same transaction sees its own change.
    user = make_user("employee", employee=employee)
    self_assess(session, employee, principal_for(session, user), 3)
    after = competency_service.person_gap_profile(session, employee=employee)
    assert after is not first
    assert all(row.pending is not None for row in after.rows)
    # Unflushed changes are never hidden behind the copy either.
    employee.first_name = "Cambiado"
    session.add(employee)
    assert revisions.per_transaction(session, ("x",), lambda: 1) == 1
    assert competency_service.person_gap_profile(session, employee=employee) is not after


def test_the_profiles_in_force_are_read_once_per_revision_and_follow_every_change(
    engine, session: Session, org, make_user
):
    position = org.officer_position
    first = competency_service.profiles_snapshot(session).for_position(position)
    assert first is not None and first.profile.key == "role:procurement_officer"
    required = {cid: r.level for cid, r in first.requirements.items()}
    assert required and first.version.version == first.profile.current_version
    session.commit()
    with Session(engine) as other:
        seen = _count_statements(other)
        # Another request: the same copy, no query but the counters.
        again = competency_service.profiles_snapshot(other).for_position(position)
        assert again is first
        assert not [s for s in seen if "role_profile" in s or "role_requirement" in s]

    # An edit writes a new version: every person's requirements follow at once.
    hr = make_user("hr_planner")
    cid, level = next((c, lv) for c, lv in required.items() if lv < 4)
    code = next(
        c.code for c in competency_service.framework_snapshot(session).competencies if c.id == cid
    )
    competency_service.save_profile(
        session,
        profile=competency_service.get_profile(session, first.profile.id),
        requirements={code: (level + 1, "essential")},
        reason="Nuevo nivel",
        actor=hr,
    )
    session.commit()
    edited = competency_service.profiles_snapshot(session).for_position(position)
    assert edited.version.version == first.version.version + 1
    assert edited.requirements[cid].level == level + 1
    gap_row = next(
        r
        for r in competency_service.person_gap_profile(session, employee=org.officer_a).rows
        if r.competency.id == cid
    )
    assert gap_row.required == level + 1

    # A position's own override wins over its role's defaults; plain SQL is seen too.
    competency_service.create_position_override(session, position_id=position.id, actor=hr)
    session.commit()
    override = competency_service.profiles_snapshot(session).for_position(position)
    assert override.profile.key == f"position:{position.id}"
    session.execute(
        text("UPDATE role_profile SET is_active = false WHERE key = :k"),
        {"k": override.profile.key},
    )
    session.commit()
    back = competency_service.profiles_snapshot(session).for_position(position)
    assert back.profile.key == "role:procurement_officer"
    assert competency_service.profiles_snapshot(session).for_position(None) is None


def test_a_profile_changed_but_not_yet_flushed_is_seen_in_the_same_transaction(
    session: Session, org
):
    position = org.officer_position
    first = competency_service.profiles_snapshot(session).for_position(position)
    profile = competency_service.get_profile(session, first.profile.id)
    profile.title_es = "Oficial de compras (revisado)"
    session.add(profile)  # not flushed: the snapshot must not answer from before the change
    changed = competency_service.profiles_snapshot(session).for_position(position)
    assert changed.profile.title_es == "Oficial de compras (revisado)"
