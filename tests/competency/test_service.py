"""Service rules: profiles, the rating log, validation rights, gap reports, suppression."""

import dataclasses
import io
from datetime import date

import pandas as pd
import pytest
from openpyxl import Workbook
from sqlalchemy import text
from sqlmodel import select

from backend import audit
from backend.org import service as org_service
from backend.org.models import Employee
from backend.org.service import EmployeeInput
from backend.tables import ImportRejected
from competency_framework import service
from competency_framework.models import CurrentRating, RatingEntry, RoleProfileVersion
from competency_framework.service import CompetencyError, SelfRating, ValidationDecision, reports
from tests.competency.helpers import agree_all, codes, principal_for, self_assess


def officer_profile(session):
    return next(p for p in service.list_profiles(session) if p.role_code == "procurement_officer")


def xlsx(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_default_role_profiles_load_from_the_data_file(session):
    profile = next(
        p for p in service.list_profiles(session) if p.role_code == "procurement_officer"
    )
    requirements = service.requirements_of(session, profile)
    legal = service.get_competency(session, "legal")
    assert profile.current_version == 1
    assert len(requirements) == 13
    assert requirements[legal.id].level == 3 and requirements[legal.id].importance == "essential"


def test_self_assessment_awaits_validation_and_is_not_the_current_level(session, org, people):
    written = self_assess(session, org.officer_a, people["a"], 2)
    assert len(written) == 13 and not any(e.validated for e in written)
    assert service.current_levels(session, employee_id=org.officer_a.id) == {}
    assert len(service.pending_self_entries(session, employee_id=org.officer_a.id)) == 13


def test_supervisor_agreeing_makes_the_level_current_and_keeps_the_self_entry(session, org, people):
    self_assess(session, org.officer_a, people["a"], 2)
    before = service.revision(session).ratings
    agree_all(session, org.officer_a, people["head"])
    current = service.current_levels(session, employee_id=org.officer_a.id)
    assert {r.level for r in current.values()} == {2}
    assert {r.source for r in current.values()} == {"supervisor"}
    log = service.rating_log(session, employee_id=org.officer_a.id)
    assert len(log) == 26  # 13 self entries kept + 13 validations
    assert service.pending_self_entries(session, employee_id=org.officer_a.id) == {}
    assert service.revision(session).ratings == before + 1


def test_setting_another_level_needs_a_reason(session, org, people):
    self_assess(session, org.officer_a, people["a"], {"legal": 4})
    entry = next(iter(service.pending_self_entries(session, employee_id=org.officer_a.id).values()))
    with pytest.raises(CompetencyError) as err:
        service.validate_ratings(
            session,
            employee=org.officer_a,
            decisions=[ValidationDecision(entry.id, 2)],
            actor=people["head"],
        )
    assert err.value.status_code == 422 and "reason_legal" in err.value.errors
    session.rollback()
    service.validate_ratings(
        session,
        employee=org.officer_a,
        decisions=[ValidationDecision(entry.id, 2, "Has not yet led a tender alone")],
        actor=people["head"],
    )
    session.commit()
    current = service.current_levels(session, employee_id=org.officer_a.id)
    assert [r.level for r in current.values()] == [2]


def test_only_the_own_supervisor_or_hr_may_validate(session, org, people, make_user):
    self_assess(session, org.officer_a, people["a"], {"legal": 3})
    entry = next(iter(service.pending_self_entries(session, employee_id=org.officer_a.id).values()))
    decision = [ValidationDecision(entry.id, 3)]
    # A colleague and a stranger cannot even see the person ("not found"); the employee
    # sees their own record but may not validate it ("forbidden").
    for who, status in (("b", 404), ("outsider", 404), ("a", 403)):
        with pytest.raises(CompetencyError) as err:
            service.validate_ratings(
                session, employee=org.officer_a, decisions=decision, actor=people[who]
            )
        assert err.value.status_code == status
    assert session.exec(select(RatingEntry).where(RatingEntry.validated)).all() == []
    written = service.validate_ratings(
        session, employee=org.officer_a, decisions=decision, actor=people["hr"]
    )
    assert written[0].source == "hr"


def test_hr_cannot_validate_their_own_self_assessment(session, org, make_user):
    hr_employee = principal_for(session, make_user("hr_planner", employee=org.outsider))
    self_assess(session, org.outsider, hr_employee, {"legal": 4})
    assert not service.can_validate(session, actor=hr_employee, employee=org.outsider)


def test_levels_outside_the_scale_are_refused_and_nothing_is_written(session, org, people):
    for bad in (5, -1, "x", "2.5", True):
        with pytest.raises(CompetencyError):
            service.submit_self_assessment(
                session,
                employee=org.officer_a,
                ratings={"legal": SelfRating(bad), "financial": SelfRating(2)},
                actor=people["a"],
            )
        session.rollback()
    assert service.rating_log(session, employee_id=org.officer_a.id) == []


def test_an_employee_cannot_self_assess_someone_else(session, org, people):
    with pytest.raises(CompetencyError) as err:
        service.submit_self_assessment(
            session, employee=org.officer_b, ratings={"legal": SelfRating(2)}, actor=people["a"]
        )
    assert err.value.status_code == 403


def test_evidence_links_must_be_web_addresses(session, org, people):
    with pytest.raises(CompetencyError) as err:
        service.submit_self_assessment(
            session,
            employee=org.officer_a,
            ratings={"legal": SelfRating(2, evidence_url="javascript:alert(1)")},
            actor=people["a"],
        )
    assert "evidence_legal" in err.value.errors


def test_the_newest_validated_entry_is_the_current_level(session, org, people):
    legal = service.get_competency(session, "legal")
    service.record_rating(
        session, employee=org.officer_b, competency=legal, level=2, source="hr", actor=people["hr"]
    )
    service.record_rating(
        session,
        employee=org.officer_b,
        competency=legal,
        level=3,
        source="training",
        actor=people["hr"],
    )
    session.commit()
    self_assess(session, org.officer_b, people["b"], {"legal": 4})  # not validated: no change
    current = service.current_levels(session, employee_id=org.officer_b.id)[legal.id]
    assert (current.level, current.source) == (3, "training")
    history = service.rating_log(session, employee_id=org.officer_b.id, competency_id=legal.id)
    assert [e.level for e in history] == [4, 3, 2]


def test_rating_again_replaces_the_pending_self_rating(session, org, people):
    self_assess(session, org.officer_a, people["a"], {"legal": 2})
    self_assess(session, org.officer_a, people["a"], {"legal": 3})
    pending = service.pending_self_entries(session, employee_id=org.officer_a.id)
    assert [e.level for e in pending.values()] == [3]
    assert len(service.rating_log(session, employee_id=org.officer_a.id)) == 2


def test_the_rating_log_refuses_updates_and_deletions(session, org, people):
    self_assess(session, org.officer_a, people["a"], {"legal": 2})
    for statement in ("UPDATE rating_entry SET level = 4", "DELETE FROM rating_entry"):
        with pytest.raises(Exception, match="append-only"):
            session.execute(text(statement))
        session.rollback()


def test_supervisors_record_only_supervisor_ratings_of_their_reports(session, org, people):
    legal = service.get_competency(session, "legal")
    with pytest.raises(CompetencyError) as err:
        service.record_rating(
            session,
            employee=org.officer_a,
            competency=legal,
            level=3,
            source="assessment",
            actor=people["head"],
        )
    assert err.value.status_code == 403
    with pytest.raises(CompetencyError):
        service.record_rating(
            session,
            employee=org.outsider,
            competency=legal,
            level=3,
            source="supervisor",
            actor=people["head"],
        )
    entry = service.record_rating(
        session,
        employee=org.officer_a,
        competency=legal,
        level=3,
        source="supervisor",
        actor=people["head"],
    )
    assert entry.validated


def test_editing_a_profile_writes_a_new_audited_version(session, people):
    profile = next(
        p for p in service.list_profiles(session) if p.role_code == "procurement_officer"
    )
    version = service.save_profile(
        session,
        profile=profile,
        requirements={"legal": (4, "essential")},
        reason="New law",
        actor=people["hr"].user,
    )
    session.commit()
    legal = service.get_competency(session, "legal")
    assert version.version == 2 and profile.current_version == 2
    assert service.requirements_of(session, profile)[legal.id].level == 4
    assert service.requirements_of(session, profile, 1)[legal.id].level == 3
    entry = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "role_profile.changed")
    ).one()
    assert entry.before["requirements"]["legal"] == [3, "essential"]
    assert entry.after["requirements"]["legal"] == [4, "essential"]


def test_bad_profile_requirements_are_refused_with_fields(session, people):
    profile = service.list_profiles(session)[0]
    with pytest.raises(CompetencyError) as err:
        service.save_profile(
            session,
            profile=profile,
            requirements={"legal": (7, "essential"), "financial": (2, "vital"), "nope": (1, "x")},
            reason="",
            actor=people["hr"].user,
        )
    assert set(err.value.errors) == {"level_legal", "importance_financial", "level_nope"}
    assert (
        session.exec(select(RoleProfileVersion).where(RoleProfileVersion.version > 1)).all() == []
    )


def test_a_position_override_changes_that_positions_requirements_only(session, org, people):
    with pytest.raises(CompetencyError) as err:
        service.create_position_override(session, position_id=999999, actor=people["hr"].user)
    assert err.value.status_code == 404
    override = service.create_position_override(
        session, position_id=org.officer_position.id, actor=people["hr"].user
    )
    service.save_profile(
        session,
        profile=override,
        requirements={"legal": (1, "desirable")},
        reason="",
        actor=people["hr"].user,
    )
    session.commit()
    profile = service.person_gap_profile(session, employee=org.officer_a)
    legal_row = next(r for r in profile.rows if r.competency.code == "legal")
    assert profile.profile.key == f"position:{org.officer_position.id}"
    assert legal_row.required == 1
    with pytest.raises(CompetencyError) as again:
        service.create_position_override(
            session, position_id=org.officer_position.id, actor=people["hr"].user
        )
    assert again.value.status_code == 409


def test_profile_import_is_all_or_nothing_with_row_and_column(session, people):
    content = xlsx(
        [
            ["profile", "competency", "level", "importance"],
            ["procurement_officer", "legal", 4, "essential"],
            ["procurement_officer", "legal", 9, "essential"],
            ["no_such_role", "financial", 2, "essential"],
            ["position:NOPE", "financial", 2, "essential"],
            ["head_of_unit", "financial", 2, "sometimes"],
        ]
    )
    with pytest.raises(ImportRejected) as err:
        service.import_profiles(session, content=content, actor=people["hr"].user)
    found = {(p.row, p.column) for p in err.value.problems}
    assert found == {(3, "B"), (4, "A"), (5, "A"), (6, "D")}
    session.rollback()
    profile = next(
        p for p in service.list_profiles(session) if p.role_code == "procurement_officer"
    )
    assert profile.current_version == 1


def test_profile_import_creates_versions_and_position_overrides(session, org, people):
    content = xlsx(
        [
            ["profile", "competency", "level", "importance"],
            ["procurement_officer", "legal", 4, "essential"],
            ["position:P-HEAD", "leadership", 2, "desirable"],
        ]
    )
    written = service.import_profiles(session, content=content, actor=people["hr"].user)
    session.commit()
    assert len(written) == 2
    head = service.person_gap_profile(session, employee=org.head)
    assert head.profile.position_id == org.head_position.id
    assert next(r for r in head.rows if r.competency.code == "leadership").required == 2


def test_rating_import_checks_every_row_and_writes_nothing_on_error(session, org, people):
    content = xlsx(
        [
            ["employee_number", "competency", "level", "source"],
            ["E002", "legal", 3, "assessment"],
            ["E999", "legal", 3, ""],
            ["E003", "legal", 5, ""],
            ["E003", "negotiation", 2, "self"],
        ]
    )
    with pytest.raises(ImportRejected) as err:
        service.import_ratings(session, content=content, actor=people["hr"])
    assert {(p.row, p.column) for p in err.value.problems} == {(3, "A"), (4, "C"), (5, "D")}
    session.rollback()
    assert session.exec(select(RatingEntry)).all() == []
    good = xlsx([["employee_number", "competency", "level"], ["E002", "legal", 3]])
    assert service.import_ratings(session, content=good, actor=people["hr"]) == 1
    with pytest.raises(CompetencyError):
        service.import_ratings(session, content=good, actor=people["head"])


def test_not_a_workbook_is_rejected(session, people):
    with pytest.raises(ImportRejected):
        service.import_ratings(session, content=b"not a spreadsheet", actor=people["hr"])


def test_person_gap_profile_counts_requirements_met_and_critical(session, org, people):
    self_assess(session, org.officer_a, people["a"], 1)
    agree_all(session, org.officer_a, people["head"])
    profile = service.person_gap_profile(session, employee=org.officer_a)
    # procurement_officer requires level 1 or more everywhere, level 1 only for leadership.
    assert profile.required_n == 13
    assert profile.met_n == 1
    assert [r.competency.code for r in profile.rows if r.met] == ["leadership"]
    assert profile.critical_n == sum(1 for r in profile.rows if r.required >= 3)
    assert profile.version.version == 1


def _staff_unit(session, org, count):
    """Add `count` procurement officers to the delegation, each reporting to nobody."""
    position = org_service.create_position(
        session,
        code="P-DEL",
        title="Analista",
        unit=org.delegation,
        role_code="procurement_officer",
        planned_headcount=count + 2,
    )
    staff = [
        org_service.create_employee(
            session,
            EmployeeInput(
                number=f"D{i:03d}",
                first_name="Ana",
                last_name=f"Del{i}",
                email="",
                unit_id=org.delegation.id,
                position_id=position.id,
                hire_date=date(2010, 1, 1),
                birth_date=date(1962, 1, 1),
            ),
        )
        for i in range(count)
    ]
    session.commit()
    return staff


def test_heatmap_suppresses_small_cells_unless_the_viewer_has_details(session, org, people):
    staff = _staff_unit(session, org, 6)
    legal = service.get_competency(session, "legal")
    for person in staff:
        service.record_rating(
            session, employee=person, competency=legal, level=3, source="hr", actor=people["hr"]
        )
    session.commit()
    service.GAP_CACHE.clear()
    aggregate = service.heatmap(session, group_by="unit", details=False)
    rows = {r.label: r for r in aggregate.rows}
    central = rows[org.central.name]
    delegation = rows[org.delegation.name]
    assert all(c.suppressed and c.coverage is None for c in central.cells)  # 3 people
    legal_cell = next(c for c in delegation.cells if c.competency_id == legal.id)
    assert not legal_cell.suppressed and legal_cell.coverage == 1.0
    detailed = service.heatmap(session, group_by="unit", details=True)
    central_detail = {r.label: r for r in detailed.rows}[org.central.name]
    assert not any(c.suppressed for c in central_detail.cells)
    assert central_detail.people == 3


def test_cached_heatmap_is_recomputed_after_a_new_rating(session, org, people):
    staff = _staff_unit(session, org, 5)
    service.GAP_CACHE.clear()
    legal = service.get_competency(session, "legal")
    first = service.heatmap(session, group_by="organisation", details=True)
    assert service.heatmap(session, group_by="organisation", details=True) is first
    service.record_rating(
        session, employee=staff[0], competency=legal, level=4, source="hr", actor=people["hr"]
    )
    session.commit()
    second = service.heatmap(session, group_by="organisation", details=True)
    assert second is not first
    cell = lambda report: next(c for c in report.total.cells if c.competency_id == legal.id)  # noqa: E731
    assert cell(second).met_n == cell(first).met_n + 1


def test_cached_heatmap_follows_people_moving_units(session, org, people):
    service.GAP_CACHE.clear()
    before = service.heatmap(session, group_by="unit", details=True)
    assert {r.label for r in before.rows} == {org.central.name}
    data = EmployeeInput(
        number="E002",
        first_name="Mario",
        last_name="Ruiz",
        email="",
        unit_id=org.delegation.id,
        position_id=org.officer_position.id,
        hire_date=date(2015, 3, 1),
    )
    org_service.update_employee(session, employee=org.officer_a, data=data, actor="test")
    session.commit()
    after = service.heatmap(session, group_by="unit", details=True)
    assert {r.label for r in after.rows} == {org.central.name, org.delegation.name}


def test_the_report_states_the_profile_versions_it_used(session, org, people):
    service.GAP_CACHE.clear()
    report = service.heatmap(session, details=True)
    uses = {p.key: p.version for p in report.basis.profiles}
    assert uses["role:procurement_officer"] == 1
    profile = next(
        p for p in service.list_profiles(session) if p.role_code == "procurement_officer"
    )
    service.save_profile(
        session,
        profile=profile,
        requirements={"legal": (1, "essential")},
        reason="",
        actor=people["hr"].user,
    )
    session.commit()
    again = service.heatmap(session, details=True)
    assert {p.key: p.version for p in again.basis.profiles}["role:procurement_officer"] == 2
    assert again.basis.profiles_revision == report.basis.profiles_revision + 1


def test_current_rating_mirrors_the_newest_validated_entry(session, org, people):
    self_assess(session, org.officer_a, people["a"], 2)
    agree_all(session, org.officer_a, people["head"])
    rows = session.exec(select(CurrentRating)).all()
    newest = {
        (e.employee_id, e.competency_id): e.id
        for e in session.exec(select(RatingEntry).where(RatingEntry.validated)).all()
    }
    assert {(r.employee_id, r.competency_id): r.entry_id for r in rows} == newest
    frame = service.fetch_current_ratings(session)
    assert len(frame) == 13 and set(frame["level"]) == {2}


def test_validation_queue_shows_a_supervisor_only_their_reports(session, org, people):
    self_assess(session, org.officer_a, people["a"], 2)
    self_assess(session, org.outsider, people["outsider"], 2)
    mine = service.validation_queue(session, actor=people["head"])
    assert [i.employee.id for i in mine] == [org.officer_a.id]
    everyone = service.validation_queue(session, actor=people["hr"])
    assert {i.employee.id for i in everyone} == {org.officer_a.id, org.outsider.id}
    assert codes(session)


def test_after_new_ratings_the_cache_reads_only_what_changed_and_agrees_with_a_recompute(
    session, org, people
):
    staff = _staff_unit(session, org, 5)
    service.GAP_CACHE.clear()
    service.heatmap(session, group_by="unit", details=True)
    legal = service.get_competency(session, "legal")
    self_assess(session, org.officer_a, people["a"], 3)
    agree_all(session, org.officer_a, people["head"])
    service.record_rating(
        session, employee=staff[1], competency=legal, level=4, source="hr", actor=people["hr"]
    )
    session.commit()
    stamped = session.exec(select(CurrentRating.revision).distinct()).all()
    assert len(stamped) == 2  # one revision per transaction
    assert service.fetch_current_ratings(session, above_revision=max(stamped) - 1).shape[0] == 1
    incremental = service.organisation_cells(session).cells
    service.GAP_CACHE.clear()
    full = service.organisation_cells(session).cells
    columns = ["unit_id", "role_code", "competency_id"]
    pd.testing.assert_frame_equal(
        incremental.sort_values(columns).reset_index(drop=True),
        full.sort_values(columns).reset_index(drop=True),
    )


def test_after_profile_and_people_changes_the_ratings_are_carried_over_not_reread(
    session, org, people, monkeypatch
):
    staff = _staff_unit(session, org, 5)
    legal = service.get_competency(session, "legal")
    for level, person in enumerate(staff[:3], start=1):
        service.record_rating(
            session, employee=person, competency=legal, level=level, source="hr", actor=people["hr"]
        )
    self_assess(session, org.officer_a, people["a"], 2)
    agree_all(session, org.officer_a, people["head"])
    session.commit()
    service.GAP_CACHE.clear()
    service.organisation_cells(session)

    # Change everything but the competencies: a profile, where someone works, a newcomer
    # (with ratings of their own), and one more rating.
    profile = next(
        p for p in service.list_profiles(session) if p.role_code == "procurement_officer"
    )
    service.save_profile(
        session,
        profile=profile,
        requirements={"legal": (4, "essential"), "negotiation": (2, "desirable")},
        reason="Más exigencia jurídica",
        actor=people["hr"].user,
    )
    moved = EmployeeInput(
        number=staff[0].number,
        first_name=staff[0].first_name,
        last_name=staff[0].last_name,
        email="",
        unit_id=org.central.id,
        position_id=org.officer_position.id,
        hire_date=date(2010, 1, 1),
    )
    org_service.update_employee(session, employee=staff[0], data=moved, actor="test")
    newcomer = org_service.create_employee(
        session,
        EmployeeInput(
            number="N001",
            first_name="Nora",
            last_name="Nueva",
            email="",
            unit_id=org.delegation.id,
            position_id=staff[1].position_id,
            hire_date=date(2026, 1, 1),
        ),
    )
    session.commit()
    service.record_rating(
        session, employee=newcomer, competency=legal, level=4, source="hr", actor=people["hr"]
    )
    service.record_rating(
        session, employee=staff[4], competency=legal, level=3, source="hr", actor=people["hr"]
    )
    session.commit()

    reads: list[dict] = []
    fetch = service.fetch_current_ratings

    def counting(session_, **kwargs):
        reads.append(kwargs)
        return fetch(session_, **kwargs)

    # The cached report reads through its own module's name for the function.
    monkeypatch.setattr(reports, "fetch_current_ratings", counting)
    carried = service.organisation_cells(session).cells
    # No full read: the ratings written since, and those of the one person new to the population.
    assert reads
    assert all(r.get("above_revision") is not None or r.get("employee_ids") for r in reads)
    assert {tuple(r.get("employee_ids") or ()) for r in reads} >= {(newcomer.id,)}

    service.GAP_CACHE.clear()
    full = service.organisation_cells(session).cells
    columns = ["unit_id", "role_code", "competency_id"]
    pd.testing.assert_frame_equal(
        carried.sort_values(columns).reset_index(drop=True),
        full.sort_values(columns).reset_index(drop=True),
    )


def test_integer_fetch_agrees_with_plain_rows_on_every_backend(session, org, people):
    """`_fetch_ints` (DB-API cursor batches straight into numpy) matches what plain rows say."""
    self_assess(session, org.officer_a, people["a"], 3)
    agree_all(session, org.officer_a, people["head"])
    session.commit()
    for employee_ids in (None, [org.officer_a.id], []):
        frame = service.fetch_current_ratings(session, employee_ids=employee_ids)
        statement = select(
            CurrentRating.employee_id, CurrentRating.competency_id, CurrentRating.level
        )
        if employee_ids is not None:
            statement = statement.where(CurrentRating.employee_id.in_(employee_ids))
        rows = sorted(tuple(r) for r in session.exec(statement).all())
        assert sorted(frame.itertuples(index=False, name=None)) == rows
        assert list(frame.dtypes) == ["int64"] * 3
    # The employee scan (a status filter and a coalesce) too.
    org_frames = service.load_org_frames(session)
    employees = service.fetch_employees(session, org_frames)
    assert set(employees["employee_id"]) == {
        e.id for e in session.exec(select(Employee)).all() if e.status != "left"
    }


def test_a_cached_report_left_by_another_database_is_never_carried_over(session, org, people):
    """Employee ids repeat across databases (a restore, the next test's fresh one): the process's
    cached cells of one database must not lend their ratings to another's report."""
    legal = service.get_competency(session, "legal")
    service.record_rating(
        session, employee=org.officer_a, competency=legal, level=1, source="hr", actor=people["hr"]
    )
    session.commit()
    service.GAP_CACHE.clear()
    other = service.organisation_cells(session)
    service.record_rating(
        session, employee=org.officer_a, competency=legal, level=3, source="hr", actor=people["hr"]
    )
    session.commit()
    # What a previous database left in the process: the same employee ids, its own ratings
    # (officer_a at level 1) and a ratings revision as new as this database's.
    (_ratings, profiles), people_revision = other.key[0]
    now_ratings = service.data_key(session)[0][0]
    service.GAP_CACHE.cells = dataclasses.replace(
        other,
        key=(((now_ratings, profiles), people_revision), "sqlite:////elsewhere/other.db#org1"),
    )
    carried = service.organisation_cells(session).cells

    service.GAP_CACHE.clear()
    cold = service.organisation_cells(session).cells
    columns = ["unit_id", "role_code", "competency_id"]
    pd.testing.assert_frame_equal(
        carried.sort_values(columns).reset_index(drop=True),
        cold.sort_values(columns).reset_index(drop=True),
    )
