"""The batched reads behind the dashboard panels and the self-assessment page give the same
answers as the rules they replace: pending ratings, the validation queue, campaign reminders."""

from __future__ import annotations

import re
from datetime import date

from markupsafe import escape
from sqlmodel import col, select

from competency_framework import service
from competency_framework.models import CampaignReminder, RatingEntry
from tests.competency.helpers import self_assess
from tests.conftest import login


def _pending_by_rule(session, employee_id: int) -> dict[int, int]:
    """{competency_id: entry id} read straight from the log: the newest self or training entry
    of each competency is pending unless a validation answers it."""
    log = session.exec(
        select(RatingEntry)
        .where(RatingEntry.employee_id == employee_id)
        .order_by(col(RatingEntry.id))
    ).all()
    reviewed = {e.review_of_id for e in log if e.review_of_id is not None}
    newest = {
        e.competency_id: e
        for e in log
        if not e.validated and e.source in service.AWAITING_VALIDATION_SOURCES
    }
    return {cid: e.id for cid, e in newest.items() if e.id not in reviewed}


def test_pending_entries_and_the_queue_agree_with_the_log(session, org, people):
    legal = service.get_competency(session, "legal")
    financial = service.get_competency(session, "financial")
    self_assess(session, org.officer_a, people["a"], {"legal": 2, "financial": 1})
    self_assess(session, org.officer_a, people["a"], {"legal": 3})  # replaces the first
    [newest] = [
        e
        for e in service.pending_self_entries(session, employee_id=org.officer_a.id).values()
        if e.competency_id == legal.id
    ]
    service.validate_ratings(
        session,
        employee=org.officer_a,
        decisions=[service.ValidationDecision(newest.id, 3)],
        actor=people["head"],
    )
    service.record_training_result(session, employee=org.officer_b, competency=legal, level=2)
    self_assess(session, org.officer_b, people["b"], {"financial": 4})

    for employee in (org.officer_a, org.officer_b, org.head):
        pending = service.pending_self_entries(session, employee_id=employee.id)
        assert {cid: e.id for cid, e in pending.items()} == _pending_by_rule(session, employee.id)
    # Legal's first self-rating was never reviewed, but the newer one was: nothing waits.
    officer_a = service.pending_self_entries(session, employee_id=org.officer_a.id)
    assert set(officer_a) == {financial.id}
    officer_b = service.pending_self_entries(session, employee_id=org.officer_b.id)
    assert {e.source for e in officer_b.values()} == {"training", "self"}

    queue = service.validation_queue(session, actor=people["head"])
    assert [(i.employee.id, i.pending) for i in queue] == [
        (org.officer_a.id, 1),
        (org.officer_b.id, 2),
    ]
    assert queue[1].oldest == min(e.recorded_at for e in officer_b.values())
    assert service.validation_queue(session, actor=people["b"]) == []  # no reports


def _campaign(session, people, unit_id, name, deadline):
    campaign = service.create_campaign(
        session,
        name=name,
        deadline=deadline,
        unit_ids=[unit_id],
        role_codes=[],
        include_subunits=False,
        actor=people["hr"].user,
    )
    session.commit()
    return campaign


def test_open_campaigns_come_with_the_newest_reminder_sent_to_that_person(session, org, people):
    later = _campaign(session, people, org.central.id, "Later", date(2099, 12, 31))
    sooner = _campaign(session, people, org.central.id, "Sooner", date(2099, 6, 30))
    closed = _campaign(session, people, org.central.id, "Closed", date(2099, 1, 31))
    hr = people["hr"].user
    for campaign in (sooner, sooner, closed):  # two rounds for officer a in "Sooner"
        service.remind(session, campaign=campaign, actor=hr)
        session.commit()
    self_assess(session, org.officer_a, people["a"], 2)  # all 13: the head must validate
    service.remind(session, campaign=later, actor=hr)  # officer b and the head, not a
    service.close_campaign(session, campaign=closed, actor=hr)
    session.commit()

    def newest(campaign, employee):
        ids = [
            r.id
            for r in session.exec(select(CampaignReminder)).all()
            if r.campaign_id == campaign.id and r.recipient_employee_id == employee.id
        ]
        return max(ids, default=None)

    mine = service.open_campaigns_for(session, employee_id=org.officer_a.id)
    assert [(m.campaign.name, m.last_reminder and m.last_reminder.id) for m in mine] == [
        ("Sooner", newest(sooner, org.officer_a)),
        ("Later", None),
    ]
    heads = service.open_campaigns_for(session, employee_id=org.head.id)
    assert [(m.campaign.name, m.last_reminder.id) for m in heads] == [
        ("Sooner", newest(sooner, org.head)),
        ("Later", newest(later, org.head)),
    ]
    assert service.open_campaigns_for(session, employee_id=org.outsider.id) == []

    # Only the head's validation reminder of the open campaign, with when it was sent.
    reminders = service.validation_reminders_for(session, employee_id=org.head.id)
    assert [(r.campaign_id, r.kind, r.pending) for r in reminders] == [(later.id, "validation", 1)]
    assert reminders[0].sent_at is not None


def test_a_refused_self_assessment_keeps_what_was_typed_beside_each_error(
    client, session, org, make_user
):
    officer = make_user("employee", employee=org.officer_a)
    csrf = login(client, officer.email)
    response = client.post(
        "/competencies/me/assessment",
        data={
            "csrf_token": csrf,
            "level_legal": "3",
            "note_legal": "Led <two> tenders",
            "evidence_legal": "not a link",
        },
    )
    assert response.status_code == 422
    page = response.text
    legal = page[page.index('id="c-legal"') : page.index("</fieldset>", page.index('id="c-legal"'))]
    assert re.search(r'value="3" checked', legal) and legal.count(" checked") == 1
    assert "Led &lt;two&gt; tenders</textarea>" in legal
    assert 'aria-invalid="true" aria-describedby="e-evidence_legal"' in legal
    assert 'fieldset class="card competency-rating"' in page  # the other fields: no error
    # Each level shows its name and this competency's descriptor of it.
    descriptors = service.all_descriptors(session)
    legal_id = service.get_competency(session, "legal").id
    assert descriptors[legal_id]
    assert all(str(escape(d.text_en)) in legal for d in descriptors[legal_id].values())
