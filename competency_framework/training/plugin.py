"""The training domain (plans, catalogue, enrolments, sessions, needs, mentoring, budgets)."""

from backend.plugins import Hook, Plugin

plugin = Plugin(
    name="training",
    package="competency_framework.training",
    routers=(
        "competency_framework.training.routes.hr",
        "competency_framework.training.routes.catalogue",
        "competency_framework.training.routes.employee",
        "competency_framework.training.routes.supervisor",
        "competency_framework.training.routes.needs",
        "competency_framework.training.routes.api",
    ),
    models=("competency_framework.training.models",),
    subscribers=("competency_framework.training.events", "competency_framework.training.notices"),
    jobs=("competency_framework.training.jobs",),
    cli="competency_framework.training.cli:register",
    catalogue="competency_framework",
    hooks=(
        Hook("demo.after", "competency_framework.training.demo:after_demo", order=50),
        Hook("privacy.export", "competency_framework.training.privacy:export"),
        Hook("privacy.retention", "competency_framework.training.privacy:retention_rules"),
    ),
)
