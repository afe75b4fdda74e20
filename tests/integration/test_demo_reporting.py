"""The demo's reporting channel works from the first `merito up`: every channel has the demo
investigator as recipient and lead, a second demo investigator as deputy, and every demo key
holder (investigators, the protection officer) has a key pair opened by the demo password."""

from __future__ import annotations

from sqlmodel import select

from backend import crypto, demo
from whistleblowing import service as reporting
from whistleblowing.models import HolderKey, ReportChannel, ReportKeyWrap
from whistleblowing.service import retaliation
from whistleblowing.service.common import _aad

HOLDERS = ("investigator", "investigator2", "protection_officer")


def _demo(engine, session, settings):
    demo.generate(engine, employees=40, seed=1)
    accounts = {a.email: a for a in demo.create_demo_accounts(session, settings)}
    reporting.init_recovery(session, settings)
    session.commit()
    return accounts


def _user(session, account: str):
    from backend.auth.models import User

    return session.exec(select(User).where(User.email == demo.demo_email(account))).one()


def test_every_demo_channel_has_a_recipient_a_lead_and_a_deputy(engine, session, settings):
    accounts = _demo(engine, session, settings)
    investigator, deputy = _user(session, "investigator"), _user(session, "investigator2")
    assert demo.demo_email("investigator2") in accounts
    assert accounts[demo.demo_email("investigator2")].password == "demo-investigator2-2026"
    channels = session.exec(select(ReportChannel)).all()
    assert channels
    for channel in channels:
        recipients = [u.id for u in reporting.channel_recipients(session, channel.id)]
        assert investigator.id in recipients
        assert (channel.lead_user_id, channel.deputy_user_id) == (investigator.id, deputy.id)
    for account in HOLDERS:
        user = _user(session, account)
        row = session.get(HolderKey, user.id)
        assert row is not None, account
        crypto.unwrap_private_key(
            row.wrapped_private, demo.demo_password(account), aad=_aad("holder", user.id)
        )

    # Idempotent: a second run (every `merito up`) changes nothing.
    keys = {u: session.get(HolderKey, _user(session, u).id).public_key for u in HOLDERS}
    demo.create_demo_accounts(session, settings)
    session.commit()
    session.expire_all()
    assert {u: session.get(HolderKey, _user(session, u).id).public_key for u in HOLDERS} == keys


def test_a_report_on_the_demo_reaches_the_investigator_or_the_deputy(engine, session, settings):
    _demo(engine, session, settings)
    investigator, deputy = _user(session, "investigator"), _user(session, "investigator2")
    for channel in session.exec(select(ReportChannel)).all():
        plain = reporting.Submission(
            channel_id=channel.id,
            what="Gloves invoiced twice",
            good_faith=True,
            form_token=reporting.new_form_token(),
        )
        assert reporting.validate_submission(session, plain) == {}
    channel = session.exec(select(ReportChannel)).first()
    first = reporting.submit_report(
        session,
        settings,
        submission=reporting.Submission(
            channel_id=channel.id,
            what="Gloves invoiced twice",
            good_faith=True,
            form_token=reporting.new_form_token(),
        ),
    )
    excluding = reporting.submit_report(
        session,
        settings,
        submission=reporting.Submission(
            channel_id=channel.id,
            what="Gloves invoiced twice again",
            good_faith=True,
            excluded_user_ids=[investigator.id],
            form_token=reporting.new_form_token(),
        ),
    )
    session.commit()

    def readers(result):
        return set(
            session.exec(
                select(ReportKeyWrap.user_id).where(
                    ReportKeyWrap.report_id == result.report.id,
                    ReportKeyWrap.user_id.is_not(None),
                )
            ).all()
        )

    assert readers(first) == {investigator.id}
    assert readers(excluding) == {deputy.id}


def test_a_retaliation_complaint_can_be_filed_on_the_demo(engine, session, settings):
    _demo(engine, session, settings)
    channel = session.exec(select(ReportChannel)).first()
    result = reporting.submit_report(
        session,
        settings,
        submission=reporting.Submission(
            channel_id=channel.id,
            what="Gloves invoiced twice",
            good_faith=True,
            form_token=reporting.new_form_token(),
        ),
    )
    session.commit()
    token, _report = reporting.receipt_login(session, settings, receipt=result.receipt)
    session.commit()
    access = reporting.reporter_access(session, token=token)
    complaint = retaliation.file_by_receipt(
        session,
        settings,
        access=access,
        data=retaliation.ComplaintInput(
            acts=[retaliation.AllegedAct("demotion", result.report.submitted_on)],
            narrative="I was moved to another unit after reporting.",
        ),
    )
    session.commit()
    officer = _user(session, "protection_officer")
    private = crypto.unwrap_private_key(
        session.get(HolderKey, officer.id).wrapped_private,
        demo.demo_password("protection_officer"),
        aad=_aad("holder", officer.id),
    )
    opened = retaliation.open_complaint(
        session,
        officer=officer,
        holder_private=private,
        reference=complaint.reference,
        audit_read=False,
    )
    assert opened.complaint.reference == complaint.reference
