"""What competitions tell candidates and panel members (`backend.notices`), with the dates.

The kinds are declared when this module is imported (the plugin lists it under `subscribers`,
so it is imported before the first event); the services call the `tell_*` functions at the
moment things happen, inside their transaction. Keys make each notice once per person: a
retried request, a second click or a re-run never tells anyone twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from backend import clock, events, notices
from backend.i18n import N_

from . import events as vacancy_events
from .models import (
    Application,
    ApplicationStatus,
    Appointment,
    AppointmentStatus,
    PanelMember,
    Vacancy,
    VacancyStatus,
)

__all__ = [
    "APPEAL_WINDOW",
    "APPLICATION_RECEIVED",
    "APPOINTMENT",
    "BOOKING_CANCELLED",
    "INTERVIEW_SCHEDULED",
    "PANEL_INTERVIEW",
    "PANEL_INTERVIEW_CANCELLED",
    "Attachment",
    "RESULTS",
    "SCORING_DEADLINE",
    "SCORING_OPENS_INTERVIEW",
    "SCORING_OPENS_SIFT",
    "SIFT_NOT_PASSED",
    "SIFT_PASSED",
    "TEST_SCHEDULED",
]

APPLICATION_RECEIVED = "vacancy.application_received"
TEST_SCHEDULED = "vacancy.test_scheduled"
INTERVIEW_SCHEDULED = "vacancy.interview_scheduled"
BOOKING_CANCELLED = "vacancy.booking_cancelled"
SIFT_PASSED = "vacancy.sift_passed"
SIFT_NOT_PASSED = "vacancy.sift_not_passed"
RESULTS = "vacancy.results"
APPEAL_WINDOW = "vacancy.appeal_window"
APPOINTMENT = "vacancy.appointment"
SCORING_OPENS_SIFT = "vacancy.scoring_opens_sift"
SCORING_OPENS_INTERVIEW = "vacancy.scoring_opens_interview"
SCORING_DEADLINE = "vacancy.scoring_deadline"
PANEL_INTERVIEW = "vacancy.panel_interview"
PANEL_INTERVIEW_CANCELLED = "vacancy.panel_interview_cancelled"
Attachment = notices.Attachment

notices.kind(
    APPLICATION_RECEIVED,
    subject=N_("We received your application"),
    body=N_(
        "Your application to competition %(reference)s (%(title)s) was received on %(date)s. "
        "Applications close on %(closes)s."
    ),
    label=N_("Competitions: application received"),
)
notices.kind(
    TEST_SCHEDULED,
    subject=N_("Your knowledge test: date and place"),
    body=N_(
        "Your knowledge test for competition %(reference)s is on %(date)s, until %(ends)s, "
        "at %(place)s. The invitation for your calendar is attached; you may change the time "
        "on your application page."
    ),
    label=N_("Competitions: test date and place"),
)
notices.kind(
    INTERVIEW_SCHEDULED,
    subject=N_("Your interview: date and place"),
    body=N_(
        "Your interview for competition %(reference)s is on %(date)s, until %(ends)s, at "
        "%(place)s. The invitation for your calendar is attached; you may change the time on "
        "your application page."
    ),
    label=N_("Competitions: interview date and place"),
)
notices.kind(
    BOOKING_CANCELLED,
    subject=N_("Your place in a competition's calendar was cancelled"),
    body=N_(
        "Your place on %(date)s for competition %(reference)s was cancelled. If the "
        "competition still needs you there, choose another time on your application page."
    ),
    label=N_("Competitions: cancelled test or interview times"),
)
notices.kind(
    SIFT_PASSED,
    subject=N_("Evidence sift: you go on to the interview"),
    body=N_(
        "You passed the evidence sift of competition %(reference)s (decided on %(date)s). "
        "Choose your interview time on your application page."
    ),
    label=N_("Competitions: evidence sift result"),
)
notices.kind(
    SIFT_NOT_PASSED,
    subject=N_("Evidence sift: your result"),
    body=N_(
        "You did not reach the pass mark of the evidence sift of competition %(reference)s "
        "(decided on %(date)s). Your application page shows your result."
    ),
    label=N_("Competitions: evidence sift result"),
)
notices.kind(
    RESULTS,
    subject=N_("The merit list was published"),
    body=N_(
        "The merit list of competition %(reference)s was published on %(date)s. Your "
        "application page shows your result."
    ),
    label=N_("Competitions: results"),
)
notices.kind(
    APPEAL_WINDOW,
    subject=N_("You may appeal until %(closes)s"),
    body=N_(
        "The appeal window of competition %(reference)s opened on %(date)s and closes on "
        "%(closes)s. You may appeal from your application page."
    ),
    mandatory=True,  # a legal clock
    label=N_("Competitions: appeal window"),
)
notices.kind(
    APPOINTMENT,
    subject=N_("You were appointed"),
    body=N_(
        "You were appointed to %(title)s (competition %(reference)s); the appointment took "
        "effect on %(date)s."
    ),
    mandatory=True,
    label=N_("Competitions: appointment"),
)
notices.kind(
    SCORING_OPENS_SIFT,
    subject=N_("Evidence sift open for scoring: competition %(reference)s"),
    body=N_(
        "The evidence sift of competition %(reference)s opened for scoring on %(date)s. "
        "Please declare any conflict of interest first, then score each candidate."
    ),
    label=N_("Panels: scoring opens"),
)
notices.kind(
    SCORING_OPENS_INTERVIEW,
    subject=N_("Interviews open for scoring: competition %(reference)s"),
    body=N_(
        "The interviews of competition %(reference)s opened for scoring on %(date)s. Your "
        "interview times come in separate invitations; score each interview by the end of "
        "its day."
    ),
    label=N_("Panels: scoring opens"),
)
notices.kind(
    SCORING_DEADLINE,
    subject=N_("Interview scores due today: competition %(reference)s"),
    body=N_(
        "The last interview of competition %(reference)s ended on %(date)s and some of your "
        "interview scores are still missing. Please score them today."
    ),
    label=N_("Panels: scoring deadline"),
)
notices.kind(
    PANEL_INTERVIEW,
    subject=N_("Interview of candidate %(code)s"),
    body=N_(
        "You interview candidate %(code)s of competition %(reference)s on %(date)s, until "
        "%(ends)s, at %(place)s. The invitation for your calendar is attached."
    ),
    label=N_("Panels: interview times"),
)
notices.kind(
    PANEL_INTERVIEW_CANCELLED,
    subject=N_("Interview cancelled: candidate %(code)s"),
    body=N_(
        "The interview of candidate %(code)s of competition %(reference)s on %(date)s was "
        "cancelled; its calendar entry is removed."
    ),
    label=N_("Panels: interview times"),
)


def tell(
    session: Session,
    *,
    to: Iterable[int],
    kind: str,
    key: str,
    params: dict[str, str | int | datetime | None],
    link: str,
    attachment: Attachment | None = None,
) -> int:
    """Tell `to` one notice of `kind` (a thin wrapper, so the services name one place)."""
    return notices.tell(
        session, to=to, kind=kind, key=key, params=params, link=link, attachment=attachment
    )


# --- what the competition's events tell -----------------------------------------------------


def _applications(session: Session, vacancy_id: int, *statuses: str) -> list[Application]:
    return list(
        session.exec(
            select(Application).where(
                Application.vacancy_id == vacancy_id, col(Application.status).in_(statuses)
            )
        )
    )


def _panel(session: Session, vacancy_id: int) -> list[int]:
    return list(
        session.exec(select(PanelMember.user_id).where(PanelMember.vacancy_id == vacancy_id))
    )


def _tell_each(session, applications, *, kind: str, key: str, params: dict) -> None:
    for application in applications:
        tell(
            session,
            to=[application.user_id],
            kind=kind,
            key=key,
            params=params,
            link=f"/applications/{application.id}",
        )


@events.subscribe(vacancy_events.APPLICATION_RECEIVED)
def application_received(session: Session, event: events.DomainEvent) -> None:
    application = session.get(Application, event.payload["application_id"])
    vacancy = session.get(Vacancy, event.payload["vacancy_id"])
    if application is None or vacancy is None:
        return
    params = {
        "reference": vacancy.reference,
        "title": vacancy.title,
        "date": application.submitted_at,
        "closes": vacancy.closes_at,
    }
    _tell_each(
        session,
        [application],
        kind=APPLICATION_RECEIVED,
        key=f"application:{application.id}",
        params=params,
    )


@events.subscribe(vacancy_events.STATUS_CHANGED)
def stage_changed(session: Session, event: events.DomainEvent) -> None:
    vacancy = session.get(Vacancy, event.payload["vacancy_id"])
    if vacancy is None:
        return
    status = event.payload["status"]
    base = {"reference": vacancy.reference, "title": vacancy.title, "date": clock.now()}
    key = f"vacancy:{vacancy.id}"
    panel_link = f"/panel/{vacancy.id}"
    if status == VacancyStatus.sift:
        tell(
            session,
            to=_panel(session, vacancy.id),
            kind=SCORING_OPENS_SIFT,
            key=key,
            params=base,
            link=panel_link,
        )
    elif status == VacancyStatus.interview:
        passed = _applications(session, vacancy.id, ApplicationStatus.active)
        failed = [
            a
            for a in _applications(session, vacancy.id, ApplicationStatus.out)
            if a.out_stage == "sift"
        ]
        _tell_each(session, passed, kind=SIFT_PASSED, key=key, params=base)
        _tell_each(session, failed, kind=SIFT_NOT_PASSED, key=key, params=base)
        tell(
            session,
            to=_panel(session, vacancy.id),
            kind=SCORING_OPENS_INTERVIEW,
            key=key,
            params=base,
            link=panel_link,
        )
    elif status == VacancyStatus.results:
        told = [
            a
            for a in _applications(
                session,
                vacancy.id,
                ApplicationStatus.ranked,
                ApplicationStatus.out,
                ApplicationStatus.screened_out,
            )
        ]
        version = f"{key}:merit:v{vacancy.merit_version}"
        params = {**base, "closes": vacancy.appeal_closes_at}
        _tell_each(session, told, kind=RESULTS, key=version, params=params)
        if vacancy.appeal_closes_at is not None:
            _tell_each(session, told, kind=APPEAL_WINDOW, key=version, params=params)


@events.subscribe(vacancy_events.APPOINTED)
def appointed(session: Session, event: events.DomainEvent) -> None:
    vacancy = session.get(Vacancy, event.payload["vacancy_id"])
    # The appointment that just took effect (the event names the competition, not the person).
    latest = session.exec(
        select(Appointment)
        .where(
            Appointment.vacancy_id == event.payload["vacancy_id"],
            Appointment.status == AppointmentStatus.effective,
        )
        .order_by(col(Appointment.effective_at).desc(), col(Appointment.id).desc())
    ).first()
    application = session.get(Application, latest.application_id) if latest else None
    if application is None or vacancy is None:
        return
    params = {"reference": vacancy.reference, "title": vacancy.title, "date": event.occurred_at}
    _tell_each(
        session,
        [application],
        kind=APPOINTMENT,
        key=f"application:{application.id}",
        params=params,
    )
