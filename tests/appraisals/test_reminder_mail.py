"""Appraisal reminders by email, through the notice service: a real local SMTP server, the
outbox, retries, the audit."""

from __future__ import annotations

import email
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.utils import parseaddr

import pytest
from sqlmodel import select

from assessments.appraisals import service
from assessments.appraisals.models import AppraisalReminder
from backend import clock, jobs
from backend.audit import AuditEntry
from backend.notices.models import Notice, NoticeDelivery
from tests.appraisals.helpers import agree, appraisal_of, open_cycle, plan, set_objectives
from tests.competency.helpers import principal_for
from tests.conftest import free_port, login
from tests.smtp_helpers import local_smtp, use_smtp

PUBLIC_URL = "https://merito.example.org"


@dataclass
class Scene:
    cycle: object
    hr: object  # a principal
    hr_user: object
    head_user: object  # English
    a_user: object  # Spanish
    # Officer b has no account.


@pytest.fixture
def scene(session, org, make_user) -> Scene:
    """Officer a agreed objectives (self-assessment due); officer b has not (and no account).

    Reminders: officer a (self-assessment, in Spanish), the head (one assessment to write, in
    English), officer b (agree objectives: cannot be emailed).
    """
    head_user = make_user(employee=org.head)
    a_user = make_user(employee=org.officer_a, locale="es")
    hr_user = make_user("hr_planner")
    hr = principal_for(session, hr_user)
    head = principal_for(session, head_user)
    priority = plan(session, hr)
    cycle = open_cycle(session, hr)
    for officer in (org.officer_a, org.officer_b):
        set_objectives(session, appraisal_of(session, cycle, officer), head, priority)
    agree(session, appraisal_of(session, cycle, org.officer_a), principal_for(session, a_user))
    return Scene(cycle, hr, hr_user, head_user, a_user)


def reminders_in(messages: list) -> list:
    """The reminders among the mail (the supervisor's proposal also told officer a that the
    objectives wait to be agreed)."""
    return [m for m in messages if str(m["Subject"]).startswith("Mérito:")]


def remind(session, scene: Scene) -> dict[str, int]:
    counts = service.remind(session, cycle=scene.cycle, actor=scene.hr)
    session.commit()
    return counts


def statuses(session) -> dict[int, tuple[str | None, int]]:
    """Return {recipient employee id: (mail status, attempts)}."""
    session.expire_all()
    return {
        r.recipient_employee_id: (r.mail_status, r.mail_attempts)
        for r in session.exec(select(AppraisalReminder))
    }


def mail_audits(session) -> list[dict]:
    return [
        e.after
        for e in session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "appraisal.reminders_mailed")
            .order_by(AuditEntry.seq)
        )
    ]


def test_reminders_are_emailed_in_each_recipients_language_and_audited(
    session, settings, org, scene
):
    counts = remind(session, scene)
    assert counts == {"self_assessment": 1, "supervisor_assessment": 1, "agree_objectives": 1}
    assert set(statuses(session).values()) == {("pending", 0)}
    settings.public_url = PUBLIC_URL + "/"
    with local_smtp() as (controller, inbox):
        run = service.mail_reminders(session, use_smtp(settings, controller))
        assert run.counts == {"sent": 2, "no_account": 1}
        by_recipient = {parseaddr(str(m["To"]))[1]: m for m in reminders_in(inbox.messages)}
        assert set(by_recipient) == {scene.a_user.email, scene.head_user.email}

        spanish = by_recipient[scene.a_user.email]
        assert spanish["Subject"] == "Mérito: ciclo de evaluación 2026 — Redactar su autoevaluación"
        body = spanish.get_body(("plain",)).get_content()
        assert body.startswith(f"Hola, {scene.a_user.full_name}:")
        assert "RR. HH. le recuerda" in body and "1 de enero de 2026" in body
        assert f"{PUBLIC_URL}/appraisals" in body
        assert "pendiente de usted." not in body  # their own step: no count

        english = by_recipient[scene.head_user.email]
        assert english["Subject"] == (
            "Mérito: appraisal cycle 2026 — Write your assessments of the people who report to you"
        )
        body = english.get_body(("plain",)).get_content()
        assert "1 appraisal is waiting for you." in body and "January 1, 2026" in body

        # Each reminder is emailed once: a second run finds nothing to send.
        assert service.mail_reminders(session, settings).counts == {}
        assert len(reminders_in(inbox.messages)) == 2

    assert statuses(session) == {
        org.officer_a.id: ("sent", 1),
        org.head.id: ("sent", 1),
        org.officer_b.id: ("no_account", 0),
    }
    [entry] = mail_audits(session)
    assert entry["sent"] == 2 and entry["no_account"] == 1 and entry["failed"] == 0
    assert sorted(entry["emailed_employee_ids"]) == sorted([org.officer_a.id, org.head.id])
    # The dashboard notices stay.
    assert [r.kind for r in service.reminders_for(session, employee_id=org.officer_a.id)] == [
        "self_assessment"
    ]
    rows = {r.recipient: r.mail_status for r in service.reminders(session, scene.cycle)}
    assert rows[org.officer_b.full_name] == "no_account"


def _deliveries(session) -> list[tuple[str, int]]:
    session.expire_all()
    return sorted(
        (d.status, d.attempts)
        for d in session.exec(
            select(NoticeDelivery)
            .join(Notice, Notice.id == NoticeDelivery.notice_id)
            .where(Notice.kind == "appraisal.reminder")
        )
    )


def test_a_mail_server_that_is_down_is_retried_by_the_notice_service(session, settings, org, scene):
    remind(session, scene)
    settings.smtp_host, settings.smtp_port = "127.0.0.1", free_port()  # nobody listens
    settings.smtp_timeout_seconds = 2
    first = service.mail_reminders(session, settings)
    # Handed over once; their mail waits to be retried (with backoff), not lost.
    assert first.counts == {"sent": 2, "no_account": 1}
    assert [status for status, _n in _deliveries(session)] == ["pending", "pending"]
    assert all(attempts == 1 for _s, attempts in _deliveries(session))
    # A second run hands over nothing again: each reminder is told once.
    assert service.mail_reminders(session, settings).counts == {}
    with local_smtp() as (controller, inbox), clock.frozen(clock.now() + timedelta(minutes=5)):
        use_smtp(settings, controller)
        from backend import notices

        notices.deliver(session, settings)
        assert sorted(parseaddr(str(m["To"]))[1] for m in reminders_in(inbox.messages)) == sorted(
            [scene.a_user.email, scene.head_user.email]
        )
    assert [status for status, _n in _deliveries(session)] == ["sent", "sent"]
    assert statuses(session) == {
        org.officer_a.id: ("sent", 1),
        org.head.id: ("sent", 1),
        org.officer_b.id: ("no_account", 0),
    }


def test_reminders_of_a_cycle_completed_before_mailing_are_not_sent(session, settings, org, scene):
    remind(session, scene)
    service.complete_cycle(session, cycle=scene.cycle, actor=scene.hr)
    session.commit()
    with local_smtp() as (controller, inbox):
        run = service.mail_reminders(session, use_smtp(settings, controller))
        assert run.counts == {"cancelled": 3}
        assert reminders_in(inbox.messages) == []
    assert {s for s, _n in statuses(session).values()} == {"cancelled"}


def test_hr_reminds_from_the_cycle_page_and_the_job_writes_the_outbox(
    client, session, settings, org, scene
):
    csrf = login(client, scene.hr_user.email)
    cycle = scene.cycle
    response = client.post(
        f"/appraisals/cycles/{cycle.id}/remind", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "Reminders recorded: 3. Each person sees theirs on their start page" in response.text
    assert response.text.count("Waiting to be emailed") == 3

    jobs.load_job_modules()
    job = jobs.JOBS["appraisal_reminder_mail"]
    assert "2 reminders emailed" in job.run(session, settings)
    # No SMTP host in tests: each message is an .eml file in the outbox.
    files = sorted(settings.outbox_dir.glob("*.eml"))
    messages = reminders_in(
        [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    )
    assert {parseaddr(str(m["To"]))[1] for m in messages} == {
        scene.a_user.email,
        scene.head_user.email,
    }
    assert all(
        "/appraisals" in m.get_body(("plain",)).get_content()
        and (
            "Open it in Mérito" in m.get_body(("plain",)).get_content()
            or "Ábralo en Mérito" in m.get_body(("plain",)).get_content()
        )
        for m in messages
    )

    page = client.get(f"/appraisals/cycles/{cycle.id}")
    assert page.text.count("Emailed") == 2 and "Not emailed: no active account" in page.text
    spanish = client.get(f"/appraisals/cycles/{cycle.id}?lang=es")
    assert "Enviado por correo" in spanish.text and "sin cuenta activa" in spanish.text


# --- the operator's commands ----------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, settings, database_url):
    from typer.testing import CliRunner

    from backend.config import get_settings

    monkeypatch.setenv("MERITO_DATABASE_URL", database_url)
    monkeypatch.setenv("MERITO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MERITO_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("MERITO_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_merito_appraisals_mail_reminders_sends_now_once_under_the_jobs_lease(
    cli_env, monkeypatch, session, settings, scene
):
    from backend.cli import app as cli

    remind(session, scene)
    with local_smtp() as (controller, inbox):
        monkeypatch.setenv("MERITO_SMTP_HOST", controller.hostname)
        monkeypatch.setenv("MERITO_SMTP_PORT", str(controller.port))
        monkeypatch.setenv("MERITO_SMTP_STARTTLS", "false")
        done = cli_env.invoke(cli, ["appraisals", "mail-reminders"])
        assert done.exit_code == 0, done.output
        assert "2 reminders emailed" in done.output and "1 without an account" in done.output
        assert len(reminders_in(inbox.messages)) == 2
        # Nothing is sent twice; while the scheduler's run holds the lease, the command waits.
        again = cli_env.invoke(cli, ["appraisals", "mail-reminders"])
        assert again.exit_code == 0 and "0 reminders emailed" in again.output
        job = jobs.JOBS["appraisal_reminder_mail"]
        assert jobs.claim(session.get_bind(), job, force=True)
        busy = cli_env.invoke(cli, ["appraisals", "mail-reminders"])
        assert busy.exit_code == 1 and "another run" in busy.output
        assert len(reminders_in(inbox.messages)) == 2
    assert set(statuses(session).values()) == {("sent", 1), ("no_account", 0)}


def test_merito_appraisals_progress_prints_a_cycles_stages_per_unit(cli_env, session, scene):
    from backend.cli import app as cli

    shown = cli_env.invoke(cli, ["appraisals", "progress"])
    assert shown.exit_code == 0, shown.output
    assert f"Cycle {scene.cycle.id}: 2026 (open)" in shown.output
    _rows, total = service.cycle_progress(session, scene.cycle)
    last = shown.output.splitlines()[-1].split("\t")
    assert [int(n) for n in last[1:]] == [total.counts[stage] for stage in service.STAGES]
    assert sum(total.counts.values()) >= 2
    missing = cli_env.invoke(cli, ["appraisals", "progress", "999999"])
    assert missing.exit_code == 1 and "No appraisal cycle 999999" in missing.output
