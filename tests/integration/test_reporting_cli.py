"""`merito recovery …` and `merito verify-certificate` from the command line."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from backend import i18n
from backend.cli import app as cli
from backend.config import get_settings
from tests.conftest import TEST_PASSWORD
from tests.reporting_helpers import add_holder
from whistleblowing import service as reporting


@pytest.fixture
def cli_env(monkeypatch, settings, database_url):
    monkeypatch.setenv("MERITO_DATABASE_URL", database_url)
    monkeypatch.setenv("MERITO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MERITO_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("MERITO_FAST_PASSWORD_HASHING", "true")
    monkeypatch.setenv("MERITO_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_recovery_init_prints_the_passphrase_once_and_restore_uses_it(
    cli_env, session, settings, make_user
):
    status = cli_env.invoke(cli, ["recovery", "status"])
    assert status.exit_code == 1
    created = cli_env.invoke(cli, ["recovery", "init"])
    assert created.exit_code == 0, created.output
    passphrase = re.search(r"Passphrase:\s+(\S+)", created.output).group(1)
    again = cli_env.invoke(cli, ["recovery", "init"])
    assert again.exit_code == 1 and passphrase not in again.output
    assert cli_env.invoke(cli, ["recovery", "status"]).exit_code == 0

    investigator = add_holder(session, settings, make_user, "investigator")
    channel = reporting.active_channels(session)[0]
    reporting.set_channel_recipients(
        session, actor=investigator, channel=channel, user_ids=[investigator.id]
    )
    session.commit()
    result = reporting.submit_report(
        session,
        settings,
        submission=reporting.Submission(
            channel_id=channel.id,
            what="Bid rigging",
            good_faith=True,
            form_token=reporting.new_form_token(),
        ),
    )
    session.commit()
    newcomer = add_holder(session, settings, make_user, "investigator")
    wrong = cli_env.invoke(
        cli, ["recovery", "restore", "--to", newcomer.email, "--passphrase", "NOPE"]
    )
    with i18n.use_locale("es"):  # the command line speaks the default locale
        assert wrong.exit_code == 1
        assert i18n._("The recovery passphrase is not correct.") in wrong.output
    restored = cli_env.invoke(
        cli, ["recovery", "restore", "--to", newcomer.email, "--passphrase", passphrase]
    )
    assert restored.exit_code == 0, restored.output
    assert "Restored 1 report(s)" in restored.output
    private = reporting.unlock_holder_key(session, settings, user=newcomer, password=TEST_PASSWORD)
    access = reporting.open_case(
        session, user=newcomer, holder_private=private, reference=result.report.reference
    )
    assert reporting.timeline(session, access=access)[0].content["what"] == "Bid rigging"


def test_verify_certificate_checks_offline(cli_env, tmp_path, session, settings, make_user):
    investigator = add_holder(session, settings, make_user, "investigator")
    reporting.init_recovery(session, settings)
    channel = reporting.active_channels(session)[0]
    reporting.set_channel_recipients(
        session, actor=investigator, channel=channel, user_ids=[investigator.id]
    )
    result = reporting.submit_report(
        session,
        settings,
        submission=reporting.Submission(
            channel_id=channel.id, what="x", good_faith=True, form_token="t" * 20
        ),
    )
    session.commit()
    fingerprint = reporting.signing_fingerprint(session, settings)
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(result.certificate))
    ok = cli_env.invoke(
        cli, ["verify-certificate", "--lang", "en", str(path), "--fingerprint", fingerprint]
    )
    assert ok.exit_code == 0, ok.output
    assert result.report.reference in ok.output
    forged = dict(result.certificate, submitted_on="2001-01-01")
    path.write_text(json.dumps(forged))
    bad = cli_env.invoke(cli, ["verify-certificate", "--lang", "en", str(path)])
    assert bad.exit_code == 1 and "signature does not match" in bad.output
    path.write_text(json.dumps(result.certificate))
    other = cli_env.invoke(
        cli, ["verify-certificate", "--lang", "en", str(path), "--fingerprint", "0000 " * 8]
    )
    assert other.exit_code == 1 and "different key" in other.output
    path.write_text("not json")
    assert cli_env.invoke(cli, ["verify-certificate", "--lang", "en", str(path)]).exit_code == 1


def test_verify_certificate_checks_a_burden_of_proof_pack_offline(
    cli_env, tmp_path, session, settings, make_user
):
    from tests.reporting_helpers import file_report, holder_private, ready_channel, reporter_of
    from whistleblowing.service import retaliation

    ready = ready_channel(session, settings, make_user)
    officer = add_holder(session, settings, make_user, "protection_officer")
    result = file_report(session, settings, ready.channel.id)
    complaint = retaliation.file_by_receipt(
        session,
        settings,
        access=reporter_of(session, settings, result.receipt),
        data=retaliation.ComplaintInput(
            acts=[retaliation.AllegedAct("transfer", result.report.submitted_on, "Moved")],
            narrative="Moved after my report.",
        ),
    )
    session.commit()
    private = holder_private(session, officer)
    access = retaliation.open_complaint(
        session,
        officer=officer,
        holder_private=private,
        reference=complaint.reference,
        audit_read=False,
    )
    pack = retaliation.burden_of_proof_pack(
        session,
        settings,
        access=access,
        officer=officer,
        holder_private=private,
        today=result.report.submitted_on,
    )
    session.commit()
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(pack))
    fingerprint = reporting.signing_fingerprint(session, settings)
    ok = cli_env.invoke(
        cli, ["verify-certificate", "--lang", "en", str(path), "--fingerprint", fingerprint]
    )
    assert ok.exit_code == 0, ok.output
    assert "burden-of-proof pack" in ok.output and complaint.reference in ok.output
    assert "Adverse decisions after it: 1" in ok.output
    assert "Records searched: none (the protected person is not identified)" in ok.output
    path.write_text(json.dumps(dict(pack, adverse_decisions=[])))
    bad = cli_env.invoke(cli, ["verify-certificate", "--lang", "en", str(path)])
    assert bad.exit_code == 1 and "signature does not match" in bad.output


def test_reporting_jobs_run_now_from_the_command_line_under_their_lease(cli_env, engine):
    from sqlmodel import Session

    from backend.jobs import JobLease

    result = cli_env.invoke(cli, ["reporting", "run", "sessions"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sessions: ")
    with Session(engine) as session:
        lease = session.get(JobLease, "reporter_sessions")
        assert lease is not None and lease.run_count == 1
        assert result.output.strip() == f"sessions: {lease.last_result}"
    unknown = cli_env.invoke(cli, ["reporting", "run", "everything"])
    assert unknown.exit_code == 2 and "deadlines, sessions, retention, monitoring" in unknown.output
