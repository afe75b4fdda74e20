"""The competency domain's scheduled jobs (`backend.jobs`): none today.

Nothing in the domain happens by the clock: campaigns close and reminders go out when HR says
so (`service.close_campaign`, `service.remind`), and the gap reports are computed on demand
(cached by revision; `panels.warm_gap_reports` warms them when a worker starts). A job added
here is registered with `@jobs.register("competency.<name>", every=...)` and listed in
`plugin.py` (`jobs=("competency_framework.jobs",)`).
"""

from __future__ import annotations
