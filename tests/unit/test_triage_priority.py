"""The triage priority's weights (whistleblowing.service.triage), without a database."""

from __future__ import annotations

from datetime import date, timedelta

from whistleblowing.models import PriorityLevel, Report, ReportChannel, ReportPriorityOverride
from whistleblowing.service import triage


def test_red_flags_count_their_weights_once_and_are_capped():
    assert triage.red_flag_points([]) == 0
    assert triage.red_flag_points(["photocopied_documents"]) == 1
    assert triage.red_flag_points(["supplier_relationship"]) == 2
    assert triage.red_flag_points(["duplicate_invoices", "duplicate_invoices"]) == 3
    assert triage.red_flag_points(["not_a_flag"]) == 0
    every_flag = list(triage.RED_FLAG_WEIGHTS) + ["failed_logins", "budget_overspend"]
    assert triage.red_flag_points(every_flag) == triage.MAX_FLAG_POINTS


def test_age_earns_a_point_every_fifteen_days_up_to_four():
    received = date(2026, 1, 1)
    assert triage.age_points(received, received) == 0
    assert triage.age_points(received, received + timedelta(days=14)) == 0
    assert triage.age_points(received, received + timedelta(days=15)) == 1
    assert triage.age_points(received, received + timedelta(days=45)) == 3
    assert triage.age_points(received, received + timedelta(days=400)) == triage.MAX_AGE_POINTS


def test_the_score_gives_the_level_at_the_documented_thresholds():
    assert [triage.level_for(s) for s in (0, 3, 4, 7, 8, 11, 12, 21)] == [
        PriorityLevel.low,
        PriorityLevel.low,
        PriorityLevel.medium,
        PriorityLevel.medium,
        PriorityLevel.high,
        PriorityLevel.high,
        PriorityLevel.urgent,
        PriorityLevel.urgent,
    ]


def test_priority_adds_flags_channel_and_age_and_an_override_wins():
    received = date(2026, 3, 1)
    report = Report(red_flag_points=6, submitted_on=received, status="investigating")
    channel = ReportChannel(priority_weight=3)
    today = received + timedelta(days=31)
    priority = triage.compute_priority(report, channel, today=today)
    assert (priority.flag_points, priority.channel_points, priority.age_points) == (6, 3, 2)
    assert priority.score == 11 and priority.level is PriorityLevel.high
    chosen = ReportPriorityOverride(report_id=1, level="low", reason_sealed=b"")
    overridden = triage.compute_priority(report, channel, today=today, override=chosen)
    assert overridden.level is PriorityLevel.low and overridden.computed is PriorityLevel.high


def test_a_closed_case_stops_ageing():
    received = date(2026, 3, 1)
    report = Report(
        red_flag_points=0,
        submitted_on=received,
        status="closed",
        closed_on=received + timedelta(days=16),
    )
    priority = triage.compute_priority(
        report, ReportChannel(priority_weight=0), today=received + timedelta(days=300)
    )
    assert priority.age_points == 1
