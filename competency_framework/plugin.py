"""The competency framework (framework, ratings, campaigns, gaps, workforce planning).

What this domain contributes to the application; the core reads it (`backend.plugins`).
"""

from __future__ import annotations

from backend.plugins import Hook, Plugin

plugin = Plugin(
    name="competencies",
    package="competency_framework",
    routers=("competency_framework.routes",),
    models=("competency_framework.models",),
    subscribers=("competency_framework.notices",),
    jobs=(),
    cli="competency_framework.cli:register",
    catalogue="competency_framework",
    hooks=(
        # The versioned framework file and the default role profiles, after every migration.
        Hook("reference_data", "competency_framework.loader:load_reference_data", order=10),
        # Eighteen months of ratings and campaigns for the generated people.
        Hook("demo.people", "competency_framework.demo:seed_people", order=50),
        # The demo supervisor and employee inside the open campaign (after the appraisals').
        Hook("demo.accounts", "competency_framework.demo:prepare_accounts", order=60),
        Hook("privacy.export", "competency_framework.privacy:export"),
    ),
)
