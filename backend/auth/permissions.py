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


_EVERYONE = {Permission.view_dashboard, Permission.view_framework, Permission.manage_own_account}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.employee: frozenset(_EVERYONE),
    Role.supervisor: frozenset(_EVERYONE),
    Role.hr_planner: frozenset(_EVERYONE | {Permission.view_org, Permission.edit_org}),
    Role.panel_member: frozenset(_EVERYONE),
    Role.candidate: frozenset(_EVERYONE),
    Role.investigator: frozenset(_EVERYONE),
    Role.protection_officer: frozenset(_EVERYONE),
    Role.admin: frozenset(
        _EVERYONE
        | {Permission.manage_users, Permission.view_org, Permission.edit_org, Permission.view_audit}
    ),
    Role.auditor: frozenset(_EVERYONE | {Permission.view_audit, Permission.view_org}),
}


def permissions_for(roles: set[Role] | frozenset[Role]) -> frozenset[Permission]:
    """Return the union of the permissions of `roles`."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)
