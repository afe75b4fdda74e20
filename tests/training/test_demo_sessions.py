"""The seeded catalogue's sessions fall on working days, and a self-paced (e-learning) session
that has started is offered as what it is: open until its end (issue #13, defect 13)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from backend import workdays
from backend.config import get_settings
from competency_framework.training import service
from competency_framework.training.models import TrainingSession
from tests.conftest import login
from tests.training.helpers import activity, principal_for, session_of

YEAR = service.plan_year(get_settings())


def test_the_mexican_public_holidays_follow_the_law():
    assert workdays.federal_rest_days(2026) == {
        date(2026, 1, 1),
        date(2026, 2, 2),  # first Monday of February
        date(2026, 3, 16),  # third Monday of March
        date(2026, 5, 1),
        date(2026, 9, 16),
        date(2026, 11, 16),  # third Monday of November
        date(2026, 12, 25),
    }
    assert date(2030, 10, 1) in workdays.federal_rest_days(2030)
    assert date(2027, 10, 1) not in workdays.federal_rest_days(2027)
    assert workdays.next_working_day(date(2026, 12, 25)) == date(2026, 12, 28)


def test_seeded_sessions_never_start_on_a_holiday_or_a_weekend(session, settings):
    # 35 days after 20 November 2026 is Christmas Day: the certification's first session.
    service.load_catalogue(session, today=date(2026, 11, 20), settings=settings)
    session.commit()
    zone = service.org_zone(settings)
    rows = session.exec(select(TrainingSession)).all()
    assert len(rows) > 15
    for row in rows:
        for moment in (row.starts_at, row.ends_at):
            assert workdays.is_working_day(moment.astimezone(zone).date()), (
                row.place,
                moment,
            )


def test_a_started_self_paced_session_is_offered_as_open_until_its_end(
    client, session, org, make_user
):
    hr = principal_for(session, make_user("hr_planner"))
    officer = make_user("employee", employee=org.officer_a)
    online = activity(session, "laassp_online", {"legal": (0, 2)}, modality="e_learning")
    window = session_of(session, online, days_from_now=-5, length_days=60)
    service.add_item(session, employee=org.officer_a, activity=online, actor=hr, year=YEAR)
    service.approve_plan(session, employee=org.officer_a, actor=hr, year=YEAR)
    session.commit()
    login(client, officer.email)
    page = client.get("/training/me").text
    assert f'id="enrol-{window.id}"' in page
    end = (window.ends_at + timedelta(0)).astimezone(service.org_zone(get_settings())).date()
    assert "self-paced, open until" in page
    assert str(end.year) in page
