"""Who the reporting channel tells, by mail through a real SMTP server (aiosmtpd), in both
languages — and that no such mail carries anything of a report or a complaint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import delete, select

from backend import clock, events, i18n, notices
from backend.notices import Notice
from tests.reporting_helpers import (
    add_holder,
    file_report,
    holder_private,
    ready_channel,
    reporter_of,
)
from tests.smtp_helpers import local_smtp, use_smtp
from whistleblowing import service as reporting
from whistleblowing.models import ItemKind, ReportKeyWrap
from whistleblowing.service import retaliation
from whistleblowing.service.retaliation import AllegedAct, ComplaintInput

PUBLIC = "https://merito.example.org"
SUBJECTS = {
    "en": "Something in Mérito needs your attention",
    "es": "Algo en Mérito requiere su atención",
}
WHAT = "Gloves invoiced twice by Proveedora Quetzal"
MESSAGE = "The warehouse keeper Ramiro saw the second invoice"
IDENTITY = "Elena Saldívar, extension 4471"
NARRATIVE = "After my report my supervisor moved me to the night shift at Zapopan."


def _expected_body(lang: str) -> str:
    with i18n.use_locale(lang):
        return i18n._(
            "Something in Mérito needs your attention.\n\nSign in to see it:\n%(link)s\n\n"
            "For your security this message says nothing more.",
            link=f"{PUBLIC}/login?next=/notifications",
        )


@pytest.fixture(params=["en", "es"])
def lang(request) -> str:
    return request.param


def test_every_recipient_group_gets_a_contentless_mail_in_their_language(
    session, settings, make_user, org, lang
):
    settings.public_url = PUBLIC

    def person(*roles, **kw):
        return make_user(*roles, locale=lang, **kw)

    ready = ready_channel(session, settings, person)
    investigator, channel = ready.investigator, ready.channel
    lead = add_holder(session, settings, person, "investigator")
    officer = add_holder(session, settings, person, "protection_officer")
    admins = list(_users_with_role(session, "admin"))
    reporting.set_channel_recipients(
        session, actor=admins[0], channel=channel, user_ids=[investigator.id, lead.id]
    )
    reporting.set_channel_roles(
        session, actor=admins[0], channel=channel, lead_user_id=lead.id, deputy_user_id=None
    )
    session.commit()
    today = clock.today(settings)
    with local_smtp() as (controller, inbox):
        use_smtp(settings, controller)

        def mailed_to() -> list[str]:
            notices.deliver(session, settings)
            session.commit()
            sent = [str(m["To"]) for m in inbox.messages]
            inbox.messages_seen = getattr(inbox, "messages_seen", 0)
            new, inbox.messages_seen = sent[inbox.messages_seen :], len(sent)
            return sorted(new)

        # Investigators: a new report (both receive it).
        result = file_report(session, settings, channel.id, what=WHAT, identity=IDENTITY)
        report = result.report
        assert mailed_to() == sorted([investigator.email, lead.email])
        # A reporter's message.
        mine = reporter_of(session, settings, result.receipt)
        reporting.add_item(
            session, settings, access=mine, kind=ItemKind.reporter_message, text=MESSAGE
        )
        session.commit()
        assert mailed_to() == sorted([investigator.email, lead.email])
        # The acknowledgement due in 2 days, then missed: overdue, and escalated to the lead.
        reporting.run_deadlines(session, today=report.ack_due_on - timedelta(days=2))
        assert mailed_to() == sorted([investigator.email, lead.email])
        reporting.run_deadlines(session, today=report.ack_due_on + timedelta(days=1))
        assert mailed_to() == sorted([investigator.email, lead.email, lead.email])
        kinds = {n.kind for n in session.exec(select(Notice).where(Notice.user_id == lead.id))}
        assert "reporting.escalated_ack" in kinds
        # Identity custodians (the protection officers hold the identity key): a request.
        access = reporting.open_case(
            session,
            user=investigator,
            holder_private=holder_private(session, investigator),
            reference=report.reference,
        )
        reporting.request_identity(
            session,
            access=access,
            actor=investigator,
            reason="We need to ask the reporter about the second invoice in person.",
        )
        session.commit()
        assert mailed_to() == [officer.email]
        # Protection officers: a new complaint, and the HR watch's new entries.
        complainant = make_user("employee", employee=org.officer_a)
        complaint = retaliation.file_identified(
            session,
            settings,
            user=complainant,
            data=ComplaintInput(
                acts=[AllegedAct("negative_appraisal", None, "Rated 'does not meet'")],
                narrative=NARRATIVE,
                report_reference=report.reference,
            ),
        )
        session.commit()
        assert mailed_to() == [officer.email]
        events.publish(
            session,
            events.DomainEvent("org.role_changed", {}, subject_employee_id=org.officer_b.id),
        )
        session.commit()
        assert mailed_to() == [officer.email]
        # Administrators: a report nobody can read any more.
        session.exec(
            delete(ReportKeyWrap).where(
                ReportKeyWrap.report_id == report.id, ReportKeyWrap.user_id.is_not(None)
            )
        )
        session.commit()
        reporting.run_deadlines(session, today=today)
        assert mailed_to() == sorted(a.email for a in admins)

        # Not one mail says anything about the report or the complaint.
        secrets = [
            WHAT,
            MESSAGE,
            IDENTITY,
            NARRATIVE,
            report.reference,
            complaint.reference,
            channel.code,
            channel.name_es,
            channel.name_en,
            "Ramiro",
            "Quetzal",
            investigator.full_name,
            complainant.full_name,
            org.officer_a.last_name,
        ]
        assert len(inbox.messages) == 13
        for message in inbox.messages:
            assert message["Subject"] == SUBJECTS[lang]
            body = message.get_content().replace("\r\n", "\n")
            assert body.strip() == _expected_body(lang).strip()
            raw = message.as_string()
            for secret in secrets:
                assert secret.lower() not in raw.lower(), secret
    # Their rows keep days, not times (a time would tell when a reporter acted).
    from backend.notices import NoticeDelivery

    stamps = [n.created_at for n in session.exec(select(Notice))]
    for d in session.exec(select(NoticeDelivery)):
        stamps += [d.created_at, d.next_attempt_at, d.sent_at]
    assert len(stamps) == 4 * 13 and all(
        (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0) for t in stamps
    )


def _users_with_role(session, role: str):
    from backend.auth.models import User, UserRole

    return session.exec(
        select(User).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == role)
    ).all()
