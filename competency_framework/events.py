"""The events the competency domain publishes (`backend.events`), and those it reacts to.

Other domains subscribe by these names (the HR watch of the reporting channel, say) instead of
reaching into the rating log. Payloads are plain ids and codes, never tables.

The domain subscribes to no other domain's events: training results reach the rating log
through `service.record_training_result`, which the training domain calls.
"""

from __future__ import annotations

__all__ = ["RATED", "RATINGS_VALIDATED"]

# A supervisor, HR or an assessment recorded a validated rating.
# {"employee_id", "competency": code, "level"}; subject: the employee.
RATED = "competency.rated"

# A supervisor (or HR) validated pending self-ratings. {"employee_id", "entries": [ids]};
# subject: the employee.
RATINGS_VALIDATED = "competency.ratings_validated"
