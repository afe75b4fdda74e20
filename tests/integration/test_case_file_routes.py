"""The case file's pages through HTTP (SQLite and PostgreSQL): a refused redaction keeps what
was typed and writes nothing, the export downloads and the public page checks it, the
administrator registers an authority (a bad key is refused in words), the referral reaches
the reporter's page, and a viewer reads the redacted copy only."""

from __future__ import annotations

import io
import zipfile

from sqlmodel import select

from backend import audit
from tests.conftest import csrf_of, sign_in_form_token
from tests.reporting_helpers import (
    add_holder,
    file_report,
    open_as,
    ready_channel,
    staff_login,
)
from whistleblowing import service as reporting
from whistleblowing.models import CaseRedaction, Report

NAME = "Baltasar Quiñones"


def _post(client, url: str, data: dict, csrf: str):
    return client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)


def test_case_file_pages_redact_export_verify_refer_and_share(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    result = file_report(session, settings, ready.channel.id, what=f"{NAME} split the tender.")
    reference = result.report.reference
    viewer = add_holder(session, settings, make_user, "investigator")
    admin = make_user("admin")
    recipient, _secret = reporting.new_authority_key()

    # The administrator registers the authority; a mistyped key is refused in words.
    csrf = staff_login(client, admin.email)
    bad = _post(
        client,
        "/cases/referral-authorities",
        {"name": "Fiscalía Anticorrupción", "recipient": "age1notakey"},
        csrf,
    )
    assert bad.status_code == 422 and "starts with age1" in bad.text
    assert "Fiscalía Anticorrupción" in bad.text
    good = _post(
        client,
        "/cases/referral-authorities",
        {"name": "Fiscalía Anticorrupción", "recipient": recipient},
        csrf,
    )
    assert good.status_code == 303
    authority = reporting.authorities(session)[0]

    client.cookies.clear()
    csrf = staff_login(client, ready.investigator.email)
    assert client.get(f"/cases/{reference}").text.count(f"/cases/{reference}/file") == 1
    page = client.get(f"/cases/{reference}/file")
    assert page.status_code == 200 and "Redactions" in page.text
    # A refused redaction: the words typed come back, nothing is written.
    refused = _post(
        client,
        f"/cases/{reference}/redactions",
        {"kind": "text", "phrase": NAME, "reason": "nonsense"},
        csrf,
    )
    assert refused.status_code == 422 and NAME in refused.text
    assert session.exec(select(CaseRedaction)).first() is None
    done = _post(
        client,
        f"/cases/{reference}/redactions",
        {"kind": "text", "phrase": NAME, "reason": "third-party"},
        csrf,
    )
    assert done.status_code == 303
    shared = _post(client, f"/cases/{reference}/viewers", {"user_id": str(viewer.id)}, csrf)
    assert shared.status_code == 303
    export = client.get(f"/cases/{reference}/export.zip")
    assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    assert all(NAME.encode() not in archive.read(n) for n in archive.namelist())

    # The investigator triages and refers; the reporter reads it on their page.
    access = open_as(session, ready.investigator, reference)
    reporting.acknowledge(session, settings, access=access, actor=ready.investigator, text="Ok.")
    reporting.change_status(
        session, settings, access=access, actor=ready.investigator, status="triage"
    )
    session.commit()
    referred = _post(
        client, f"/cases/{reference}/referrals", {"authority": str(authority.id)}, csrf
    )
    assert referred.status_code == 303, referred.text
    page = client.get(f"/cases/{reference}/file")
    link = page.text.split(f"/cases/{reference}/referrals/")[1].split('"')[0]
    sealed = client.get(f"/cases/{reference}/referrals/{link}")
    assert sealed.status_code == 200 and sealed.content.startswith(b"merito-referral/v1\n")
    spanish = client.get(f"/cases/{reference}/file?lang=es").text
    assert "Expediente" in spanish and "Remitido a Fiscalía Anticorrupción" in spanish
    session.expire_all()
    assert session.exec(select(Report)).one().outcome == "referred"
    actions = [e.action for e in session.exec(audit.entries(entity_id=reference))]
    for action in ("report.redaction_added", "report.exported", "report.referred"):
        assert action in actions
    client.cookies.clear()
    token, _report = reporting.receipt_login(session, settings, receipt=result.receipt)
    session.commit()
    client.cookies.set("merito_report", token, path="/report/case")
    case = client.get("/report/case?lang=en")
    assert "Fiscalía Anticorrupción" in case.text and "referral-notice" in case.text

    # Anyone can check the export on the public page (signed out).
    client.cookies.clear()
    checked = client.post(
        "/verify-export?lang=en",
        data={"csrf_token": sign_in_form_token(client)},
        files={"export": ("case.zip", export.content, "application/zip")},
    )
    assert checked.status_code == 200 and "Valid case export" in checked.text
    broken = bytearray(export.content)
    broken[len(broken) // 2] ^= 0xFF
    checked = client.post(
        "/verify-export?lang=en",
        data={"csrf_token": sign_in_form_token(client)},
        files={"export": ("case.zip", bytes(broken), "application/zip")},
    )
    assert checked.status_code == 422 and "INVALID case export" in checked.text

    # The viewer finds the case under "Shared with me" and reads only the redacted copy.
    client.cookies.clear()
    staff_login(client, viewer.email)
    assert reference in client.get("/cases/shared").text
    assert client.get(f"/cases/{reference}").status_code == 404
    copy = client.get(f"/cases/shared/{reference}")
    assert copy.status_code == 200 and NAME not in copy.text and reporting.MASK in copy.text
    assert csrf_of(client)
