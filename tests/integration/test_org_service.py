"""The organisation's rules, through the service functions."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from backend import events
from backend.audit import AuditEntry
from backend.i18n import use_locale
from backend.org import service
from backend.org.service import EmployeeFilters, EmployeeInput, OrgError


def employee_input(org, **changes) -> EmployeeInput:
    values = {
        "number": "N1",
        "first_name": "Rosa",
        "last_name": "Díaz",
        "email": "rosa@example.org",
        "unit_id": org.central.id,
        "hire_date": date(2020, 1, 1),
    }
    return EmployeeInput(**(values | changes))


def test_role_codes_come_from_the_role_profiles_file():
    codes = service.role_codes()
    assert {"head_of_unit", "procurement_officer"} <= codes
    titles = {o.code: o.title_es for o in service.role_profile_options()}
    assert titles["head_of_unit"] == "Jefe(a) de unidad de adquisiciones"


def test_a_position_must_follow_a_known_role_profile(session, org):
    with pytest.raises(OrgError) as caught:
        service.create_position(
            session, code="P-X", title="Chief", unit=org.central, role_code="astronaut"
        )
    assert caught.value.field == "role_code"


def test_a_duplicate_unit_code_is_a_conflict(session, org):
    with pytest.raises(OrgError) as caught:
        service.create_unit(session, code="DA", name="Again", kind="directorate")
    assert (caught.value.field, caught.value.status_code) == ("code", 409)


def test_every_problem_of_a_unit_is_reported_at_once(session, org):
    with pytest.raises(OrgError) as caught:
        service.create_unit(session, code="", name=" ", kind="castle")
    assert set(caught.value.problems) == {"code", "name", "kind"}
    assert caught.value.status_code == 422


def test_a_unit_cannot_move_inside_its_own_sub_unit(session, org):
    child = service.create_unit(
        session, code="SUB", name="Sub", kind="procurement_unit", parent=org.central
    )
    with pytest.raises(OrgError) as caught:
        service.update_unit(
            session, unit=org.central, changes={"parent_id": child.id}, actor="tester"
        )
    assert caught.value.field == "parent_id"


def test_a_new_unit_inherits_region_state_and_central_scope_from_its_parent(session, org):
    child = service.create_unit(
        session, code="SUB", name="Sub", kind="procurement_unit", parent=org.central
    )
    assert (child.region, child.state, child.is_central) == ("Centro", "CDMX", True)


def test_updating_a_position_is_audited_and_its_code_stays(session, org):
    service.update_position(
        session,
        position=org.officer_position,
        changes={"title": "Analista", "planned_headcount": 5, "code": "HACK"},
        actor="tester",
    )
    session.commit()
    assert org.officer_position.code == "P-OFF"
    assert org.officer_position.planned_headcount == 5
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "position.updated")).one()
    assert entry.before["title"] == "Oficial de compras" and entry.after["title"] == "Analista"


def test_a_negative_planned_headcount_is_refused(session, org):
    with pytest.raises(OrgError) as caught:
        service.update_position(
            session,
            position=org.officer_position,
            changes={"planned_headcount": -1},
            actor="tester",
        )
    assert caught.value.field == "planned_headcount"


def test_employee_problems_are_all_reported_and_a_taken_number_alone_is_a_conflict(session, org):
    with pytest.raises(OrgError) as caught:
        service.create_employee(
            session,
            employee_input(
                org,
                number="E001",
                first_name="",
                email="nope",
                birth_date=date(2021, 1, 1),
                qualification_codes=("NOPE",),
            ),
        )
    problems = caught.value.problems
    assert set(problems) == {"number", "first_name", "email", "birth_date", "qualifications"}
    assert caught.value.status_code == 422
    with pytest.raises(OrgError) as taken:
        service.create_employee(session, employee_input(org, number="E001"))
    assert (taken.value.field, taken.value.status_code) == ("number", 409)


def test_a_supervisor_that_would_close_a_loop_is_refused(session, org):
    with pytest.raises(OrgError) as caught:
        service.update_employee(
            session,
            employee=org.head,
            data=employee_input(
                org, number="E001", first_name="Lucia", supervisor_id=org.officer_a.id
            ),
            actor="tester",
        )
    assert caught.value.field == "supervisor_id"


def test_a_status_change_is_written_to_history_with_its_date_and_announced(session, org):
    seen = []

    def listener(_session, event):
        seen.append(event)

    events.subscribe(service.EMPLOYEE_STATUS_CHANGED)(listener)
    events.subscribe(service.EMPLOYEE_MOVED)(listener)
    try:
        service.update_employee(
            session,
            employee=org.officer_a,
            data=employee_input(
                org,
                number="E002",
                first_name="Mario",
                last_name="Ruiz",
                unit_id=org.delegation.id,
                status="on_leave",
                hire_date=date(2015, 3, 1),
            ),
            actor="tester",
            effective_on=date(2026, 1, 15),
        )
    finally:
        events.unsubscribe(service.EMPLOYEE_STATUS_CHANGED, listener)
        events.unsubscribe(service.EMPLOYEE_MOVED, listener)
    history = service.status_history(session, org.officer_a.id)
    assert [(h.status, h.effective_on) for h in history] == [
        ("on_leave", date(2026, 1, 15)),
        ("active", date(2015, 3, 1)),
    ]
    assert [e.name for e in seen] == [service.EMPLOYEE_STATUS_CHANGED, service.EMPLOYEE_MOVED]
    assert all(e.subject_employee_id == org.officer_a.id for e in seen)


def test_the_supervisor_chain_goes_up_to_the_top(session, org):
    deputy = service.create_employee(session, employee_input(org, supervisor_id=org.officer_a.id))
    assert [e.number for e in service.supervisor_chain(session, deputy)] == ["E002", "E001"]
    assert [e.number for e in service.direct_reports(session, org.head.id)] == ["E002", "E003"]


def test_the_employee_list_filters_by_unit_with_or_without_sub_units(session, org):
    sub = service.create_unit(
        session, code="SUB", name="Sub", kind="procurement_unit", parent=org.central
    )
    service.create_employee(session, employee_input(org, unit_id=sub.id))
    session.commit()

    def numbers(**filters):
        rows = session.exec(service.employees_statement(session, EmployeeFilters(**filters))).all()
        return sorted(e.number for e, *_rest in rows)

    assert numbers(unit_id=org.central.id) == ["E001", "E002", "E003", "N1"]
    assert numbers(unit_id=org.central.id, include_sub_units=False) == ["E001", "E002", "E003"]
    assert numbers(q="ruiz") == ["E002"]
    assert numbers(q="Mario Ruiz") == ["E002"]
    assert numbers(q="ruiz  MARIO") == ["E002"]
    assert numbers(q="%") == []
    assert numbers(q="example.org lucia") == ["E001"]
    assert numbers(q="E004") == ["E004"]
    assert numbers(supervisor_id=org.head.id) == ["E002", "E003"]
    assert numbers(position_id=org.officer_position.id, status="active") == ["E002", "E003"]
    assert numbers(status="left") == []
    rows, total = service.employees_page(session, EmployeeFilters(), page=2, per_page=2)
    assert total == 5 and [e.number for e, *_rest in rows] == ["E002", "E003"]
    # A text search pages in the same name order.
    rows, total = service.employees_page(
        session, EmployeeFilters(q="example.org"), page=1, per_page=3
    )
    assert total == 5 and [e.last_name for e, *_rest in rows] == ["Díaz", "Mendez", "Ruiz"]


def test_unit_figures_count_people_who_have_not_left_and_planned_posts(session, org):
    figures = service.unit_figures(session)
    central = figures[org.central.id]
    assert (central.employees, central.positions, central.planned) == (3, 2, 4)
    assert service.occupants_count(session, [org.officer_position.id]) == {
        org.officer_position.id: 2
    }


def test_unit_tree_lists_each_unit_before_its_sub_units(session, org):
    sub = service.create_unit(
        session, code="A-SUB", name="Sub", kind="procurement_unit", parent=org.delegation
    )
    order = [(u.code, depth) for u, depth in service.unit_tree(session)]
    assert order == [("DA", 0), ("DEL-JAL", 0), ("A-SUB", 1)]
    assert service.unit_ancestors(session, sub) == [org.delegation]


def test_qualifications_are_created_once_with_both_names_and_audited(session, org):
    created = service.create_qualification(
        session,
        code="MBA",
        name_es="Maestría",
        name_en="Master's degree",
        is_procurement=False,
        actor="tester",
    )
    with pytest.raises(OrgError) as caught:
        service.create_qualification(
            session, code="MBA", name_es="x", name_en="y", is_procurement=False
        )
    assert caught.value.status_code == 409
    with pytest.raises(OrgError) as bad:
        service.create_qualification(
            session, code="A|B", name_es="", name_en="y", is_procurement=False
        )
    assert set(bad.value.problems) == {"code", "name_es"}
    holders = dict((q.code, n) for q, n in service.list_qualifications(session))
    assert holders == {"CERT-PROC": 0, "MBA": 0}
    assert session.exec(
        select(AuditEntry).where(
            AuditEntry.action == "qualification.created", AuditEntry.entity_id == str(created.id)
        )
    ).one()


def test_references_are_resolved_from_codes_with_translated_problems(session, org):
    found = service.resolve_references(
        session, unit_code="DA", position_code="P-OFF", supervisor_number="E001"
    )
    assert (found.unit_id, found.position_id, found.supervisor_id) == (
        org.central.id,
        org.officer_position.id,
        org.head.id,
    )
    with use_locale("es"):
        missing = service.resolve_references(
            session, unit_code="X", position_code="Y", supervisor_number="Z"
        )
    assert missing.problems == {
        "unit_code": "Ninguna unidad tiene la clave X.",
        "position_code": "Ningún puesto tiene la clave Y.",
        "supervisor_number": "Ningún empleado tiene el número Z.",
    }


def test_a_status_change_without_a_date_takes_effect_on_the_organisations_day(session, org):
    # 04:00 UTC on 2 March is still 1 March, 22:00, in Mexico City (the default zone):
    # the day in UTC would date the change a day late.
    from datetime import UTC, datetime

    from backend import clock

    with clock.frozen(datetime(2027, 3, 2, 4, 0, tzinfo=UTC)):
        service.update_employee(
            session,
            employee=org.officer_a,
            data=employee_input(
                org, number="E002", first_name="Mario", last_name="Ruiz", status="on_leave"
            ),
            actor="tester",
        )
    history = service.status_history(session, org.officer_a.id)
    assert (history[0].status, history[0].effective_on) == ("on_leave", date(2027, 3, 1))
