"""Training plans and the training catalogue (issue #7).

Importing the package registers its event handlers and nightly job (flows.py), so they are
active wherever training is used: the app, the CLI and the tests.
"""

from competency_framework.training import flows  # noqa: F401 - registers handlers
