"""Statistics for the periodic evaluation of the channel (small counts suppressed)."""

from __future__ import annotations

import csv
import io
import statistics as stats
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.i18n import _, localized
from backend.spreadsheets import csv_cell, xlsx_cell
from whistleblowing.models import (
    INTAKE_CHANNEL_LABELS,
    REPORT_OUTCOME_LABELS,
    IntakeChannel,
    ItemKind,
    Report,
    ReportChannel,
    ReportItem,
    ReportOutcome,
    ReportStatus,
)
from whistleblowing.service.channels import all_channels
from whistleblowing.service.common import ReportingError


def statistics(session: Session, *, threshold: int = 5) -> list[dict[str, Any]]:
    """Return report counts by channel and status; counts below `threshold` are suppressed."""
    rows = session.exec(
        select(ReportChannel, Report.status, func.count())
        .join(Report, col(Report.channel_id) == ReportChannel.id)
        .group_by(col(ReportChannel.id), col(Report.status))
    ).all()
    return [
        {"channel": channel, "status": status, "count": count if count >= threshold else None}
        for channel, status, count in rows
    ]


# --- statistics for the periodic evaluation ---------------------------------------------------


@dataclass
class ChannelFigures:
    label: str
    received: int | None
    open: int | None
    closed: int | None
    outcomes: dict[str, int | None]
    median_days_to_ack: float | None
    median_days_to_feedback: float | None
    ack_on_time: float | None  # share of acknowledged reports acknowledged on time
    feedback_on_time: float | None


@dataclass
class Evaluation:
    year: int | None
    threshold: int
    channels: list[ChannelFigures]
    total: ChannelFigures
    intake: list[tuple[str, int | None]]
    years: list[int]
    # Reporters' requests to be heard in a meeting or a call (Directive Art. 9(2)), by the day
    # they asked (ReportItem kind, plain; what they wrote stays sealed).
    meeting_requests: int | None = None


def _suppress(count: int, threshold: int) -> int | None:
    """Return the count, or None when it is small enough to point at a person (0 is shown)."""
    return count if count == 0 or count >= threshold else None


def _suppress_cells(
    cells: dict[str, int], total_shown: bool, threshold: int
) -> dict[str, int | None]:
    """Suppress small cells; when one alone is hidden and the total is shown, hide the next
    smallest too, so the hidden one cannot be worked out by subtraction."""
    shown = {k: _suppress(v, threshold) for k, v in cells.items()}
    hidden = [k for k, v in shown.items() if v is None]
    if total_shown and len(hidden) == 1:
        visible = sorted((v, k) for k, v in shown.items() if v)
        if visible:
            shown[visible[0][1]] = None
    return shown


def _figures(label: str, rows: list[Any], threshold: int) -> ChannelFigures:
    received = len(rows)
    closed_rows = [r for r in rows if r.status == ReportStatus.closed]
    outcome_counts = {o.value: 0 for o in ReportOutcome}
    for r in closed_rows:
        if r.outcome in outcome_counts:
            outcome_counts[r.outcome] += 1
    closed_shown = _suppress(len(closed_rows), threshold)
    to_ack = [(r.acknowledged_on - r.submitted_on).days for r in rows if r.acknowledged_on]
    to_feedback = [(r.feedback_given_on - r.submitted_on).days for r in rows if r.feedback_given_on]
    acked = [r for r in rows if r.acknowledged_on]
    fed = [r for r in rows if r.feedback_given_on]
    enough = received >= threshold
    return ChannelFigures(
        label=label,
        received=_suppress(received, threshold),
        open=_suppress(received - len(closed_rows), threshold) if enough else None,
        closed=closed_shown if enough else None,
        outcomes=_suppress_cells(outcome_counts, closed_shown is not None, threshold)
        if enough
        else dict.fromkeys(outcome_counts),
        median_days_to_ack=stats.median(to_ack) if len(to_ack) >= threshold else None,
        median_days_to_feedback=stats.median(to_feedback)
        if len(to_feedback) >= threshold
        else None,
        ack_on_time=sum(r.acknowledged_on <= r.ack_due_on for r in acked) / len(acked)
        if len(acked) >= threshold
        else None,
        feedback_on_time=sum(r.feedback_given_on <= r.feedback_due_on for r in fed) / len(fed)
        if len(fed) >= threshold
        else None,
    )


# The years a statistics request may ask for: anything else is refused before it reaches a
# query or a download's file name.
FIRST_STATISTICS_YEAR = 2000
LAST_STATISTICS_YEAR = 2100


def statistics_year(text: str) -> int | None:
    """Return the year asked for (None for every year); ReportingError (422) unless it is
    written in ASCII digits and lies between FIRST_ and LAST_STATISTICS_YEAR."""
    text = (text or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) == 4:
        year = int(text)
        if FIRST_STATISTICS_YEAR <= year <= LAST_STATISTICS_YEAR:
            return year
    raise ReportingError(
        _(
            "Choose a year between %(first)s and %(last)s.",
            first=FIRST_STATISTICS_YEAR,
            last=LAST_STATISTICS_YEAR,
        ),
        field="year",
    )


def evaluation(session: Session, *, year: int | None = None, threshold: int = 5) -> Evaluation:
    """Return the figures of the periodic evaluation (per channel and overall; how reports were
    received), from plain metadata, with every count below `threshold` suppressed."""
    statement = select(
        Report.channel_id,
        Report.status,
        Report.outcome,
        Report.received_via,
        Report.submitted_on,
        Report.ack_due_on,
        Report.acknowledged_on,
        Report.feedback_due_on,
        Report.feedback_given_on,
    )
    if year is not None:
        statement = statement.where(
            Report.submitted_on >= date(year, 1, 1), Report.submitted_on <= date(year, 12, 31)
        )
    rows = session.exec(statement).all()
    by_channel: dict[int, list[Any]] = defaultdict(list)
    by_intake: dict[str, int] = defaultdict(int)
    for row in rows:
        by_channel[row.channel_id].append(row)
        by_intake[row.received_via] += 1
    channels = [
        _figures(localized(c, "name"), by_channel[c.id], threshold)
        for c in all_channels(session)
        if by_channel.get(c.id)
    ]
    first, last = session.exec(
        select(func.min(Report.submitted_on), func.max(Report.submitted_on))
    ).one()
    years = list(range(last.year, first.year - 1, -1)) if first and last else []
    return Evaluation(
        year=year,
        threshold=threshold,
        channels=channels,
        total=_figures(_("All channels"), list(rows), threshold),
        intake=[
            (_(INTAKE_CHANNEL_LABELS[v]), _suppress(by_intake.get(v.value, 0), threshold))
            for v in IntakeChannel
        ],
        years=years,
        meeting_requests=_suppress(_meeting_requests(session, year), threshold),
    )


def _meeting_requests(session: Session, year: int | None) -> int:
    statement = select(func.count()).where(ReportItem.kind == ItemKind.meeting_request.value)
    if year is not None:
        statement = statement.where(
            ReportItem.created_on >= date(year, 1, 1), ReportItem.created_on <= date(year, 12, 31)
        )
    return session.exec(statement).one()


def evaluation_table(result: Evaluation) -> list[list[Any]]:
    """Return the evaluation as rows (header first); suppressed cells read "< threshold"."""
    hidden = f"< {result.threshold}"

    def cell(value: Any) -> Any:
        if value is None:
            return hidden
        if isinstance(value, float):
            return round(value, 3)
        return value

    header = [
        _("Channel"),
        _("Received"),
        _("Still open"),
        _("Closed"),
        *(_(REPORT_OUTCOME_LABELS[o]) for o in ReportOutcome),
        _("Median days to acknowledgement"),
        _("Median days to feedback"),
        _("Acknowledged on time (share)"),
        _("Feedback on time (share)"),
    ]
    table = [header]
    for figures in [*result.channels, result.total]:
        table.append(
            [
                figures.label,
                cell(figures.received),
                cell(figures.open),
                cell(figures.closed),
                *(cell(figures.outcomes[o.value]) for o in ReportOutcome),
                cell(figures.median_days_to_ack),
                cell(figures.median_days_to_feedback),
                cell(figures.ack_on_time),
                cell(figures.feedback_on_time),
            ]
        )
    table.append([])
    table.append([_("How the report was received"), _("Received")])
    for label, count in result.intake:
        table.append([label, cell(count)])
    table.append([])
    table.append([_("Requests for a meeting or a call"), cell(result.meeting_requests)])
    return table


def evaluation_csv(result: Evaluation) -> bytes:
    """Return the evaluation as UTF-8 CSV (with a byte-order mark, for spreadsheet programs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([csv_cell(v) for v in row] for row in evaluation_table(result))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def evaluation_xlsx(result: Evaluation) -> bytes:
    """Return the evaluation as an Excel workbook."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = str(result.year or _("All years"))[:31]
    for row in evaluation_table(result):
        sheet.append([xlsx_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
