"""The case file on the demo, in a browser: the demo investigator redacts a name and withholds
a file and part of an image, shares the redacted version, exports the case and refers it to the
demo's authority. The export passes `merito verify-export`, fails it with any byte changed, and
holds the name in none of its files (the PDF's text read back with pypdf); the referral opens
with the authority's key and with no other; the viewer reads the redacted text only."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlmodel import Session, select
from typer.testing import CliRunner

from backend import crypto, demo
from backend.auth.models import User
from backend.config import get_settings
from backend.db import make_engine
from tests.browser.conftest import sign_in
from whistleblowing import service as reporting
from whistleblowing.demo import DEMO_AUTHORITY_KEY_FILE, LEAD
from whistleblowing.models import HolderKey
from whistleblowing.service.common import _aad

pytestmark = pytest.mark.browser

NAME = "Filiberta Zúñiga"


@pytest.fixture
def demo_case(monkeypatch, settings, database_url):
    """The demo built by the CLI, and one report with a note and a photo from its reporter,
    acknowledged and in triage (so it can be referred)."""
    from backend.cli import app as cli

    monkeypatch.setenv("MERITO_DATABASE_URL", database_url)
    monkeypatch.setenv("MERITO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MERITO_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("MERITO_FAST_PASSWORD_HASHING", "true")
    monkeypatch.setenv("MERITO_ENVIRONMENT", "development")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(cli, ["demo", "--employees", "30"]).exit_code == 0
        assert runner.invoke(cli, ["recovery", "init"]).exit_code == 0
    finally:
        get_settings.cache_clear()
    photo = io.BytesIO()
    Image.new("RGB", (60, 40), (250, 250, 250)).save(photo, format="PNG")
    engine = make_engine(database_url)
    with Session(engine) as session:
        investigator = session.exec(select(User).where(User.email == demo.demo_email(LEAD))).one()
        channel = reporting.active_channels(session)[0]
        # The demo's questionnaire: a "no" to what is required (so nothing depends on it).
        asked = reporting.current_questions(session, [channel.id]).get(channel.id, [])
        answers = {
            q["key"]: "no"
            if q["answers"] and any(a["key"] == "no" for a in q["answers"])
            else (q["answers"][0]["key"] if q["answers"] else "-")
            for q in asked
            if q.get("required") and not q.get("show_if")
        }
        result = reporting.submit_report(
            session,
            settings,
            submission=reporting.Submission(
                channel_id=channel.id,
                what=f"{NAME} approved the same invoice three times.",
                who=f"{NAME} and a supplier",
                others_know="unsure",
                good_faith=True,
                form_token=reporting.new_form_token(),
                answers=answers,
                files=[
                    reporting.Upload("minutes.txt", f"Minutes kept by {NAME}".encode()),
                    reporting.Upload("desk.png", photo.getvalue()),
                ],
            ),
        )
        session.commit()
        private = crypto.unwrap_private_key(
            session.get(HolderKey, investigator.id).wrapped_private,
            demo.demo_password(LEAD),
            aad=_aad("holder", investigator.id),
        )
        access = reporting.open_case(
            session, user=investigator, holder_private=private, reference=result.report.reference
        )
        reporting.acknowledge(session, settings, access=access, actor=investigator, text="Ok.")
        reporting.change_status(
            session, settings, access=access, actor=investigator, status="triage"
        )
        session.commit()
        second = session.exec(
            select(User).where(User.email == demo.demo_email("investigator2"))
        ).one()
        viewer_id, reference = second.id, access.report.reference
    engine.dispose()
    return reference, viewer_id


def _run(*args: str):
    from backend.cli import app as cli

    return CliRunner().invoke(cli, list(args))


def test_investigator_redacts_exports_and_refers_a_demo_case(
    demo_case, live_server, browser, settings, tmp_path
):
    base, (reference, viewer_id) = live_server.url, demo_case
    staff = browser.new_context(locale="en-US", accept_downloads=True).new_page()
    sign_in(staff, base, demo.demo_email(LEAD), demo.demo_password(LEAD))
    staff.goto(f"{base}/cases/{reference}")
    staff.click("#case-file-link a")
    staff.fill("#f-phrase", NAME)
    staff.select_option("#f-reason-words", "third-party")
    staff.click("#redact-words-form button[type=submit]")
    staff.select_option("#f-attachment", index=0)
    staff.check("#redact-file-form input[value=attachment]")
    staff.select_option("#f-reason-file", "witness")
    staff.click("#redact-file-form button[type=submit]")
    staff.select_option("#f-attachment", index=1)
    staff.check("#redact-file-form input[value=region]")
    staff.fill("#f-regions", "0 0 50 100")
    staff.select_option("#f-reason-file", "third-party")
    staff.click("#redact-file-form button[type=submit]")
    assert staff.locator("#redactions tbody tr").count() == 3
    assert NAME not in staff.locator("#redacted-entries").inner_text()
    viewer = demo.demo_email("investigator2")
    staff.select_option("#f-viewer", str(viewer_id))
    staff.click("#viewer-form button[type=submit]")
    assert staff.locator("#viewer-list li").count() == 1
    # On a phone the page does not scroll sideways (tables scroll in their own box).
    staff.set_viewport_size({"width": 390, "height": 844})
    assert staff.evaluate("document.documentElement.scrollWidth") <= 390
    staff.set_viewport_size({"width": 1280, "height": 900})

    # The export: verified by the command, refused with any byte changed, the name nowhere.
    with staff.expect_download() as download:
        staff.click("#export-link")
    export = tmp_path / "case.zip"
    download.value.save_as(export)
    checked = _run("verify-export", str(export), "--lang", "en")
    assert checked.exit_code == 0, checked.output
    assert "Valid case export" in checked.output
    raw = export.read_bytes()
    for position in (len(raw) // 3, len(raw) // 2, len(raw) - 30):
        changed = bytearray(raw)
        changed[position] ^= 0x01
        (tmp_path / "changed.zip").write_bytes(bytes(changed))
        assert _run("verify-export", str(tmp_path / "changed.zip")).exit_code == 1
    archive = zipfile.ZipFile(export)
    for name in archive.namelist():
        assert NAME.encode() not in archive.read(name), name
        assert "Zúñiga".encode() not in archive.read(name), name
    assert not any(name.endswith("minutes.txt") for name in archive.namelist())
    pdf = PdfReader(io.BytesIO(archive.read("case.pdf")))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "Zúñiga" not in text and "approved the same invoice" in text

    # The referral: recorded, downloaded encrypted, opened by the demo authority's key only.
    staff.select_option("#f-authority", index=1)
    staff.click("#referral-form button[type=submit]")
    with staff.expect_download() as download:
        staff.locator("#referrals a").first.click()
    sealed = tmp_path / "case.merito-referral"
    download.value.save_as(sealed)
    key = settings.data_dir / DEMO_AUTHORITY_KEY_FILE
    opened = _run(
        "decrypt-referral", str(sealed), "--key", str(key), "--out", str(tmp_path / "r.zip")
    )
    assert opened.exit_code == 0, opened.output
    assert _run("verify-export", str(tmp_path / "r.zip")).exit_code == 0
    assert _run("referral-keygen", "--out", str(tmp_path / "other.key")).exit_code == 0
    refused = _run(
        "decrypt-referral",
        str(sealed),
        "--key",
        str(tmp_path / "other.key"),
        "--out",
        str(tmp_path / "x.zip"),
    )
    assert refused.exit_code == 1 and not (tmp_path / "x.zip").exists()

    # The viewer reads the redacted text, and cannot open the case itself.
    reader = browser.new_context(locale="en-US").new_page()
    sign_in(reader, base, viewer, demo.demo_password("investigator2"))
    reader.goto(f"{base}/cases/shared")
    reader.click(f"a:has-text('{reference}')")
    page_text = reader.locator("main").inner_text()
    assert "approved the same invoice" in page_text and NAME not in page_text
    assert reporting.MASK in page_text
    assert reader.goto(f"{base}/cases/{reference}").status == 404
