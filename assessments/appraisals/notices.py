"""What appraisals tell employees and supervisors (`backend.notices`).

The kinds are declared when this module is imported (the plugin lists it under `subscribers`,
so it is imported before the first event); the services call the `tell_*` functions at the
moment things happen, inside their transaction. Keys make each notice once per person and
step: a retried request or a second click never tells anyone twice.

- HR's reminders (`service.remind`, mailed by the `appraisal_reminder_mail` job): the step
  waiting for the person, in their language, with the cycle's period;
- objectives to agree: the supervisor proposed them, the employee is told;
- the dialogue record to sign: the supervisor signed it (with the rating), the employee is told
  to read and acknowledge it.
"""

from __future__ import annotations

from sqlmodel import Session, select

from backend import notices
from backend.auth.models import User
from backend.i18n import N_

__all__ = ["OBJECTIVES_TO_AGREE", "RATING_TO_ACKNOWLEDGE", "REMINDER", "tell_employee"]

REMINDER = "appraisal.reminder"
OBJECTIVES_TO_AGREE = "appraisal.objectives_to_agree"
RATING_TO_ACKNOWLEDGE = "appraisal.rating_to_acknowledge"

notices.kind(
    REMINDER,
    subject=N_("Mérito: appraisal cycle %(cycle)s — %(what)s"),
    body=N_(
        "Hello %(name)s,\n\nHR reminds you of a step of the appraisal cycle %(cycle)s (%(start)s "
        "to %(end)s) that is waiting for you:\n\n  %(what)s%(waiting)s"
    ),
    label=N_("Appraisals: HR's reminders"),
)
notices.kind(
    OBJECTIVES_TO_AGREE,
    subject=N_("Your objectives for %(cycle)s are ready to agree"),
    body=N_(
        "%(supervisor)s proposed your objectives for the appraisal cycle %(cycle)s. Read them "
        "and agree them, or talk them over with your supervisor."
    ),
    label=N_("Appraisals: objectives to agree"),
)
notices.kind(
    RATING_TO_ACKNOWLEDGE,
    subject=N_("Your appraisal record for %(cycle)s is ready to sign"),
    body=N_(
        "%(supervisor)s signed the record of your appraisal dialogue for the cycle %(cycle)s, "
        "with your rating. Read it and sign it to acknowledge it; you may add your comments."
    ),
    label=N_("Appraisals: rating to acknowledge"),
)


def tell_employee(
    session: Session,
    *,
    employee_id: int,
    kind: str,
    key: str,
    params: dict,
    link: str,
) -> int:
    """Tell the person with `employee_id` (through their active account, if any)."""
    user_ids = session.exec(select(User.id).where(User.employee_id == employee_id)).all()
    if not user_ids:
        return 0
    return notices.tell(session, to=user_ids, kind=kind, key=key, params=params, link=link)
