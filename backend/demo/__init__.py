"""A deterministic synthetic organisation shaped like ISSSTE, and one demo account per role.

The shape follows the OECD review of ISSSTE's public procurement (2013): a strong centre (the
Administration Directorate and its procurement sub-directorates), 35 delegations, 12 regional
hospitals, the National Medical Centre "20 de Noviembre" and four non-medical entities
(SuperISSSTE, TURISSSTE, FOVISSSTE, PENSIONISSSTE), giving about 100 procurement units, plus the
user areas (medical services, pharmacies, maintenance…) that ask them for goods and services.
The people in it are invented: Mexican names, hire dates over 30 years, some near retirement,
some on leave, some gone (with status history, so turnover can be computed), fewer procurement
qualifications in the decentralised units than at the centre (as the review found), and posts
planned above their occupancy in some units (the shortfalls workforce planning should show).
In the same transaction the domains' `demo.people` hooks add what they keep about these people
(the competency framework: eighteen months of ratings and two assessment campaigns, one still
open, so gap reports have something to show); `create_demo_accounts` then runs every domain's
`demo.accounts` hook. The core imports no domain: the hooks are named in the plugins
(`backend.plugins`, docs/demo.md).

Same `employees` and `seed`, same organisation: every random draw comes from one
`random.Random(seed)`, in a fixed order (the ratings from their own stream of the same seed),
and every date is relative to `AS_OF`, never today.

Rows are written with SQLAlchemy Core in batches, not as one ORM object (and one audit entry)
per row, so that 100 000 employees take seconds, not minutes; see `generate`.

The package: `institute` (the units and posts), `staffing` (who sits where, the invented
people), `organisation` (writing them: `generate`), `accounts` (one demo account per role).
"""

from backend.demo.accounts import (
    DEMO_ROLES,
    DemoAccount,
    create_demo_accounts,
    demo_email,
    demo_password,
)
from backend.demo.institute import AS_OF, CDMX, EMAIL_DOMAIN, STATES
from backend.demo.organisation import (
    DEFAULT_EMPLOYEES,
    MAX_EMPLOYEES,
    DemoError,
    DemoPerson,
    DemoSummary,
    generate,
    has_organisation,
)

__all__ = [
    "AS_OF",
    "CDMX",
    "DEFAULT_EMPLOYEES",
    "DEMO_ROLES",
    "EMAIL_DOMAIN",
    "MAX_EMPLOYEES",
    "STATES",
    "DemoAccount",
    "DemoError",
    "DemoPerson",
    "DemoSummary",
    "create_demo_accounts",
    "demo_email",
    "demo_password",
    "generate",
    "has_organisation",
]
