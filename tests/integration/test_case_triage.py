"""Triage, channel questionnaires and retention holds (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from backend import audit, clock
from tests.reporting_helpers import (
    file_report,
    open_as,
    ready_channel,
    report_form_data,
    staff_login,
    submit_via_client,
)
from whistleblowing import deadlines
from whistleblowing import service as reporting
from whistleblowing.models import (
    ItemKind,
    Report,
    ReportChannel,
    ReportPriorityOverride,
    RetentionHold,
)


def _entries(session, action: str) -> list[audit.AuditEntry]:
    return session.exec(select(audit.AuditEntry).where(audit.AuditEntry.action == action)).all()


def test_priority_sorts_the_inbox_and_an_override_is_audited_with_its_reason_sealed(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    today = clock.today(settings)
    calm = file_report(session, settings, ready.channel.id, red_flags=[]).report
    alarming = file_report(
        session,
        settings,
        ready.channel.id,
        red_flags=[
            "duplicate_invoices",
            "data_manipulation",
            "favoured_treatment",
            "round_sum_invoices",
        ],
    ).report
    assert alarming.red_flag_points == 11 and calm.red_flag_points == 0
    by_priority = reporting.InboxFilter(sort="priority")
    rows, _total = reporting.inbox_page(
        session, user=ready.investigator, filters=by_priority, today=today
    )
    assert [r.report.reference for r in rows] == [alarming.reference, calm.reference]
    assert rows[0].priority.level.value == "high" and rows[1].priority.level.value == "low"

    access = open_as(session, ready.investigator, calm.reference)
    with pytest.raises(reporting.ReportingError) as refused:
        reporting.override_priority(
            session,
            access=access,
            actor=ready.investigator,
            level="urgent",
            reason="short",
            today=today,
        )
    assert refused.value.field == "priority_reason"
    session.rollback()
    reason = "The supplier is being awarded a new contract next week."
    reporting.override_priority(
        session, access=access, actor=ready.investigator, level="urgent", reason=reason, today=today
    )
    session.commit()
    rows, _total = reporting.inbox_page(
        session, user=ready.investigator, filters=by_priority, today=today
    )
    assert [r.report.reference for r in rows] == [calm.reference, alarming.reference]
    assert rows[0].priority.override is not None and rows[0].priority.computed.value == "low"
    (entry,) = _entries(session, "report.priority_overridden")
    assert entry.entity_id == calm.reference and entry.actor_id == ready.investigator.id
    assert entry.before == {"priority": "low", "set_by_hand": False}
    assert entry.after == {"priority": "urgent", "set_by_hand": True}
    assert reason not in str(entry.after) + str(entry.before)
    row = session.get(ReportPriorityOverride, calm.id)
    assert reason.encode() not in row.reason_sealed
    shown = reporting.case_priority(session, access=access, today=today)
    assert shown.reason == reason and shown.priority.level.value == "urgent"

    # Back to the computed priority: audited too.
    reporting.override_priority(
        session, access=access, actor=ready.investigator, level="", reason=reason, today=today
    )
    session.commit()
    assert session.get(ReportPriorityOverride, calm.id) is None
    assert len(_entries(session, "report.priority_override_removed")) == 1


def _yes_no_then_text(session, settings, ready):
    """A channel questionnaire: a yes/no question, and a required one asked only after yes."""
    today = clock.today(settings)
    reporting.add_question(
        session,
        channel=ready.channel,
        actor=ready.investigator,
        data=reporting.QuestionInput(
            kind="yes_no", text_es="¿Hubo pagos?", text_en="Were payments made?"
        ),
        today=today,
    )
    reporting.add_question(
        session,
        channel=ready.channel,
        actor=ready.investigator,
        data=reporting.QuestionInput(
            text_es="¿A quién se pagó?",
            text_en="Who was paid?",
            required=True,
            show_if="q1=yes",
        ),
        today=today,
    )
    session.commit()


def test_a_report_keeps_the_questionnaire_version_it_was_filed_with(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    _yes_no_then_text(session, settings, ready)
    first = file_report(
        session, settings, ready.channel.id, answers={"q1": "yes", "q2": "Acme Medical SA"}
    ).report
    assert first.questionnaire_version == 2
    reporting.edit_question(
        session,
        channel=ready.channel,
        actor=ready.investigator,
        key="q2",
        data=reporting.QuestionInput(
            text_es="¿Qué empresa cobró?",
            text_en="Which company was paid?",
            required=True,
            show_if="q1=yes",
        ),
        today=clock.today(settings),
    )
    session.commit()
    assert reporting.current_questionnaire(session, ready.channel.id).version == 3
    later = file_report(
        session, settings, ready.channel.id, answers={"q1": "yes", "q2": "Other SA"}
    ).report
    assert later.questionnaire_version == 3
    session.refresh(first)
    assert first.questionnaire_version == 2
    entries = reporting.timeline(
        session, access=open_as(session, ready.investigator, first.reference)
    )
    sealed = next(e for e in entries if e.kind is ItemKind.submission).content["questionnaire"]
    assert sealed["version"] == 2
    assert [(a["question"]["en"], a["answer"]) for a in sealed["answers"]] == [
        ("Were payments made?", "yes"),
        ("Who was paid?", "Acme Medical SA"),
    ]
    assert sealed["answers"][0]["answer_words"] == {"es": "Sí", "en": "Yes"}
    assert len(_entries(session, "report_channel.questionnaire_published")) == 3
    # A question others depend on cannot lose the answer they wait for.
    with pytest.raises(reporting.ReportingError):
        reporting.remove_question(
            session,
            channel=ready.channel,
            actor=ready.investigator,
            key="q1",
            today=clock.today(settings),
        )


def test_conditional_questions_are_decided_and_validated_on_the_server(
    client, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    _yes_no_then_text(session, settings, ready)
    q1, q2 = (f"q-{ready.channel.id}-{key}" for key in ("q1", "q2"))
    # Asked (yes) but left blank: refused, with what was typed kept.
    refused = submit_via_client(
        client, report_form_data(ready.channel.id, what="Typed facts 4411", **{q1: "yes", q2: ""})
    )
    assert refused.status_code == 422
    assert "Answer this question." in refused.text and "Typed facts 4411" in refused.text
    assert session.exec(select(Report)).first() is None
    # Not asked (no): the answer typed anyway is dropped, never sealed.
    sent = submit_via_client(
        client, report_form_data(ready.channel.id, **{q1: "no", q2: "Should be dropped"})
    )
    assert sent.status_code == 200, sent.text
    report = session.exec(select(Report)).one()
    entries = reporting.timeline(
        session, access=open_as(session, ready.investigator, report.reference)
    )
    sealed = next(e for e in entries if e.kind is ItemKind.submission).content["questionnaire"]
    assert [(a["key"], a["answer"]) for a in sealed["answers"]] == [("q1", "no")]
    # A choice that is not offered is refused too.
    wrong = submit_via_client(client, report_form_data(ready.channel.id, **{q1: "maybe"}))
    assert wrong.status_code == 422 and "Choose one of the answers." in wrong.text
    # The investigator reads the answers on the case page, with the questions as asked.
    staff_login(client, ready.investigator.email)
    page = client.get(f"/cases/{report.reference}").text
    assert "Were payments made?" in page and "Should be dropped" not in page


def _closed_long_ago(session, settings, report: Report) -> Report:
    months = reporting.retention_months(settings)["unsubstantiated"]
    today = clock.today(settings)
    report.status, report.outcome = "closed", "unsubstantiated"
    report.closed_on = deadlines.add_months(today, -months) - timedelta(days=3)
    session.add(report)
    session.commit()
    return report


def test_a_held_case_is_listed_as_due_but_never_deleted_until_the_hold_ends(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    today = clock.today(settings)
    held = _closed_long_ago(
        session, settings, file_report(session, settings, ready.channel.id).report
    )
    extended = _closed_long_ago(
        session, settings, file_report(session, settings, ready.channel.id).report
    )
    free = _closed_long_ago(
        session, settings, file_report(session, settings, ready.channel.id).report
    )
    refs = held.reference, extended.reference, free.reference
    hold = reporting.place_hold(
        session,
        settings,
        access=open_as(session, ready.investigator, held.reference),
        actor=ready.investigator,
        kind="legal_hold",
        until=today + timedelta(days=200),
        reason="Court order 118/2026 to preserve the file.",
        today=today,
    )
    reporting.place_hold(
        session,
        settings,
        access=open_as(session, ready.investigator, extended.reference),
        actor=ready.investigator,
        kind="extension",
        until=today + timedelta(days=30),
        reason="The audit office asked to see it next month.",
        today=today,
    )
    session.commit()
    due = reporting.due_for_deletion(
        session, settings, today=today, within_days=30, held_by=ready.investigator.id
    )
    assert {d.reference: d.kept_until for d in due} == {
        refs[0]: today + timedelta(days=200),
        refs[1]: today + timedelta(days=30),
        refs[2]: None,
    }
    assert [d.reference for d in due][-1] == refs[0]  # deleted last
    run = reporting.apply_retention(session, settings, today=today)
    session.commit()
    assert run.deleted == [refs[2]]
    assert {r.reference for r in session.exec(select(Report))} == {refs[0], refs[1]}
    assert [e.entity_id for e in _entries(session, "report.legal_hold_placed")] == [refs[0]]
    assert [e.entity_id for e in _entries(session, "report.retention_extended")] == [refs[1]]

    # The hold ends early (audited), and the next run deletes the case.
    reporting.release_hold(
        session,
        access=open_as(session, ready.investigator, refs[0]),
        actor=ready.investigator,
        hold_id=hold.id,
        reason="The court lifted the preservation order.",
        today=today,
    )
    session.commit()
    assert len(_entries(session, "report.legal_hold_released")) == 1
    run = reporting.apply_retention(session, settings, today=today)
    session.commit()
    assert run.deleted == [refs[0]]
    assert session.exec(select(RetentionHold)).all() != []  # the extension's row stays
    # After its day the extension no longer keeps the case.
    run = reporting.apply_retention(session, settings, today=today + timedelta(days=31))
    session.commit()
    assert run.deleted == [refs[1]]
    assert session.exec(select(RetentionHold)).all() == []


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_demo_shows_questionnaires_priorities_and_cases_due_for_deletion(
    engine, settings, app, client
):
    from backend import demo, plugins
    from tests.conftest import login

    demo.generate(engine, employees=40, seed=1)
    with Session(engine) as db:
        demo.create_demo_accounts(db, settings)
        db.commit()
    plugins.call_hooks("up", engine, settings)
    with Session(engine) as db:
        channel = db.exec(select(ReportChannel).where(ReportChannel.code == "procurement_fraud"))
        channel_id = channel.one().id
    form = client.get(f"/report/new?channel={channel_id}&lang=en").text
    assert "Was money or a payment involved?" in form and "Roughly how much?" in form

    login(client, demo.demo_email("investigator"), demo.demo_password("investigator"))
    inbox = client.get("/cases?sort=priority&lang=en").text
    # Computed (flags, a weighted channel, 40 days waiting), set by hand, computed.
    levels = re.findall(r'class="badge priority-(\w+)"', inbox)
    assert levels == ["urgent", "urgent", "low"] and inbox.count("(set by hand)") == 1
    due = client.get("/cases/retention?lang=en").text
    assert due.count("kept until") == 1 and "2 cases are due for deletion" in due

    client.cookies.clear()
    login(client, demo.demo_email("admin"), demo.demo_password("admin"))
    page = client.get(f"/cases/channels/{channel_id}/questions?lang=en").text
    assert "Contract, order or procedure number, if you know it" in page
    assert "Version 5" in page
    assert "2 cases are due for deletion" in client.get("/cases/retention/all?lang=en").text


def test_administrators_edit_questionnaires_and_refused_forms_keep_what_was_typed(
    client, session, settings, make_user
):
    from tests.conftest import TEST_PASSWORD, login

    ready = ready_channel(session, settings, make_user)
    admin = make_user("admin")
    page = f"/cases/channels/{ready.channel.id}/questions"
    csrf = login(client, admin.email, TEST_PASSWORD)
    typed = {"kind": "choice", "text_es": "¿Dónde?", "text_en": "Where exactly 7731?"}
    refused = client.post(
        page, data={**typed, "options": "Solo una | Only one", "csrf_token": csrf}
    )
    assert refused.status_code == 422
    assert "Give at least two answers to choose from." in refused.text
    assert "Where exactly 7731?" in refused.text
    assert reporting.current_questionnaire(session, ready.channel.id) is None
    options = "Almacén | Warehouse\nFarmacia | Pharmacy"
    done = client.post(
        page, data={**typed, "options": options, "csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    editing = client.get(f"{page}?edit=q1").text
    assert "Farmacia | Pharmacy" in editing and 'action="' + page + '/q1"' in editing
    changed = client.post(
        f"{page}/q1",
        data={**typed, "text_en": "Where?", "options": options, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    removed = client.post(f"{page}/q1/remove", data={"csrf_token": csrf}, follow_redirects=False)
    assert removed.status_code == 303
    versions = reporting.questionnaire_versions(session, ready.channel.id)
    assert [(v.version, len(v.questions)) for v in versions] == [(3, 0), (2, 1), (1, 1)]
    weight = client.post(
        f"/cases/channels/{ready.channel.id}/priority-weight",
        data={"priority_weight": "9", "csrf_token": csrf},
    )
    assert weight.status_code == 422 and "Choose a whole number from 0 to 5." in weight.text

    # An investigator's hold with a day already past is refused on the case page, as typed.
    report = file_report(session, settings, ready.channel.id).report
    client.cookies.clear()
    csrf = staff_login(client, ready.investigator.email)
    hold = client.post(
        f"/cases/{report.reference}/holds",
        data={
            "hold_kind": "legal_hold",
            "hold_until": "2020-01-01",
            "hold_reason": "Kept for the prosecutor 5521.",
            "csrf_token": csrf,
        },
    )
    assert hold.status_code == 422 and "Choose a day after today." in hold.text
    assert "Kept for the prosecutor 5521." in hold.text
    assert session.exec(select(RetentionHold)).all() == []
