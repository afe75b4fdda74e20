"""What the routes of investigators (cases) and protection officers (retaliation complaints)
share: the signed-in handler's desk, their private key, undoing a refused change, running an
action on one opened record, handing out an attachment, and reading forms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend import audit
from backend.auth.models import User
from backend.auth.service import Principal
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, session_token
from backend.web import flash, redirect
from whistleblowing import service as reporting
from whistleblowing.public_routes import attachment_response

Access = TypeVar("Access")


def http_error(err: reporting.ReportingError) -> HTTPException:
    """Return the error page (or JSON) for a refused lookup or action."""
    return HTTPException(status_code=err.status_code, detail=str(err))


def parse_day(value: object) -> date | None:
    """Return the day typed as YYYY-MM-DD, or None when blank or not a day."""
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


async def uploads(form: Any, name: str = "files") -> list[reporting.Upload]:
    """Return the files chosen in the form's `name` input (those without a name are skipped)."""
    return [
        reporting.Upload(entry.filename, await entry.read())
        for entry in form.getlist(name)
        if hasattr(entry, "filename") and entry.filename
    ]


def undo(session: Session, settings: Settings, principal: Principal) -> None:
    """Roll back (removing files written) and reload the signed-in person's rows: the error
    page still needs them after the request's session has closed."""
    reporting.rollback(session, settings)
    session.refresh(principal.session)
    session.refresh(principal.user)


@dataclass
class Desk:
    """A signed-in handler's request (the routes' dependency): who, the database session and
    the settings, with the helpers every handler's route uses."""

    request: Request
    session: Session
    settings: Settings
    principal: Principal

    @property
    def user(self) -> User:
        return self.principal.user

    @property
    def today(self) -> date:
        """Return today in the organisation's time zone (deadlines count local days)."""
        return reporting.local_today(self.settings)

    def holder_private(self) -> bytes:
        """Return the handler's private key, unsealed with their session cookie (else 401)."""
        try:
            return reporting.session_private_key(
                self.principal.session, session_token(self.request)
            )
        except reporting.ReportingError as err:
            raise http_error(err) from None

    def undo(self) -> None:
        """Roll back a refused change; see `undo`."""
        undo(self.session, self.settings, self.principal)

    def act(
        self,
        open_record: Callable[[], Access],
        show: Callable[..., Response],
        action: Callable[[Access], object],
        *,
        field: str,
        done: str,
        values: dict | None,
        target: Callable[[Access], str],
    ) -> Response:
        """Return the redirect to `target(access)` once `action(access)` on the opened record
        is committed with the message `done`; when it breaks a rule, nothing is written and
        `show(access, errors=..., values=..., status_code=...)` shows the record again with the
        message next to `field`."""
        access = open_record()
        try:
            action(access)
            flash(self.request, done)  # saved with the change, in the same commit
            reporting.commit(self.session, self.settings)
        except reporting.ReportingError as err:
            self.undo()
            access = open_record()
            return show(
                access,
                errors={err.field or field: str(err)},
                values=values,
                status_code=err.status_code,
            )
        return redirect(self.request, target(access))

    def attachment(
        self,
        read: Callable[[], tuple[reporting.AttachmentView, bytes]],
        *,
        action: str,
        entity_type: str,
        entity_id: str,
        uid: str,
    ) -> Response:
        """Return an attachment of an opened record as a download; its reading is audited."""
        try:
            view, data = read()
        except reporting.ReportingError as err:
            raise http_error(err) from None
        audit.record(
            self.session,
            action=action,
            actor=self.user,
            entity_type=entity_type,
            entity_id=entity_id,
            after={"attachment": uid},
        )
        self.session.commit()
        return attachment_response(view, data)


def _desk(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> Desk:
    return Desk(request, session, settings, principal)


# A route parameter: the signed-in handler's desk (401 without a session).
DeskDep = Annotated[Desk, Depends(_desk)]
