"""What the organisation announces: events other domains may subscribe to.

The reporting channel's HR watch does: a protected person who is moved or whose status changes
is a possible sign of retaliation. The organisation subscribes to nothing.
"""

from __future__ import annotations

__all__ = ["EMPLOYEE_MOVED", "EMPLOYEE_STATUS_CHANGED", "ORG_ROLE_CHANGED"]

EMPLOYEE_STATUS_CHANGED = "employee.status_changed"
EMPLOYEE_MOVED = "employee.moved"
ORG_ROLE_CHANGED = "org.role_changed"
