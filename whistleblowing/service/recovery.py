"""Recovery: restoring holders' access to cases with the recovery identity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from backend import audit
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.i18n import _
from whistleblowing.models import (
    HolderKey,
    KeyKind,
    Report,
)
from whistleblowing.service.common import HOLDER_ROLES, CaseAccess, ReportingError
from whistleblowing.service.inbox import _unwrap, _wrap_of, barred_from_case
from whistleblowing.service.keys import unlock_recovery
from whistleblowing.service.sealing import _add_wrap

# --- recovery ---------------------------------------------------------------------------------


@dataclass
class RestoreSummary:
    reports: int = 0
    identities: int = 0
    already: int = 0
    # Reports the person may not hold (excluded, named, conflicted, interest touched): not
    # restored to them, and not said which or why.
    withheld: int = 0


def restore_access(
    session: Session,
    *,
    passphrase: str,
    to_user: User,
    references: Sequence[str] = (),
    include_identities: bool = False,
) -> RestoreSummary:
    """Re-wrap reports' keys from the recovery identity to `to_user` (audited per report).

    For when every holder lost their password. `to_user` must be an active investigator (or,
    for identities, a protection officer) who has signed in once, so they have a key pair.
    Reports `to_user` may not hold (`barred_from_case`) are skipped and only counted.
    """
    recovery_private = unlock_recovery(session, passphrase=passphrase)
    roles = auth_service.roles_of(session, to_user)
    if not to_user.is_active or not roles & HOLDER_ROLES:
        raise ReportingError(
            _("Access can only be restored to an investigator or protection officer.")
        )
    key = session.get(HolderKey, to_user.id)
    if key is None:
        raise ReportingError(
            _(
                "%(name)s must sign in once before access can be restored to them.",
                name=to_user.full_name,
            )
        )
    statement = select(Report).order_by(col(Report.id))
    if references:
        statement = statement.where(col(Report.reference).in_([r.upper() for r in references]))
    summary = RestoreSummary()
    kinds = [KeyKind.report] if Role.investigator in roles else []
    if include_identities and Role.protection_officer in roles:
        kinds.append(KeyKind.identity)
    if not kinds:
        raise ReportingError(_("Identities can only be restored to a protection officer."))
    for report in session.exec(statement).all():
        report_wrap = _wrap_of(session, report, user_id=None, key_kind=KeyKind.report)
        if report_wrap is not None:
            # The same rules as a grant, on the decrypted submission.
            access = CaseAccess(report, _unwrap(report, report_wrap, recovery_private))
            if to_user.id in barred_from_case(session, access, people=[to_user]).everyone:
                summary.withheld += 1
                continue
        for kind in kinds:
            recovery_wrap = _wrap_of(session, report, user_id=None, key_kind=kind)
            if recovery_wrap is None:
                continue
            if _wrap_of(session, report, user_id=to_user.id, key_kind=kind) is not None:
                summary.already += 1
                continue
            private = _unwrap(report, recovery_wrap, recovery_private)
            _add_wrap(
                session,
                report,
                key_kind=kind,
                private=private,
                user_id=to_user.id,
                public_key=key.public_key,
            )
            if kind is KeyKind.report:
                summary.reports += 1
            else:
                summary.identities += 1
            audit.record(
                session,
                action="report.access_restored",
                actor="recovery",
                entity_type="report",
                entity_id=report.reference,
                after={"user_id": to_user.id, "email": to_user.email, "key": kind.value},
            )
    return summary
