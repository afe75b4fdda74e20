"""Who sits where: the posts filled, the reporting lines, and the invented people in them.

Every draw comes from the one `random.Random` the caller passes, in a fixed order.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate

from backend.demo.institute import (
    AREA_DEGREES,
    AS_OF,
    EMAIL_DOMAIN,
    GENERAL_DEGREES,
    LEFT_SHARE,
    PROCUREMENT_CERTS,
    PROCUREMENT_QUALIFIED,
    PROFESSIONAL_ROLES,
    ROLE_QUALIFICATION_FACTOR,
    PositionPlan,
    UnitPlan,
    plan_positions,
    plan_units,
)
from backend.demo_names import FEMALE_NAMES, MALE_NAMES, SURNAMES
from backend.org.models import (
    EmployeeStatus,
    JobFamily,
    UnitKind,
)


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Return whole shares of `total` proportional to `weights` (largest remainder)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    quotas = [w * total / whole for w in weights]
    shares = [int(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (shares[i] - quotas[i], i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


class _Picker:
    """Weighted choice with precomputed cumulative weights (fast for 100 000 draws)."""

    def __init__(self, items: list[tuple[str, float]]) -> None:
        self.values = [v for v, _w in items]
        self.cumulative = list(accumulate(w for _v, w in items))

    def __call__(self, rng: random.Random) -> str:
        # What rng.choices does for one draw, without its per-call setup.
        return self.values[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


@lru_cache(maxsize=4096)
def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _years(value: float) -> timedelta:
    return timedelta(days=int(value * 365.25))


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


@dataclass
class Slot:
    """One employee to create: which post, and whether they head it, hold it, or have left."""

    position: PositionPlan
    kind: str  # "head" | "staff" | "left"
    supervisor: int | None = None  # index of the supervising slot
    index: int = 0


@dataclass
class StaffingPlan:
    units: list[UnitPlan]
    positions: list[PositionPlan]
    slots: list[Slot]
    unit_traits: dict[str, tuple[float, bool]] = field(default_factory=dict)


def plan_staffing(rng: random.Random, employees: int) -> StaffingPlan:
    """Decide who sits where, who supervises whom and each post's planned headcount."""
    units = plan_units()
    positions = plan_positions(units)
    by_code = {u.code: u for u in units}
    # Per unit: turnover propensity and whether its posts are planned above occupancy. Local
    # units lose people faster and are more often short-staffed, as the review reports.
    traits: dict[str, tuple[float, bool]] = {}
    for unit in units:
        if unit.is_central:
            turnover, short = 0.6, rng.random() < 0.15
        else:
            turnover = 2.5 if rng.random() < 0.15 else 1.0
            short = rng.random() < (0.45 if unit.kind == UnitKind.procurement_unit else 0.2)
        traits[unit.code] = (turnover, short)

    heads = [p for p in positions if p.is_head]
    priority = sorted(
        (p for p in heads if p.unit.priority_head), key=lambda p: p.unit.rank
    )  # stable: institute order within a rank
    area_heads = [p for p in heads if not p.unit.priority_head]
    staff_posts = [p for p in positions if not p.is_head]

    left = int(employees * LEFT_SHARE)
    present = employees - left
    filled_heads = priority[:present]
    remaining = present - len(filled_heads)
    # User-area heads only once there are enough people to staff the areas under them.
    if remaining >= 2 * len(area_heads):
        filled_heads += area_heads
        remaining -= len(area_heads)
    filled_heads.sort(key=lambda p: p.unit.rank)
    for post in filled_heads:
        post.occupied = 1
    for post, share in zip(
        staff_posts, _apportion(remaining, [p.weight for p in staff_posts]), strict=True
    ):
        post.occupied = share

    # Former holders of posts that are still staffed: where turnover is higher, more have gone.
    leavers: list[PositionPlan] = []
    if left:
        picker_weights = [
            p.weight * traits[p.unit.code][0] if p.occupied else 0.0 for p in staff_posts
        ]
        if sum(picker_weights) > 0:
            leavers = rng.choices(staff_posts, weights=picker_weights, k=left)
        elif filled_heads:  # so small that no staff post is filled: former heads, then
            leavers = rng.choices(filled_heads, k=left)

    slots: list[Slot] = [Slot(p, "head") for p in filled_heads]
    for post in staff_posts:
        slots.extend(Slot(post, "staff") for _ in range(post.occupied))
    slots.extend(Slot(p, "left") for p in leavers)
    for i, slot in enumerate(slots):
        slot.index = i

    # Reporting lines: staff report to their unit's head; a head to the head of the unit named
    # by `reports_to`. A vacant head's duties pass up the same chain. Ranks strictly decrease
    # along it, so there can be no loop.
    head_of = {s.position.unit.code: s.index for s in slots if s.kind == "head"}

    def head_above(code: str | None) -> int | None:
        while code is not None and code not in head_of:
            code = by_code[code].reports_to
        return head_of.get(code) if code is not None else None

    for slot in slots:
        unit = slot.position.unit
        if slot.kind == "head":
            slot.supervisor = head_above(unit.reports_to)
        else:
            slot.supervisor = head_of.get(unit.code, head_above(unit.reports_to))

    for post in positions:
        if post.is_head:
            post.planned = 1
            continue
        short = traits[post.unit.code][1]
        post.planned = post.occupied
        if short:
            # 15-45 % more planned than present, rounded at random so small posts keep the
            # same expected shortfall instead of always gaining a whole person.
            post.planned += int(post.occupied * rng.uniform(0.15, 0.45) + rng.random())
    # A staff post with no one in it, nobody planned and no former holder does not exist yet:
    # small demos would otherwise carry hundreds of empty posts.
    former = {id(s.position) for s in slots if s.kind == "left"}
    positions = [p for p in positions if p.is_head or p.planned or id(p) in former]
    return StaffingPlan(units, positions, slots, traits)


# --- people -----------------------------------------------------------------------------------


@dataclass
class Person:
    row: dict
    qualifications: list[str]
    history: list[tuple[str, date]]


class People:
    """Makes invented employees, one at a time, from the shared random stream."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.female = _Picker([(n, w) for n, w in FEMALE_NAMES])
        self.male = _Picker([(n, w) for n, w in MALE_NAMES])
        self.surname = _Picker([(n, w) for n, w in SURNAMES])
        self.certs = _Picker([(c, w) for c, w in PROCUREMENT_CERTS])
        self.degrees = _Picker([(c, w) for c, w in GENERAL_DEGREES])
        self.area_degrees = {a: _Picker(list(d)) for a, d in AREA_DEGREES.items()}
        # Eight-digit employee numbers, unique, drawn once so they differ from seed to seed.
        self.numbers = rng.sample(range(10_000_000, 100_000_000), count)
        self.emails: dict[str, int] = {}
        self.updated_at = at_noon(AS_OF)

    def make(self, slot: Slot) -> Person:
        rng = self.rng
        post = slot.position
        female = rng.random() < 0.56
        first = (self.female if female else self.male)(rng)
        surname1, surname2 = self.surname(rng), self.surname(rng)
        local = f"{_ascii(first.split()[0])}.{_ascii(surname1)}{_ascii(surname2)[:1]}"
        seen = self.emails.get(local, 0) + 1
        self.emails[local] = seen
        email = f"{local}{seen if seen > 1 else ''}@{EMAIL_DOMAIN}"

        # Ages and tenures: heads are older with long service; staff span 21 to retirement,
        # with a cohort close to it (the ageing the workforce plan must see coming).
        if slot.kind == "head":
            age = rng.uniform(36, 64)
            tenure = max(2.0, min(30.0, age - 24) * rng.betavariate(3, 2))
        else:
            age = rng.uniform(58, 67) if rng.random() < 0.07 else rng.triangular(21.5, 62, 37)
            tenure = min(30.0, age - 21) * rng.betavariate(1.4, 1.8)
        if slot.kind == "left":
            # Left within the last three years, usually after a shorter stay.
            departure = AS_OF - timedelta(days=rng.randint(1, 3 * 365))
            tenure = min(tenure, rng.uniform(0.3, 12))
            hire = departure - _years(tenure)
            birth = departure - _years(age)
        else:
            departure = None
            hire = AS_OF - _years(tenure)
            birth = AS_OF - _years(age)
        if (hire - birth).days < 18 * 365:  # at least eighteen at hire
            birth = hire - _years(18 + rng.random() * 4)

        history: list[tuple[str, date]] = [(EmployeeStatus.active, hire)]
        status = EmployeeStatus.active
        served = ((departure or AS_OF) - hire).days
        if slot.kind == "left":
            if served > 200 and rng.random() < 0.25:
                history.append((EmployeeStatus.on_leave, departure - timedelta(days=120)))
            history.append((EmployeeStatus.left, departure))
            status = EmployeeStatus.left
        elif served > 30 and rng.random() < self._leave_chance(slot):
            status = EmployeeStatus.on_leave
            history.append((status, AS_OF - timedelta(days=rng.randint(1, min(400, served - 1)))))
        elif served > 800 and rng.random() < 0.05:  # an earlier leave, now back at work
            start = hire + timedelta(days=rng.randint(30, served - 400))
            history.append((EmployeeStatus.on_leave, start))
            history.append((EmployeeStatus.active, start + timedelta(days=rng.randint(30, 360))))

        return Person(
            row={
                "number": str(self.numbers[slot.index]),
                "first_name": first,
                "last_name": f"{surname1} {surname2}",
                "email": email,
                "unit_id": 0,  # filled in with database ids by the writer
                "position_id": 0,
                "supervisor_id": None,
                "hire_date": hire,
                "birth_date": birth,
                "status": status,
                "updated_at": self.updated_at,
            },
            qualifications=self._qualifications(post),
            history=history,
        )

    @staticmethod
    def _leave_chance(slot: Slot) -> float:
        if slot.kind != "head":
            return 0.045
        # Directors and sub-directors are kept at their desks: the demo's chain of command
        # should be complete at the top.
        return 0.02 if slot.position.unit.rank >= 3 else 0.0

    def _qualifications(self, post: PositionPlan) -> list[str]:
        rng = self.rng
        held: list[str] = []
        if post.job_family == JobFamily.procurement:
            level = post.unit.procurement or ("central" if post.unit.is_central else "local")
            chance = PROCUREMENT_QUALIFIED[level] * ROLE_QUALIFICATION_FACTOR.get(post.role_code, 1)
            if rng.random() < chance:
                held.append(self.certs(rng))
                if rng.random() < 0.15:
                    held.append(self.certs(rng))
            professional = post.role_code in PROFESSIONAL_ROLES
            if rng.random() < (0.88 if professional else 0.4):
                held.append(self.degrees(rng))
            if post.role_code == "head_of_unit" and rng.random() < 0.3:
                held.append("MAE-AP")
        elif post.job_family == JobFamily.user_area:
            picker = self.area_degrees.get(post.unit.area)
            if rng.random() < 0.7:
                held.append(picker(rng) if picker else self.degrees(rng))
            if rng.random() < 0.02:  # the rare user-area person trained in procurement
                held.append(self.certs(rng))
        else:
            held.append(self.degrees(rng))
            if rng.random() < 0.5:
                held.append("MAE-AP")
        return list(dict.fromkeys(held))  # once each, order kept
