"""The appraisals domain: appraisal dialogues, objectives and calibration."""

from __future__ import annotations

from backend.plugins import Hook, Plugin

plugin = Plugin(
    name="appraisals",
    package="assessments.appraisals",
    routers=(
        "assessments.appraisals.routes.plan",
        "assessments.appraisals.routes.supervisor",
        "assessments.appraisals.routes.hr",
        "assessments.appraisals.routes.api",
        "assessments.appraisals.routes.feedback",
        # Last: its `/{appraisal_id}` page follows the fixed addresses above.
        "assessments.appraisals.routes.employee",
    ),
    models=("assessments.appraisals.models",),
    subscribers=("assessments.appraisals.events", "assessments.appraisals.notices"),
    jobs=("assessments.appraisals.jobs",),
    cli="assessments.appraisals.cli:register",
    catalogue="assessments",
    hooks=(
        # After the reporting channel's accounts (order 10): an open cycle with plan priorities
        # and trained supervisors, the demo supervisor and employee inside it.
        Hook("demo.accounts", "assessments.appraisals.demo:prepare", order=20),
        Hook("privacy.export", "assessments.appraisals.privacy:export"),
        Hook("privacy.retention", "assessments.appraisals.privacy:retention_rules"),
    ),
)
