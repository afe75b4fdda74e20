"""The events competitions publish (`backend.events.publish`); they subscribe to none.

Payloads carry ids only (`vacancy_id`, `application_id`, `user_id`, `employee_id`), never names
or scores: subscribers look up what they may see.
"""

from __future__ import annotations

__all__ = ["APPLICATION_RECEIVED", "APPOINTED", "REJECTED", "STATUS_CHANGED"]

# A candidate's competition ended without an appointment (published results, an appeal, a
# cancellation): the reporting channel's retaliation checks read it.
REJECTED = "vacancy.candidate_rejected"
# A candidate was appointed (the appointment took effect).
APPOINTED = "vacancy.candidate_appointed"
# A competition moved to another stage (payload: vacancy_id, status, before): its notices to
# candidates and panel members (assessments/vacancies/notices.py) follow from it.
STATUS_CHANGED = "vacancy.status_changed"
# A candidate submitted a new application (payload: vacancy_id, application_id).
APPLICATION_RECEIVED = "vacancy.application_received"
