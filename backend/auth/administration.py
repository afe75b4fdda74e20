"""What an administrator does with accounts that the person's own sign-in does not."""

from __future__ import annotations

from sqlmodel import Session, col, or_, select

from backend import audit
from backend.auth.models import User, UserRole
from backend.auth.permissions import Role
from backend.auth.service import AuthError, create_user
from backend.config import Settings
from backend.i18n import _
from backend.org.models import Employee


def create_account(
    session: Session,
    settings: Settings,
    *,
    email: str,
    full_name: str,
    employee_number: str,
    roles: list[Role],
    password: str,
    actor: User,
) -> User:
    """Create the account an administrator asked for (the caller commits).

    The account may be linked to an employee (by number) who has none yet. The administrator
    knows the password: the person must replace it before anything else. Every problem with
    the name and the employee is raised at once (`AuthError.errors`).
    """
    problems: dict[str, str] = {}
    if not full_name:
        problems["full_name"] = _("Enter the person's name.")
    employee_id = None
    if employee_number:
        employee = session.exec(select(Employee).where(Employee.number == employee_number)).first()
        if employee is None:
            problems["employee_number"] = _("No employee has this number.")
        elif session.exec(select(User).where(User.employee_id == employee.id)).first():
            problems["employee_number"] = _("This employee already has an account.")
        else:
            employee_id = employee.id
    if problems:
        field, message = next(iter(problems.items()))
        raise AuthError(message, field=field, status_code=422, errors=problems)
    try:
        return create_user(
            session,
            settings,
            email=email,
            full_name=full_name,
            password=password,
            roles=roles,
            employee_id=employee_id,
            actor=actor,
            must_change_password=True,
        )
    except AuthError as err:
        # A taken address (409 elsewhere) is, on this form, one more thing to correct.
        raise AuthError(str(err), field=err.field or "email", status_code=422) from None


def accounts(*, q: str = "", role: str = ""):
    """Return the statement of the accounts by name, narrowed by a text and a granted role."""
    statement = select(User).order_by(col(User.full_name))
    if q:
        like = f"%{q.strip().lower()}%"
        statement = statement.where(
            or_(col(User.email).ilike(like), col(User.full_name).ilike(like))
        )
    if role in Role.__members__:
        statement = statement.where(
            col(User.id).in_(select(UserRole.user_id).where(UserRole.role == role))
        )
    return statement


def granted_roles(session: Session, user_ids: list[int]) -> dict[int, list[str]]:
    """Return {user id: the roles granted to them} (derived roles, like supervisor, aside)."""
    table: dict[int, list[str]] = {uid: [] for uid in user_ids}
    if user_ids:
        for row in session.exec(select(UserRole).where(col(UserRole.user_id).in_(user_ids))):
            table[row.user_id].append(row.role)
    return table


def account_history(session: Session, user: User, *, limit: int = 20) -> list[audit.AuditEntry]:
    """Return the newest audit entries about the account, newest first."""
    statement = audit.entries(entity_type="user", entity_id=str(user.id)).limit(limit)
    return list(session.exec(statement).all())
