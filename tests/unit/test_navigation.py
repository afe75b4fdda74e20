"""The main navigation: at most seven top-level entries for anyone, grouped by task, and every
page a person may open from it still there."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import pytest

from backend.app import router_modules
from backend.auth.permissions import Role, permissions_for
from backend.web import NAV, NAV_GROUPS, nav_for, nav_menu

for _module in router_modules():  # each registers its entries when imported
    importlib.import_module(_module)

MAX_TOP_LEVEL = 7


@dataclass
class Someone:
    roles: frozenset[Role]
    permissions: frozenset = field(init=False)

    def __post_init__(self) -> None:
        self.permissions = permissions_for(self.roles)

    def can(self, permission) -> bool:
        return permission in self.permissions


# Every role alone, the demo's HR planner (who also leads a team and sits on panels), and
# everyone at once (the worst case).
PEOPLE = {
    **{role.value: Someone(frozenset({role})) for role in Role},
    "hr_planner+supervisor+panel_member": Someone(
        frozenset({Role.hr_planner, Role.supervisor, Role.panel_member})
    ),
    "every role": Someone(frozenset(Role)),
}


def test_every_registered_page_belongs_to_a_group():
    ungrouped = [item.href for item in NAV if not any(g.holds(item.href) for g in NAV_GROUPS)]
    assert ungrouped == []
    assert len(NAV_GROUPS) <= MAX_TOP_LEVEL


@pytest.mark.parametrize("who", list(PEOPLE))
def test_nobody_sees_more_than_seven_top_level_entries(who):
    menu = nav_menu(PEOPLE[who], "/")
    assert 1 <= len(menu) <= MAX_TOP_LEVEL


@pytest.mark.parametrize("who", list(PEOPLE))
def test_every_page_a_person_may_open_stays_in_the_menu_once(who):
    person = PEOPLE[who]
    shown = [item.href for entry in nav_menu(person, "/") for item in entry.items]
    assert sorted(shown) == sorted(item.href for item in nav_for(person))


def test_groups_keep_the_declared_order_and_a_lone_page_is_a_plain_link():
    menu = nav_menu(PEOPLE["hr_planner+supervisor+panel_member"], "/")
    labels = [entry.label for entry in menu]
    assert labels == [g.label for g in NAV_GROUPS if g.label in labels]
    assert labels[:5] == ["Competencies", "Training", "Performance", "Recruitment", "Organisation"]
    lone = [entry for entry in menu if len(entry.items) == 1]
    assert [entry.items[0].href for entry in lone] == ["/retaliation/file"]
    assert all(not entry.is_menu for entry in lone)
    assert all(entry.is_menu for entry in menu if len(entry.items) > 1)


def test_the_current_page_is_the_longest_matching_entry():
    planner = PEOPLE["hr_planner"]
    (performance,) = [e for e in nav_menu(planner, "/appraisals/cycles/3") if e.current]
    assert performance.label == "Performance" and performance.current == "/appraisals/cycles"
    (own,) = [e for e in nav_menu(planner, "/appraisals/12") if e.current]
    assert own.current == "/appraisals"
    assert not [e for e in nav_menu(planner, "/account") if e.current]
