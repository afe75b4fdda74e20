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
        "whistleblowing.routes.investigator",
        "whistleblowing.routes.protection",
        "whistleblowing.routes.notifications",
    ),
    models=("whistleblowing.models",),
    subscribers=("whistleblowing.events",),
    jobs=("whistleblowing.jobs",),
    cli="whistleblowing.cli:register",
    catalogue="whistleblowing",
    hooks=(
        Hook("demo.accounts", "whistleblowing.demo:prepare", order=10),
        # `merito up` (development): the recovery key, so recovery can be tried at once.
        Hook("up", "whistleblowing.cli:ensure_recovery_for_development"),
    ),
)
