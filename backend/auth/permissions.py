"""Roles, permissions and which role holds which permission.

Every route declares one permission (or that it is public); the route × role matrix test walks
the application and checks each declaration against this table.
"""

from __future__ import annotations

from enum import StrEnum

from backend.i18n import N_


class Role(StrEnum):
    employee = "employee"
    supervisor = "supervisor"
    hr_planner = "hr_planner"
    panel_member = "panel_member"
    candidate = "candidate"
    investigator = "investigator"
    protection_officer = "protection_officer"
    admin = "admin"
    auditor = "auditor"
    # A supplier's representative taking open training activities (external learner).
    supplier = "supplier"


ROLE_LABELS: dict[Role, str] = {
    Role.employee: N_("Employee"),
    Role.supervisor: N_("Supervisor"),
    Role.hr_planner: N_("HR planner"),
    Role.panel_member: N_("Panel member"),
    Role.candidate: N_("Candidate"),
    Role.investigator: N_("Investigator"),
    Role.protection_officer: N_("Protection officer"),
    Role.admin: N_("Administrator"),
    Role.auditor: N_("Auditor"),
    Role.supplier: N_("Supplier representative"),
}

# Roles an administrator can give; `supervisor` is derived from reporting lines instead.
ASSIGNABLE_ROLES = [r for r in Role if r is not Role.supervisor]


class Permission(StrEnum):
    # Any signed-in person
    view_dashboard = "view_dashboard"
    view_framework = "view_framework"
    manage_own_account = "manage_own_account"
    # Organisation
    view_org = "view_org"
    edit_org = "edit_org"
    # Administration
    manage_users = "manage_users"
    view_audit = "view_audit"
    # Competencies and workforce planning
    rate_own_competencies = "rate_own_competencies"
    validate_ratings = "validate_ratings"
    view_gap_aggregates = "view_gap_aggregates"  # small cells suppressed
    view_gap_details = "view_gap_details"  # per person, no suppression (HR)
    manage_role_profiles = "manage_role_profiles"
    manage_campaigns = "manage_campaigns"
    plan_workforce = "plan_workforce"
    # Training
    view_training_catalogue = "view_training_catalogue"
    manage_training_catalogue = "manage_training_catalogue"
    manage_own_training = "manage_own_training"
    approve_training = "approve_training"
    view_training_needs = "view_training_needs"
    # Vacancies
    manage_vacancies = "manage_vacancies"
    approve_vacancies = "approve_vacancies"
    apply_to_vacancies = "apply_to_vacancies"
    score_candidates = "score_candidates"
    view_integrity = "view_integrity"
    # Appraisals
    take_part_in_appraisals = "take_part_in_appraisals"
    manage_appraisal_cycles = "manage_appraisal_cycles"
    calibrate_appraisals = "calibrate_appraisals"
    # Reporting channel
    handle_reports = "handle_reports"
    handle_retaliation = "handle_retaliation"
    # Anyone signed in may complain of retaliation as an identified employee.
    file_retaliation_complaint = "file_retaliation_complaint"
    manage_report_channels = "manage_report_channels"
    # Decide investigators' requests to learn a reporter's identity (protection officers).
    release_reporter_identity = "release_reporter_identity"
    view_report_statistics = "view_report_statistics"
    # Privacy (LGPDPPSO): answer people's ARCO requests (HR); publish privacy notices and run
    # the retention rules (administrators).
    answer_privacy_requests = "answer_privacy_requests"
    manage_privacy = "manage_privacy"


_EVERYONE = {
    Permission.view_dashboard,
    Permission.view_framework,
    Permission.manage_own_account,
    Permission.file_retaliation_complaint,
}
_STAFF = _EVERYONE | {
    Permission.rate_own_competencies,
    Permission.view_training_catalogue,
    Permission.manage_own_training,
    Permission.apply_to_vacancies,
    Permission.take_part_in_appraisals,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.employee: frozenset(_STAFF),
    Role.supervisor: frozenset(
        _STAFF
        | {Permission.validate_ratings, Permission.view_gap_aggregates, Permission.approve_training}
    ),
    Role.hr_planner: frozenset(
        _STAFF
        | {
            Permission.view_org,
            Permission.edit_org,
            Permission.validate_ratings,
            Permission.view_gap_aggregates,
            Permission.view_gap_details,
            Permission.manage_role_profiles,
            Permission.manage_campaigns,
            Permission.plan_workforce,
            Permission.manage_training_catalogue,
            Permission.approve_training,
            Permission.view_training_needs,
            Permission.manage_vacancies,
            Permission.approve_vacancies,
            Permission.view_integrity,
            Permission.manage_appraisal_cycles,
            Permission.calibrate_appraisals,
            Permission.answer_privacy_requests,
        }
    ),
    Role.panel_member: frozenset(_EVERYONE | {Permission.score_candidates}),
    Role.candidate: frozenset(_EVERYONE | {Permission.apply_to_vacancies}),
    Role.investigator: frozenset(
        _EVERYONE | {Permission.handle_reports, Permission.view_report_statistics}
    ),
    Role.protection_officer: frozenset(
        _EVERYONE
        | {
            Permission.handle_retaliation,
            Permission.view_report_statistics,
            Permission.release_reporter_identity,
        }
    ),
    Role.admin: frozenset(
        _EVERYONE
        | {
            Permission.manage_users,
            Permission.view_org,
            Permission.edit_org,
            Permission.view_audit,
            Permission.manage_report_channels,
            Permission.manage_privacy,
        }
    ),
    Role.auditor: frozenset(
        _EVERYONE
        | {
            Permission.view_audit,
            Permission.view_org,
            Permission.view_gap_aggregates,
            Permission.view_integrity,
            Permission.view_report_statistics,
        }
    ),
    # Only their own enrolments (the training routes check that object by object).
    Role.supplier: frozenset(_EVERYONE | {Permission.manage_own_training}),
}


def permissions_for(roles: set[Role] | frozenset[Role]) -> frozenset[Permission]:
    """Return the union of the permissions of `roles`."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)
