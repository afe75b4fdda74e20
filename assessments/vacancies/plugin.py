"""Merit-based vacancy competitions: what this domain contributes to the application."""

from __future__ import annotations

from backend.plugins import Hook, Plugin

plugin = Plugin(
    name="vacancies",
    package="assessments.vacancies",
    # The bank's fixed paths (hr, bank) never clash with /competitions/{id}: ids are numbers.
    routers=tuple(
        f"assessments.vacancies.routes.{audience}"
        for audience in (
            "public",
            "candidate",
            "hr",
            "bank",
            "outcomes",
            "panel",
            "integrity",
            "fairness",
            "slots",
            "api",
        )
    ),
    models=("assessments.vacancies.models",),
    subscribers=("assessments.vacancies.notices",),
    jobs=("assessments.vacancies.jobs",),
    cli="assessments.vacancies.cli:register",
    catalogue="assessments",
    hooks=(
        # Competitions at every stage, the question bank and the confirmed demo candidate.
        Hook("demo.accounts", "assessments.vacancies.demo:prepare", order=90),
        Hook("privacy.export", "assessments.vacancies.privacy:export"),
        Hook("privacy.retention", "assessments.vacancies.privacy:retention_rules"),
    ),
)
