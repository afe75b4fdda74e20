"""The training domain's events: the names it publishes and what it does on others'.

Published (in the transaction of the change, `backend.events.publish`; the names are defined
with the rules in `service.rules` and re-exported here):
- `REQUEST_REFUSED`: a supervisor or HR refused training (the reporting channel's HR watch);
- `ENROLMENT_CANCELLED`: someone else cancelled a person's enrolment (watched too);
- `WITHDRAWN_WITHOUT_REASON`: the person took an approved activity out (their choice);
- `TRAINING_COMPLETED`: an activity was passed (appraisals records dialogue training).

Subscribed (the handlers are in `service.reactions`):
- `appraisal.development_action_agreed` (appraisals): a proposed plan item;
- `employee.created` (organisation): the induction programme for a new hire.
"""

from __future__ import annotations

from backend.events import subscribe
from competency_framework.training import service
from competency_framework.training.service import (
    ENROLMENT_CANCELLED,
    PUBLISHED,
    REQUEST_REFUSED,
    TRAINING_COMPLETED,
    WITHDRAWN_WITHOUT_REASON,
)

__all__ = [
    "ENROLMENT_CANCELLED",
    "PUBLISHED",
    "REQUEST_REFUSED",
    "TRAINING_COMPLETED",
    "WITHDRAWN_WITHOUT_REASON",
]

# Published by other domains (by name: a domain reaches another only through its service).
DEVELOPMENT_ACTION_AGREED = "appraisal.development_action_agreed"
EMPLOYEE_CREATED = "employee.created"

subscribe(DEVELOPMENT_ACTION_AGREED)(service.on_development_action_agreed)
subscribe(EMPLOYEE_CREATED)(service.on_employee_created)
