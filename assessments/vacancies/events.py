"""The events competitions publish (`backend.events.publish`); they subscribe to none.

Payloads carry ids only (`vacancy_id`, `application_id`, `user_id`, `employee_id`), never names
or scores: subscribers look up what they may see.
"""

from __future__ import annotations

__all__ = ["APPOINTED", "REJECTED"]

# A candidate's competition ended without an appointment (published results, an appeal, a
# cancellation): the reporting channel's retaliation checks read it.
REJECTED = "vacancy.candidate_rejected"
# A candidate was appointed (the appointment took effect).
APPOINTED = "vacancy.candidate_appointed"
