"""Retention rules: the dry run lists what is past its period, and the real run deletes or
anonymises exactly that, nothing more (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from assessments.appraisals.models import Appraisal, AppraisalCycle, AppraisalDialogue
from assessments.vacancies.models import (
    AdjustmentRequest,
    Application,
    ApplicationEvidence,
    Vacancy,
    VacancyStatus,
)
from backend import audit, clock
from backend.privacy import service as privacy
from backend.privacy.models import ArcoRequest
from competency_framework.training.models import (
    TrainingActivity,
    TrainingEnrolment,
    TrainingSession,
)

TODAY = date(2026, 12, 7)


def at(year: int, month: int, day: int = 1) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


@pytest.fixture
def old_and_new(session, org, make_user):
    """For every rule, records past their period and records that are not (or never are)."""
    person = make_user("employee", employee=org.officer_a)
    hr = make_user("hr_planner")
    arco = [
        ArcoRequest(
            user_id=person.id,
            kind="access",
            subject=s,
            filed_on=d,
            due_on=d,
            status=st,
            decision="granted" if st == "answered" else "",
        )
        for s, d, st in [
            ("old answered", date(2020, 1, 6), "answered"),
            ("recent answered", date(2026, 1, 5), "answered"),
            ("old but pending", date(2020, 1, 6), "pending"),
        ]
    ]
    session.add_all(arco)
    cycles = {
        "old": AppraisalCycle(
            name="Ciclo 2019",
            period_start=date(2019, 1, 1),
            period_end=date(2019, 12, 31),
            plan_year=2019,
            scope={},
            completed_at=at(2020, 2),
        ),
        "recent": AppraisalCycle(
            name="Ciclo 2025",
            period_start=date(2025, 1, 1),
            period_end=date(2025, 12, 31),
            plan_year=2025,
            scope={},
            completed_at=at(2026, 2),
        ),
        "open": AppraisalCycle(
            name="Ciclo 2018 abierto",
            period_start=date(2018, 1, 1),
            period_end=date(2018, 12, 31),
            plan_year=2018,
            scope={},
        ),
    }
    session.add_all(cycles.values())
    session.flush()
    appraisals = {}
    for name, cycle in cycles.items():
        for who in (org.officer_a, org.officer_b):
            row = Appraisal(cycle_id=cycle.id, employee_id=who.id, unit_id=who.unit_id)
            session.add(row)
            session.flush()
            session.add(
                AppraisalDialogue(
                    appraisal_id=row.id, held_on=date(2019, 11, 1), achievements="Logros"
                )
            )
            appraisals.setdefault(name, []).append(row.id)
        cycle.appraisal_count = 2
    activity = TrainingActivity(
        code="T-1",
        title_es="Compras",
        title_en="Procurement",
        modality="classroom",
        audience=["procurement_staff"],
    )
    session.add(activity)
    session.flush()
    course = TrainingSession(activity_id=activity.id, starts_at=at(2019, 3), ends_at=at(2019, 3, 2))
    session.add(course)
    session.flush()
    enrolments = {
        "old_completed": TrainingEnrolment(
            session_id=course.id,
            activity_id=activity.id,
            employee_id=org.officer_a.id,
            status="completed",
            completed_at=at(2019, 3, 2),
        ),
        "old_cancelled": TrainingEnrolment(
            session_id=course.id,
            activity_id=activity.id,
            employee_id=org.officer_b.id,
            status="cancelled",
            cancelled_at=at(2019, 2, 20),
        ),
        "recent": TrainingEnrolment(
            session_id=course.id,
            activity_id=activity.id,
            employee_id=org.head.id,
            status="completed",
            completed_at=at(2024, 6),
        ),
        "still_enrolled": TrainingEnrolment(
            session_id=course.id,
            activity_id=activity.id,
            employee_id=org.outsider.id,
            status="enrolled",
        ),
    }
    session.add_all(enrolments.values())
    vacancies = {
        "old": Vacancy(
            reference="OLD-1",
            position_id=org.officer_position.id,
            unit_id=org.central.id,
            title="Oficial 2022",
            status=VacancyStatus.appointed,
            appointed_at=at(2022, 3),
        ),
        "recent": Vacancy(
            reference="NEW-1",
            position_id=org.officer_position.id,
            unit_id=org.central.id,
            title="Oficial 2026",
            status=VacancyStatus.appointed,
            appointed_at=at(2026, 6),
        ),
    }
    session.add_all(vacancies.values())
    session.flush()
    applicants = [make_user("candidate") for _ in range(4)]
    applications = {}
    for (vacancy, status, code), user in zip(
        [
            ("old", "out", "C-001"),
            ("old", "appointed", "C-002"),
            ("recent", "out", "C-003"),
            ("old", "withdrawn", "C-004"),
        ],
        applicants,
        strict=True,
    ):
        row = Application(
            vacancy_id=vacancies[vacancy].id,
            user_id=user.id,
            status=status,
            candidate_name=f"Nombre {code}",
            candidate_surnames="Apellidos",
            anonymous_code=code,
            eligibility_answers={"q1": "yes"},
            review_grounds="Mis razones",
        )
        session.add(row)
        session.flush()
        session.add(
            ApplicationEvidence(
                application_id=row.id, competency_code="planning", text="Mi evidencia"
            )
        )
        session.add(
            AdjustmentRequest(
                vacancy_id=row.vacancy_id,
                application_id=row.id,
                kinds=["extra_time"],
                extra_minutes=15,
                details="Tengo dislexia diagnosticada",
                decision="granted",
                decision_reason="Concedido por dictamen médico",
            )
        )
        applications[code] = row.id
    session.commit()
    return {
        "arco": {a.subject: a.id for a in arco},
        "appraisals": appraisals,
        "enrolments": {k: v.id for k, v in enrolments.items()},
        "applications": applications,
        "hr": hr,
    }


def _listed(found) -> dict[str, list[str]]:
    return {p.rule.record_type: [r.key for r in p.records] for p in found.rules}


def test_the_real_run_acts_on_exactly_what_the_dry_run_listed(session, settings, old_and_new):
    data = old_and_new
    with clock.frozen(TODAY):
        dry = privacy.plan(session, settings)
        listed = _listed(dry)
        assert listed == {
            "privacy.arco_requests": [str(data["arco"]["old answered"])],
            "training.enrolments": [
                str(data["enrolments"]["old_completed"]),
                str(data["enrolments"]["old_cancelled"]),
            ],
            "appraisals.appraisals": [str(i) for i in data["appraisals"]["old"]],
            "vacancies.unsuccessful_candidates": [
                str(data["applications"]["C-001"]),
                str(data["applications"]["C-004"]),
            ],
        }
        # The dry run changed nothing.
        session.expire_all()
        assert session.get(ArcoRequest, data["arco"]["old answered"]) is not None
        done = privacy.apply(session, settings, actor=data["hr"], expected=dry.fingerprint)
        session.commit()
    assert _listed(done) == listed

    session.expire_all()
    assert session.get(ArcoRequest, data["arco"]["old answered"]) is None
    assert session.get(ArcoRequest, data["arco"]["recent answered"]) is not None
    assert session.get(ArcoRequest, data["arco"]["old but pending"]) is not None
    remaining = set(session.exec(select(Appraisal.id)).all())
    assert remaining == set(data["appraisals"]["recent"] + data["appraisals"]["open"])
    # Their dialogues went with them (cascade), the others' stayed.
    assert set(session.exec(select(AppraisalDialogue.appraisal_id)).all()) == remaining
    old_cycle = session.exec(
        select(AppraisalCycle).where(AppraisalCycle.name == "Ciclo 2019")
    ).one()
    assert old_cycle.appraisal_count == 0
    enrolments = set(session.exec(select(TrainingEnrolment.id)).all())
    assert enrolments == {data["enrolments"]["recent"], data["enrolments"]["still_enrolled"]}
    for code, anonymised in [("C-001", True), ("C-002", False), ("C-003", False), ("C-004", True)]:
        row = session.get(Application, data["applications"][code])
        evidence = session.exec(
            select(ApplicationEvidence).where(ApplicationEvidence.application_id == row.id)
        ).all()
        adjustment = session.exec(
            select(AdjustmentRequest).where(AdjustmentRequest.application_id == row.id)
        ).one()
        if anonymised:
            assert (row.candidate_name, row.candidate_surnames) == (code, "")
            assert row.eligibility_answers == {} and row.review_grounds == "" and evidence == []
            assert (adjustment.details, adjustment.decision_reason) == ("", "")
            assert adjustment.extra_minutes == 15  # the statistics keep what was asked
        else:
            assert row.candidate_name == f"Nombre {code}" and len(evidence) == 1
            assert adjustment.details == "Tengo dislexia diagnosticada"
    # One audit entry per rule that acted, naming exactly the keys.
    entries = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "privacy.retention_applied")
    ).all()
    assert {e.entity_id: e.after["keys"] for e in entries} == listed
    # Nothing is left to do.
    with clock.frozen(TODAY):
        assert privacy.plan(session, settings).total == 0


def test_the_real_run_refuses_a_list_that_changed_since_the_dry_run(session, settings, old_and_new):
    with clock.frozen(TODAY):
        dry = privacy.plan(session, settings)
        # Someone shortens a period: the list grows.
        privacy.set_period(session, record_type="privacy.arco_requests", months=6, actor="test")
        session.commit()
        with pytest.raises(privacy.PrivacyError) as refused:
            privacy.apply(session, settings, actor="test", expected=dry.fingerprint)
        assert refused.value.status_code == 409
        session.rollback()
        assert privacy.plan(session, settings).total == dry.total + 1
        assert session.get(ArcoRequest, old_and_new["arco"]["old answered"]) is not None


@pytest.fixture
def cli(monkeypatch, settings, database_url):
    from typer.testing import CliRunner

    from backend.config import get_settings

    monkeypatch.setenv("MERITO_DATABASE_URL", database_url)
    monkeypatch.setenv("MERITO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MERITO_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("MERITO_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_command_lists_then_applies_the_daily_jobs_run(session, settings, cli, old_and_new):
    from backend.cli import app

    with clock.frozen(TODAY):
        expected = privacy.plan(session, settings)
        session.rollback()
        listed = cli.invoke(app, ["privacy", "retention", "--dry-run"])
        assert listed.exit_code == 0, listed.output
        assert f"{expected.total} records in all" in listed.output
        for planned in expected.rules:
            for record in planned.records:
                assert f"  {record.key}\t{record.description}" in listed.output
        assert privacy.plan(session, settings).fingerprint == expected.fingerprint
        session.rollback()
        applied = cli.invoke(app, ["privacy", "retention", "--apply"])
        assert applied.exit_code == 0, applied.output
        assert f"{expected.total} records past their retention period handled" in applied.output
        session.expire_all()
        assert privacy.plan(session, settings).total == 0
