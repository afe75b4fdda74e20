"""The reporting channel: what it contributes to Mérito (see `backend.plugins`)."""

from backend.plugins import Hook, Plugin

plugin = Plugin(
    name="whistleblowing",
    package="whistleblowing",
    # /cases/{reference} comes last: the fixed /cases/… pages must match first.
    routers=(
        "whistleblowing.routes.public",
        "whistleblowing.routes.intake",
        "whistleblowing.routes.handlers",
        "whistleblowing.routes.admin",
        "whistleblowing.routes.authorities",
        "whistleblowing.routes.triage",
        # /cases/shared and /cases/referral-authorities: before /cases/{reference}.
        "whistleblowing.routes.casefile",
        "whistleblowing.routes.investigator",
        "whistleblowing.routes.protection",
    ),
    models=("whistleblowing.models",),
    subscribers=("whistleblowing.events", "whistleblowing.notices"),
    jobs=("whistleblowing.jobs",),
    cli="whistleblowing.cli:register",
    catalogue="whistleblowing",
    hooks=(
        Hook("demo.accounts", "whistleblowing.demo:prepare", order=10),
        Hook("demo.accounts", "whistleblowing.demo:external_authorities", order=11),
        Hook("demo.accounts", "whistleblowing.demo:referral_authority", order=14),
        Hook("demo.accounts", "whistleblowing.demo:questionnaires", order=12),
        # `merito up` (development): the recovery key, so recovery can be tried at once.
        Hook("up", "whistleblowing.cli:ensure_recovery_for_development"),
        # Then the demo's cases (triage, a priority set by hand, a legal hold): they need it.
        Hook("up", "whistleblowing.demo:triage_cases", order=60),
        # A constant statement, never a link between a person and a report.
        Hook("privacy.export", "whistleblowing.privacy:export"),
    ),
)
