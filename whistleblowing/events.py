"""The reporting channel's events: what it publishes and what it listens to.

It publishes none, deliberately: whatever happens in a report or a complaint is confidential,
and an event is delivered to every subscriber in the application.

It listens to the adverse HR decisions other domains publish (`WATCHED_EVENTS`: an appraisal
rating that dropped, a rejection in a competition, refused training, a transfer, a change of
position). Each one is handed to the HR watch (`retaliation.on_hr_decision`), which writes the
same sealed entry for every protection officer whoever the decision is about; only the officer
who opens it learns whether it concerns a protected person (docs/security.md, "HR watch").
"""

from __future__ import annotations

from backend import events
from whistleblowing.service import retaliation

# The events the reporting channel publishes: none (see above).
PUBLISHED: tuple[str, ...] = ()

for _name in retaliation.WATCHED_EVENTS:
    events.subscribe(_name)(retaliation.on_hr_decision)
