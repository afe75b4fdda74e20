"""What every stage of a competition uses: the error, limits, lookups, the stage itself
(`set_status`, the applications in it) and deadlines in working days (`backend.workdays`) in
the organisation's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import audit, clock
from backend.auth.models import User
from backend.auth.permissions import Permission, permissions_for
from backend.auth.service import roles_of
from backend.config import Settings
from backend.errors import DomainError
from backend.events import DomainEvent, publish
from backend.i18n import _
from backend.org.models import Position, Unit
from backend.workdays import (
    add_working_days,
    working_days_between,
)
from competency_framework import service as competency_service

from ..events import STATUS_CHANGED
from ..models import (
    Application,
    ApplicationStatus,
    KnowledgeDomain,
    Vacancy,
    VacancyAmendment,
    VacancyStatus,
)

MAX_TEXT = 2000
MAX_SUMMARY = 4000
MAX_ELIGIBILITY = 10
MAX_BLUEPRINT_ROWS = 12
MIN_PANEL = 3
MAX_PANEL = 9
# Statuses in which the notice is public.
PUBLIC_STATUSES = (
    VacancyStatus.published,
    VacancyStatus.testing,
    VacancyStatus.sift,
    VacancyStatus.interview,
    VacancyStatus.results,
    VacancyStatus.appointed,
)
# The fields of the notice; locked at publication, changed only by a formal amendment.
NOTICE_FIELDS = (
    "title",
    "summary",
    "criteria",
    "knowledge_domains",
    "weight_test",
    "weight_sift",
    "weight_interview",
    "weight_justification",
    "pass_mark_test",
    "pass_mark_sift",
    "pass_mark_interview",
    "tie_break",
    "panel_size",
    "blueprint",
    "test_minutes",
    "eligibility",
    "posting_days",
)


class VacancyError(DomainError):
    """A competition rule was broken. Message translated; `errors` maps form fields to messages."""


def now_or(now: datetime | None) -> datetime:
    """Return `now`, or the competition clock's current time."""
    return now if now is not None else clock.now()


def can(session: Session, user: User, permission: Permission) -> bool:
    """Return whether `user` holds `permission` through their roles."""
    return permission in permissions_for(roles_of(session, user))


def clean_text(value: Any, *, field: str, limit: int = MAX_TEXT, required: bool = False) -> str:
    """Return the trimmed text, or refuse (by `field`) when required and empty, or too long."""
    text = str(value or "").strip()
    if required and not text:
        raise VacancyError(_("This field is required."), field=field)
    if len(text) > limit:
        raise VacancyError(
            _("Keep this under %(limit)s characters.", limit=f"{limit:,}"), field=field
        )
    return text


def require_reason(value: Any, *, field: str = "reason") -> str:
    """Return a written reason, or raise VacancyError when it is missing."""
    text = clean_text(value, field=field)
    if len(text) < 5:
        raise VacancyError(_("Give a written reason."), field=field)
    return text


# --- lookups ------------------------------------------------------------------------------------


def get_vacancy(session: Session, vacancy_id: int) -> Vacancy | None:
    return session.get(Vacancy, vacancy_id)


def require_vacancy(session: Session, vacancy_id: int, *, public: bool = False) -> Vacancy:
    """Return the vacancy, or refuse (404) when there is none (or, with `public`, when its
    notice has not been published)."""
    vacancy = session.get(Vacancy, vacancy_id)
    if vacancy is None or (public and vacancy.published_at is None):
        raise VacancyError(_("This vacancy does not exist."), status_code=404)
    return vacancy


def application_in(session: Session, vacancy: Vacancy, application_id: int) -> Application:
    """Return the vacancy's application `application_id`, or refuse (404)."""
    application = session.get(Application, application_id)
    if application is None or application.vacancy_id != vacancy.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    return application


def positions_with_units(session: Session) -> list[tuple[Position, Unit]]:
    """Return every position with its unit, by unit and title (the new vacancy form's choice)."""
    return list(
        session.exec(
            select(Position, Unit)
            .join(Unit, col(Unit.id) == Position.unit_id)
            .order_by(col(Unit.name), col(Position.title))
        ).all()
    )


def units_by_id(session: Session) -> dict[int, Unit]:
    """Return {unit id: unit} for the whole organisation."""
    return {u.id: u for u in session.exec(select(Unit))}


def hiring_unit(session: Session, vacancy: Vacancy) -> Unit | None:
    return session.get(Unit, vacancy.unit_id)


def hiring_unit_of(session: Session, application: Application) -> Unit | None:
    """Return the unit an internal candidate works in (None for external candidates)."""
    return session.get(Unit, application.unit_id) if application.unit_id else None


def position_of(session: Session, vacancy: Vacancy) -> Position | None:
    return session.get(Position, vacancy.position_id)


def list_vacancies(session: Session, *, statuses: tuple[str, ...] | None = None) -> list[Vacancy]:
    """Return vacancies (newest first), optionally only those in `statuses`."""
    statement = select(Vacancy).order_by(col(Vacancy.id).desc())
    if statuses:
        statement = statement.where(col(Vacancy.status).in_(statuses))
    return list(session.exec(statement))


def _open_first(vacancies):
    """The board's order: open windows first, then newest first."""
    moment = clock.now()
    return sorted(vacancies, key=lambda v: (not window_open(v, moment), -(v.id or 0)))


def public_vacancies(session: Session) -> list[Vacancy]:
    """Return the vacancies on the public board, open windows first."""
    return _open_first(list_vacancies(session, statuses=PUBLIC_STATUSES))


_VACANCY = Vacancy.__table__
_UNIT = Unit.__table__
# Built once, read as rows: the board and every start page's "My applications" run these.
_BOARD = (
    sa_select(
        _VACANCY.c.id,
        _VACANCY.c.title,
        _VACANCY.c.reference,
        _VACANCY.c.status,
        _VACANCY.c.closes_at,
        _UNIT.c.name.label("unit_name"),
    )
    .join_from(_VACANCY, _UNIT, _UNIT.c.id == _VACANCY.c.unit_id, isouter=True)
    .where(_VACANCY.c.status.in_(PUBLIC_STATUSES))
)
_OPEN_NOW = (
    sa_select(func.count())
    .select_from(_VACANCY)
    .where(
        _VACANCY.c.status == VacancyStatus.published,
        _VACANCY.c.closes_at.is_not(None),
        _VACANCY.c.closes_at >= bindparam("now"),
    )
)


def board_rows(session: Session) -> list:
    """The public board as rows (what `public_vacancies` gives, in its order, with the hiring
    unit's name as `unit_name`): only the columns the board shows, in one statement."""
    return _open_first(session.execute(_BOARD).all())


def open_for_applications(session: Session, now: datetime | None = None) -> int:
    """Return how many vacancies accept applications now (one count, no rows loaded)."""
    return session.execute(_OPEN_NOW, {"now": now_or(now)}).scalar_one()


def window_open(vacancy: Vacancy, now: datetime | None = None) -> bool:
    """True while applications are accepted."""
    return (
        vacancy.status == VacancyStatus.published
        and vacancy.closes_at is not None
        and now_or(now) <= vacancy.closes_at
    )


def counts_by_status(session: Session) -> dict[str, int]:
    """Return {status: number of vacancies}."""
    rows = session.exec(select(Vacancy.status, func.count()).group_by(Vacancy.status)).all()
    return dict(rows)


def competency_names(session: Session) -> dict[str, Any]:
    """Return {code: Competency} for the framework."""
    return {c.code: c for c in competency_service.list_competencies(session)}


def domains(session: Session) -> list[KnowledgeDomain]:
    return list(session.exec(select(KnowledgeDomain).order_by(col(KnowledgeDomain.code))))


def amendments(session: Session, vacancy: Vacancy) -> list[VacancyAmendment]:
    return list(
        session.exec(
            select(VacancyAmendment)
            .where(VacancyAmendment.vacancy_id == vacancy.id)
            .order_by(col(VacancyAmendment.number))
        )
    )


def audit_vacancy(
    session: Session,
    *,
    action: str,
    actor: Any,
    vacancy: Vacancy,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    """Audit an act on the vacancy, in the caller's transaction."""
    audit.record(
        session,
        action=action,
        actor=actor,
        entity_type="vacancy",
        entity_id=vacancy.id,
        before=before,
        after=after,
    )


# --- the stage ----------------------------------------------------------------------------------


def review_window_closes(settings: Settings, vacancy: Vacancy) -> datetime | None:
    """Return when screened-out candidates can no longer ask for a review."""
    if vacancy.closes_at is None:
        return None
    return deadline_after(vacancy.closes_at, settings.vacancy_review_days, settings.time_zone)


def active_applications(session: Session, vacancy: Vacancy) -> list[Application]:
    return list(
        session.exec(
            select(Application)
            .where(
                Application.vacancy_id == vacancy.id,
                Application.status == ApplicationStatus.active,
            )
            .order_by(col(Application.id))
        )
    )


def all_applications(session: Session, vacancy: Vacancy) -> list[Application]:
    return list(
        session.exec(
            select(Application)
            .where(Application.vacancy_id == vacancy.id)
            .order_by(col(Application.id))
        )
    )


def set_status(
    session: Session,
    *,
    vacancy: Vacancy,
    status: VacancyStatus,
    actor: Any,
    extra: dict | None = None,
) -> None:
    """Move the vacancy to `status` (audited)."""
    before = vacancy.status
    vacancy.status = status
    session.add(vacancy)
    audit_vacancy(
        session,
        action=f"vacancy.{status.value}",
        actor=actor,
        vacancy=vacancy,
        before={"status": before},
        after={"status": status.value, **(extra or {})},
    )
    publish(
        session,
        DomainEvent(
            STATUS_CHANGED,
            payload={"vacancy_id": vacancy.id, "status": status.value, "before": before},
        ),
    )


def local_date(moment: datetime, tz: str) -> date:
    """Return the calendar date of `moment` in time zone `tz`."""
    return moment.astimezone(ZoneInfo(tz)).date()


def end_of_day(day: date, tz: str) -> datetime:
    """Return the last instant of `day` in `tz`, as an aware UTC datetime."""
    local = datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC)


def deadline_after(moment: datetime, days: int, tz: str) -> datetime:
    """Return the end of the `days`-th working day after `moment`'s local date, in UTC."""
    return end_of_day(add_working_days(local_date(moment, tz), days), tz)


def working_days_open(opened: datetime, closes: datetime, tz: str) -> int:
    """Return the working days a window opened at `opened` and closing at `closes` spans."""
    return working_days_between(local_date(opened, tz), local_date(closes, tz))


def user_of(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_names(session: Session, ids) -> dict[int, str]:
    """Return {user id: full name} for the given ids."""
    names = {}
    for user_id in {i for i in ids if i}:
        user = session.get(User, user_id)
        if user is not None:
            names[user_id] = user.full_name
    return names


def deadlines(settings: Settings, vacancy: Vacancy) -> dict[str, datetime]:
    """Return the competition's dates that bound what happens next, by name (in time order):
    applications close, screening reviews close, appeals close, the reserve list lapses."""
    found = {
        "applications_close": vacancy.closes_at,
        "reviews_close": review_window_closes(settings, vacancy),
        "appeals_close": vacancy.appeal_closes_at,
        "reserve_lapses": vacancy.reserve_valid_until,
    }
    return {name: moment for name, moment in found.items() if moment is not None}
