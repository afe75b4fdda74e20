"""The competitions' scheduled jobs: none.

Every step of a competition is taken by a person (HR opens and closes the test, locks the sift,
publishes the results; candidates apply and appeal), and every time rule is checked when the
step is taken, against `backend.clock`: a window that has closed refuses the step, and the pages
say what is waiting and until when (`service.allowed_steps`). Nothing changes by itself at a
deadline, so there is nothing to schedule. `merito vacancies list` shows the deadlines.
"""

from __future__ import annotations
