"""The readable PDF inside a case export: the same redacted case as `case.json` and the audit
entries as `audit.json`, in the exporter's language, set in DejaVu Sans (vendored in
whistleblowing/fonts: it has every accent and sign Spanish needs, and the redaction mask)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF

from backend.audit_display import action_label
from backend.i18n import _, date_text, datetime_text, ngettext
from whistleblowing.models import (
    INTAKE_CHANNEL_LABELS,
    ITEM_KIND_LABELS,
    RED_FLAG_LABELS,
    REDACTION_REASON_LABELS,
    REPORT_OUTCOME_LABELS,
    REPORT_STATUS_LABELS,
    IntakeChannel,
    ItemKind,
    RedactionReason,
    ReportOutcome,
    ReportStatus,
)

FONTS = Path(__file__).resolve().parent.parent / "fonts"


def _field_label(key: str) -> str:
    labels = {
        "what": _("What happened?"),
        "when": _("When did it happen?"),
        "where": _("Where did it happen?"),
        "who": _("Who is involved?"),
        "how_known": _("How do you know this?"),
    }
    return labels.get(key, "")


def _day(value: str | None) -> str:
    return date_text(date.fromisoformat(value)) if value else "—"


class _Document(FPDF):
    def __init__(self, reference: str) -> None:
        super().__init__(format="A4")
        self.reference = reference
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(True, margin=18)
        self.set_title(_("Case file %(reference)s (redacted)", reference=reference))
        self.set_creator("Mérito")
        # No dates in the document's metadata: the export says when it was made, once.
        self.set_creation_date(datetime(2000, 1, 1))

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.cell(
            0, 6, _("%(reference)s · page %(page)s", reference=self.reference, page=self.page_no())
        )

    def heading(self, text: str, size: int = 13) -> None:
        self.set_font("DejaVu", "B", size)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def para(self, text: str, *, bold: bool = False, size: int = 10) -> None:
        self.set_font("DejaVu", "B" if bold else "", size)
        self.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")

    def fact(self, label: str, value: str) -> None:
        self.para(f"{label}: {value}", size=10)


def _status(value: str) -> str:
    try:
        return _(REPORT_STATUS_LABELS[ReportStatus(value)])
    except ValueError:
        return value


def _outcome(value: str | None) -> str:
    if not value:
        return "—"
    try:
        return _(REPORT_OUTCOME_LABELS[ReportOutcome(value)])
    except ValueError:
        return value


def _via(value: str) -> str:
    try:
        return _(INTAKE_CHANNEL_LABELS[IntakeChannel(value)])
    except ValueError:
        return value


def case_pdf(body: dict[str, Any], trail: list[dict[str, Any]], time_zone: str = "") -> bytes:
    """Return the PDF of an export's `case.json` body and audit trail."""
    pdf = _Document(body["reference"])
    pdf.add_page()
    pdf.heading(_("Case file %(reference)s (redacted)", reference=body["reference"]), 16)
    pdf.para(
        _(
            "Redacted version: hidden words read %(mask)s; withheld files are listed without "
            "their name. The reporter's identity is never included.",
            mask="█████",
        )
    )
    pdf.ln(2)
    channel = body.get("channel") or {}
    pdf.fact(_("Channel"), channel.get(_locale_key(), "") or channel.get("es", ""))
    pdf.fact(_("Status"), _status(body["status"]))
    pdf.fact(_("Outcome"), _outcome(body.get("outcome")))
    pdf.fact(_("Received through"), _via(body["received_via"]))
    pdf.fact(_("Submitted on"), _day(body["submitted_on"]))
    pdf.fact(_("Acknowledged on"), _day(body.get("acknowledged_on")))
    pdf.fact(_("Feedback given on"), _day(body.get("feedback_given_on")))
    pdf.fact(_("Closed on"), _day(body.get("closed_on")))
    pdf.fact(_("Exported on"), _day(body["exported_on"]))
    pdf.fact(_("Exported by"), body["exported_by"])
    for referral in body.get("referrals", []):
        pdf.fact(_("Referred to"), f"{referral['authority']} ({_day(referral['on'])})")
    pdf.ln(3)
    pdf.heading(_("Timeline"))
    for entry in body["timeline"]:
        _entry(pdf, entry)
    pdf.add_page()
    pdf.heading(_("Audit trail of the case"))
    zone = ZoneInfo(time_zone) if time_zone else None
    for row in trail:
        moment = datetime.fromisoformat(row["at"])
        if zone is not None:
            moment = moment.astimezone(zone)
        pdf.para(
            f"{datetime_text(moment)} · {action_label(row['action'])} · {row['actor'] or '—'}",
            size=9,
        )
    return bytes(pdf.output())


def _locale_key() -> str:
    from backend.i18n import get_locale

    return get_locale()


def _entry(pdf: _Document, entry: dict[str, Any]) -> None:
    kind = ItemKind(entry["kind"])
    who = _("the reporter") if entry["by_reporter"] else (entry["author"] or "—")
    pdf.para(f"{_(ITEM_KIND_LABELS[kind])} · {_day(entry['on'])} · {who}", bold=True, size=10)
    for key, text in entry["texts"]:
        label = _field_label(key)
        pdf.para(f"{label}: {text}" if label else text)
    if entry.get("red_flags"):
        flags = ", ".join(_(RED_FLAG_LABELS.get(f, f)) for f in entry["red_flags"])
        pdf.para(f"{_('Warning signs')}: {flags}")
    withheld = [f for f in entry["files"] if "withheld" in f]
    for listed in entry["files"]:
        if "withheld" in listed:
            continue
        note = (
            " · "
            + ngettext(
                "%(num)s area blacked out",
                "%(num)s areas blacked out",
                len(listed["regions"]),
                num=len(listed["regions"]),
            )
            if listed["regions"]
            else ""
        )
        pdf.para(f"{_('File')}: {listed['path']}{note}", size=9)
    for listed in withheld:
        reason = _(REDACTION_REASON_LABELS[RedactionReason(listed["withheld"])])
        pdf.para(_("A file was withheld: %(reason)s", reason=reason), size=9)
    pdf.ln(2)
