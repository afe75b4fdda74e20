"""Calendar slots for knowledge-test sittings and interviews, and the candidates' bookings.

HR (vacancy managers) opens slots: a time, a place (a room) or a video link, and a capacity.
A candidate still in the competition picks one (or HR assigns one); moving to another slot is a
reschedule, audited, and cancelling frees the place. Each booking is one calendar event whose
UID never changes and whose SEQUENCE grows with every change, so the invitation the candidate
(and, for interviews, each panel member) receives through `backend.notices` is replaced by the
update and removed by the cancellation (`backend.calendar`).

Capacity is kept by one conditional UPDATE (`booked = booked + 1 WHERE booked < capacity`):
PostgreSQL re-checks the condition after a concurrent booking commits and SQLite runs writers
one at a time, so no slot is ever overfilled; the table's CHECK is the last guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlmodel import Session, col, select

from backend import calendar, clock, i18n
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _

from .. import notices
from ..models import (
    Application,
    ApplicationStatus,
    PanelMember,
    Slot,
    SlotBooking,
    SlotKind,
    Vacancy,
    VacancyStatus,
)
from .base import VacancyError, audit_vacancy, clean_text, now_or
from .panel import panel_of
from .scoring import work_for
from .standing import audit_application

MAX_CAPACITY = 500
MAX_HOURS = 12
# When each kind of slot may be booked, by the competition's status.
BOOKABLE = {
    SlotKind.test: (VacancyStatus.published, VacancyStatus.testing),
    SlotKind.interview: (VacancyStatus.sift, VacancyStatus.interview),
}
# When HR may open slots of each kind (before candidates may book them, too).
PLANNABLE = {
    SlotKind.test: (VacancyStatus.approved, VacancyStatus.published, VacancyStatus.testing),
    SlotKind.interview: (
        VacancyStatus.published,
        VacancyStatus.testing,
        VacancyStatus.sift,
        VacancyStatus.interview,
    ),
}


@dataclass(frozen=True)
class SlotInput:
    """What the new-slot form sends (strings as typed; times local to the organisation)."""

    kind: str = ""
    starts_at: str = ""
    ends_at: str = ""
    place: str = ""
    video_link: str = ""
    capacity: str = ""


def _kind(value: str) -> SlotKind:
    try:
        return SlotKind(value)
    except ValueError:
        raise VacancyError(_("Choose a test sitting or an interview."), field="kind") from None


def _local_moment(text: str, settings: Settings, field: str) -> datetime:
    value = (text or "").strip().replace(" ", "T")
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise VacancyError(
            _("Enter a date and time, e.g. 2026-12-01 09:00."), field=field
        ) from None
    zone = clock.zone(settings.time_zone)
    local = naive.astimezone(zone) if naive.tzinfo else naive.replace(tzinfo=zone)
    return local.astimezone(UTC)


def _parse(data: SlotInput, settings: Settings, now: datetime) -> dict:
    errors: dict[str, str] = {}
    found: dict = {}
    for name, check in (
        ("kind", lambda: _kind(data.kind)),
        ("starts_at", lambda: _local_moment(data.starts_at, settings, "starts_at")),
        ("ends_at", lambda: _local_moment(data.ends_at, settings, "ends_at")),
        ("place", lambda: clean_text(data.place, field="place", limit=300)),
        ("video_link", lambda: clean_text(data.video_link, field="video_link", limit=500)),
    ):
        try:
            found[name] = check()
        except VacancyError as err:
            errors[name] = str(err)
    try:
        capacity = int((data.capacity or "").strip())
        if not 1 <= capacity <= MAX_CAPACITY:
            raise ValueError
        found["capacity"] = capacity
    except ValueError:
        errors["capacity"] = _("Enter a capacity from 1 to %(max)s.", max=MAX_CAPACITY)
    start, end = found.get("starts_at"), found.get("ends_at")
    if start and start <= now:
        errors["starts_at"] = _("Choose a time in the future.")
    if start and end and not start < end <= start + timedelta(hours=MAX_HOURS):
        errors["ends_at"] = _(
            "The end must be after the start, on the same sitting (at most %(hours)s hours).",
            hours=MAX_HOURS,
        )
    link = found.get("video_link", "")
    if link and urlsplit(link).scheme != "https":
        errors["video_link"] = _("A video link starts with https://.")
    if "place" in found and "video_link" in found and not (found["place"] or link):
        errors["place"] = _("Give a room or a video link.")
    if errors:
        raise VacancyError(
            _("Some details of the time are not valid."), errors=errors, field=next(iter(errors))
        )
    return found


# --- reading ---------------------------------------------------------------------------------


def slots_of(session: Session, vacancy: Vacancy, kind: str | None = None) -> list[Slot]:
    """Return the competition's live slots (of `kind`), in time order."""
    query = select(Slot).where(Slot.vacancy_id == vacancy.id, col(Slot.cancelled_at).is_(None))
    if kind:
        query = query.where(Slot.kind == kind)
    return list(session.exec(query.order_by(col(Slot.starts_at), col(Slot.id))))


def slot_in(session: Session, vacancy: Vacancy, slot_id: int) -> Slot:
    """Return the competition's live slot `slot_id`, or refuse (404)."""
    slot = session.get(Slot, slot_id)
    if slot is None or slot.vacancy_id != vacancy.id or slot.cancelled_at is not None:
        raise VacancyError(_("This time is no longer offered."), status_code=404)
    return slot


def booking_of(session: Session, application: Application, kind: str) -> SlotBooking | None:
    """Return the application's live booking of `kind`, or None."""
    return session.exec(
        select(SlotBooking).where(
            SlotBooking.application_id == application.id,
            SlotBooking.kind == kind,
            col(SlotBooking.cancelled_at).is_(None),
        )
    ).first()


def bookings_in(session: Session, slot: Slot) -> list[tuple[SlotBooking, Application]]:
    """Return the live bookings of a slot with their applications (by anonymous code)."""
    return list(
        session.exec(
            select(SlotBooking, Application)
            .join(Application, col(Application.id) == SlotBooking.application_id)
            .where(SlotBooking.slot_id == slot.id, col(SlotBooking.cancelled_at).is_(None))
            .order_by(col(Application.anonymous_code))
        )
    )


def unbooked(session: Session, vacancy: Vacancy, kind: str) -> list[Application]:
    """Return the active applications without a live booking of `kind` (HR's assign list)."""
    booked = select(SlotBooking.application_id).where(
        SlotBooking.kind == kind, col(SlotBooking.cancelled_at).is_(None)
    )
    return list(
        session.exec(
            select(Application)
            .where(
                Application.vacancy_id == vacancy.id,
                Application.status == ApplicationStatus.active,
                col(Application.id).not_in(booked),
            )
            .order_by(col(Application.anonymous_code))
        )
    )


def booking_open(vacancy: Vacancy, application: Application, kind: str) -> bool:
    """Return whether `application` may book (or move) a slot of `kind` now."""
    return (
        vacancy.status in BOOKABLE[SlotKind(kind)]
        and application.status == ApplicationStatus.active
        and not (kind == SlotKind.interview and vacancy.interview_locked_at is not None)
    )


def bookable_now(vacancy: Vacancy, kind: str) -> bool:
    """Return whether candidates may book slots of `kind` at the competition's stage."""
    return vacancy.status in BOOKABLE[SlotKind(kind)]


def can_plan(vacancy: Vacancy, kind: str) -> bool:
    return vacancy.status in PLANNABLE[SlotKind(kind)]


# --- HR: opening and cancelling slots -----------------------------------------------------------


def create_slot(
    session: Session,
    settings: Settings,
    *,
    vacancy: Vacancy,
    data: SlotInput,
    actor: User,
    now: datetime | None = None,
) -> Slot:
    """Open a slot (every field's problem at once), audited."""
    found = _parse(data, settings, now_or(now))
    if not can_plan(vacancy, found["kind"]):
        raise VacancyError(
            _("The competition is not at a stage where these times can be planned."),
            status_code=409,
        )
    slot = Slot(vacancy_id=vacancy.id, created_by_id=actor.id, **found)
    session.add(slot)
    session.flush()
    audit_vacancy(
        session,
        action="vacancy.slot_opened",
        actor=actor,
        vacancy=vacancy,
        after=_slot_facts(slot),
    )
    return slot


def cancel_slot(
    session: Session, settings: Settings, *, vacancy: Vacancy, slot: Slot, actor: User
) -> int:
    """Cancel a slot and every booking in it (each person is sent the cancellation); return
    how many bookings were cancelled."""
    bookings = bookings_in(session, slot)
    for booking, application in bookings:
        _release(session, settings, vacancy, application, booking, slot, actor)
    slot.cancelled_at = clock.now()
    session.add(slot)
    audit_vacancy(
        session,
        action="vacancy.slot_cancelled",
        actor=actor,
        vacancy=vacancy,
        before=_slot_facts(slot),
        after={"bookings_cancelled": len(bookings)},
    )
    return len(bookings)


def _slot_facts(slot: Slot) -> dict:
    return {
        "slot": slot.id,
        "starts_at": slot.starts_at.isoformat(),
        "ends_at": slot.ends_at.isoformat(),
        "place": slot.place,
        "video_link": slot.video_link,
        "capacity": slot.capacity,
    }


# --- booking -----------------------------------------------------------------------------------


def _take_place(session: Session, slot: Slot) -> None:
    taken = session.execute(
        update(Slot)
        .where(
            col(Slot.id) == slot.id,
            col(Slot.cancelled_at).is_(None),
            col(Slot.booked) < col(Slot.capacity),
        )
        .values(booked=col(Slot.booked) + 1)
    )
    if taken.rowcount != 1:
        raise VacancyError(
            _("This time is full. Choose another one."), field="slot", status_code=409
        )


def _free_place(session: Session, slot_id: int) -> None:
    session.execute(
        update(Slot)
        .where(col(Slot.id) == slot_id, col(Slot.booked) > 0)
        .values(booked=col(Slot.booked) - 1)
    )


def book(
    session: Session,
    settings: Settings,
    *,
    vacancy: Vacancy,
    application: Application,
    slot: Slot,
    actor: User,
    now: datetime | None = None,
) -> SlotBooking:
    """Book `slot` for the application, or move its booking there (a reschedule): audited,
    and the candidate (and the panel, for interviews) is sent the invitation or its update."""
    moment = now_or(now)
    if not booking_open(vacancy, application, slot.kind):
        raise VacancyError(_("These times cannot be chosen at this stage."), status_code=409)
    if slot.starts_at <= moment:
        raise VacancyError(_("This time has already started."), field="slot", status_code=409)
    booking = session.exec(
        select(SlotBooking).where(
            SlotBooking.application_id == application.id, SlotBooking.kind == slot.kind
        )
    ).first()
    if booking is not None and booking.cancelled_at is None and booking.slot_id == slot.id:
        return booking  # already there: nothing changes, nobody is told again
    _take_place(session, slot)
    before = None
    if booking is None:
        booking = SlotBooking(application_id=application.id, slot_id=slot.id, kind=slot.kind)
    else:
        if booking.cancelled_at is None:
            old = session.get(Slot, booking.slot_id)
            before = _slot_facts(old) if old else None
            _free_place(session, booking.slot_id)
        booking.sequence += 1
        booking.slot_id = slot.id
        booking.cancelled_at = None
    booking.booked_by_id = actor.id
    booking.booked_at = moment
    session.add(booking)
    session.flush()
    audit_application(
        session,
        action="vacancy.slot_rescheduled" if before else "vacancy.slot_booked",
        actor=actor,
        application=application,
        before=before,
        after=_slot_facts(slot),
    )
    _send(session, settings, vacancy, application, booking, slot)
    return booking


def cancel_booking(
    session: Session,
    settings: Settings,
    *,
    vacancy: Vacancy,
    application: Application,
    kind: str,
    actor: User,
) -> None:
    """Cancel the application's booking of `kind` (the cancellation is sent), audited."""
    booking = booking_of(session, application, kind)
    if booking is None:
        raise VacancyError(_("There is no time booked to cancel."), status_code=409)
    if not booking_open(vacancy, application, kind):
        raise VacancyError(_("These times cannot be changed at this stage."), status_code=409)
    slot = session.get(Slot, booking.slot_id)
    _release(session, settings, vacancy, application, booking, slot, actor)


def _release(session, settings, vacancy, application, booking, slot, actor) -> None:
    _free_place(session, booking.slot_id)
    booking.cancelled_at = clock.now()
    booking.sequence += 1
    session.add(booking)
    session.flush()
    audit_application(
        session,
        action="vacancy.slot_booking_cancelled",
        actor=actor,
        application=application,
        before=_slot_facts(slot),
    )
    _send(session, settings, vacancy, application, booking, slot)


# --- calendar events and notices ------------------------------------------------------------


def _host(settings: Settings) -> str:
    return urlsplit(settings.public_url).hostname or "merito"


def _organizer(settings: Settings) -> calendar.Person:
    name, address = parseaddr(settings.smtp_from)
    return calendar.Person(address or "no-reply@localhost", name)


def where(slot: Slot) -> str:
    """Return where a slot happens: the room, the video link, or both."""
    return " · ".join(part for part in (slot.place, slot.video_link) if part)


def event_for(
    session: Session,
    settings: Settings,
    *,
    vacancy: Vacancy,
    application: Application,
    booking: SlotBooking,
    slot: Slot,
    attendees: list[User],
    for_panel: bool = False,
) -> calendar.CalendarEvent:
    """Return the booking as a calendar event (the same UID for the candidate and the panel)."""
    if slot.kind == SlotKind.test:
        summary = _("Knowledge test: %(reference)s", reference=vacancy.reference)
    elif for_panel:
        summary = _(
            "Interview of candidate %(code)s: %(reference)s",
            code=application.anonymous_code,
            reference=vacancy.reference,
        )
    else:
        summary = _("Interview: %(reference)s", reference=vacancy.reference)
    return calendar.CalendarEvent(
        uid=f"vacancy-booking-{booking.id}@{_host(settings)}",
        start=slot.starts_at,
        end=slot.ends_at,
        summary=summary,
        location=where(slot),
        description=vacancy.title,
        cancelled=booking.cancelled_at is not None,
        sequence=booking.sequence,
        organizer=_organizer(settings),
        attendees=tuple(calendar.Person(u.email, u.full_name) for u in attendees),
        url=slot.video_link,
    )


def ics_of(
    session: Session, settings: Settings, *, vacancy: Vacancy, application: Application, kind: str
) -> bytes:
    """Return the candidate's live booking of `kind` as a calendar file to download (404 when
    there is none)."""
    booking = booking_of(session, application, kind)
    if booking is None:
        raise VacancyError(_("There is no time booked."), status_code=404)
    slot = session.get(Slot, booking.slot_id)
    candidate = session.get(User, application.user_id)
    event = event_for(
        session,
        settings,
        vacancy=vacancy,
        application=application,
        booking=booking,
        slot=slot,
        attendees=[candidate] if candidate else [],
    )
    return calendar.invitation(event, zone=clock.zone(settings.time_zone))


def _send(session, settings, vacancy, application, booking, slot) -> None:
    """Tell the candidate (and, for an interview, each panel member) about the booking, each
    in their language, with the calendar message: REQUEST (new, or an update) or CANCEL."""
    candidate = session.get(User, application.user_id)
    recipients = [(candidate, False)] if candidate else []
    if slot.kind == SlotKind.interview:
        panel = session.exec(
            select(User)
            .join(PanelMember, col(PanelMember.user_id) == User.id)
            .where(PanelMember.vacancy_id == vacancy.id)
            .order_by(col(User.id))
        )
        recipients += [(member, True) for member in panel]
    for person, for_panel in recipients:
        with i18n.use_locale(person.locale):
            _tell_one(session, settings, vacancy, application, booking, slot, person, for_panel)


def _tell_one(session, settings, vacancy, application, booking, slot, person, for_panel) -> None:
    zone = clock.zone(settings.time_zone)
    cancelled = booking.cancelled_at is not None
    event = event_for(
        session,
        settings,
        vacancy=vacancy,
        application=application,
        booking=booking,
        slot=slot,
        attendees=[person],
        for_panel=for_panel,
    )
    body = calendar.invitation(event, zone=zone)
    attachment = notices.Attachment(
        "cancel.ics" if cancelled else "invitation.ics", calendar.content_type(body), body
    )
    if cancelled:
        kind = notices.PANEL_INTERVIEW_CANCELLED if for_panel else notices.BOOKING_CANCELLED
    elif for_panel:
        kind = notices.PANEL_INTERVIEW
    else:
        kind = notices.TEST_SCHEDULED if slot.kind == SlotKind.test else notices.INTERVIEW_SCHEDULED
    notices.tell(
        session,
        to=[person.id],
        kind=kind,
        key=f"booking:{booking.id}:v{booking.sequence}",
        params={
            "reference": vacancy.reference,
            "date": slot.starts_at,
            "ends": i18n.time_text(slot.ends_at.astimezone(zone)),
            "place": where(slot),
            "code": application.anonymous_code,
        },
        link=f"/panel/{vacancy.id}" if for_panel else f"/applications/{application.id}",
        attachment=attachment,
    )


# --- the panel's scoring deadline ------------------------------------------------------------


def remind_scoring_due(session: Session, now: datetime | None = None) -> int:
    """Tell each panel member with interview scores still missing, once the competition's last
    booked interview has ended, that they are due that day; return how many were told (each
    member once per last interview: a later interview time makes a new reminder)."""
    moment = now_or(now)
    told = 0
    for vacancy in session.exec(select(Vacancy).where(Vacancy.status == VacancyStatus.interview)):
        ends = [s.ends_at for s in slots_of(session, vacancy, SlotKind.interview) if s.booked]
        if not ends or max(ends) > moment:
            continue
        last = max(ends)
        late = []
        for member in panel_of(session, vacancy):
            user = session.get(User, member.user_id)
            if user is not None and work_for(session, vacancy=vacancy, user=user)["to_score"]:
                late.append(user.id)
        told += notices.tell(
            session,
            to=late,
            kind=notices.SCORING_DEADLINE,
            key=f"vacancy:{vacancy.id}:interviews-ended:{last.isoformat()}",
            params={"reference": vacancy.reference, "date": last},
            link=f"/panel/{vacancy.id}",
        )
    return told


# --- what the pages show ----------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateSlots:
    """One kind of slot as the candidate's application page shows it."""

    kind: str
    booking: SlotBooking | None
    slot: Slot | None  # the booked slot
    options: list[Slot]  # future slots with a free place (the booked one excluded)
    can_change: bool


def candidate_slots(
    session: Session, vacancy: Vacancy, application: Application, now: datetime | None = None
) -> list[CandidateSlots]:
    """Return, per kind the competition plans, the candidate's booking and their choices."""
    moment = now_or(now)
    shown = []
    for kind in SlotKind:
        booking = booking_of(session, application, kind)
        slot = session.get(Slot, booking.slot_id) if booking else None
        can_change = booking_open(vacancy, application, kind) and (
            slot is None or slot.starts_at > moment
        )
        options = [
            s
            for s in slots_of(session, vacancy, kind)
            if s.starts_at > moment and s.booked < s.capacity and (slot is None or s.id != slot.id)
        ]
        if booking or (can_change and options):
            shown.append(
                CandidateSlots(kind, booking, slot, options if can_change else [], can_change)
            )
    return shown
