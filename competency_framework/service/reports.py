"""Gap analysis: the cached organisation report and the heatmap."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlmodel import Session

from backend import clock, revisions
from backend.i18n import _
from competency_framework import gaps
from competency_framework.models import (
    Competency,
)
from competency_framework.service.frames import (
    ORG_FRAMES_CACHE,
    OrgFrames,
    competency_ids,
    database_of,
    fetch_current_ratings,
    fetch_employees,
    fetch_requirements,
    gap_inputs,
    load_org_frames,
)
from competency_framework.service.framework import CompetencyError, list_competencies

# --- gap analysis: cached organisation report -----------------------------------------------------


def data_key(session: Session) -> tuple:
    """Return a cheap key that changes whenever anything a gap report reads changes.

    Ratings and profiles bump `competency_revision` in their own transaction; every change to
    an employee row advances the `people` data revision (a trigger, backend.revisions).
    Positions, units and profiles are keyed by the `org` revision in `load_org_frames`. Read
    this *before* the data: the data is then at least as new as the key, so a cached copy is
    never older than its key says. Read once per transaction, as the data revisions are (the
    HR start page's two gap panels both ask).
    """
    return revisions.per_transaction(session, ("gap_data_key",), lambda: _read_data_key(session))


_DATA_KEY = text("SELECT ratings, profiles FROM competency_revision WHERE id = 1")


def _read_data_key(session: Session) -> tuple:
    rev = session.connection().execute(_DATA_KEY).one_or_none()
    return (tuple(rev) if rev else (0, 0), revisions.value_of(session, "people"))


@dataclass
class CachedCells:
    key: tuple
    cells: pd.DataFrame
    people_without_profile: int
    computed_at: datetime
    # For refreshing after new ratings only: the inputs and matrices the cells came from.
    inputs: gaps.GapInputs | None = None
    matrices: dict[str, np.ndarray] | None = None


class _GapCache:
    """Per-process cache of the organisation's cell sums and rolled-up reports.

    Each worker keeps its own copy, but validity is always decided by the key read from the
    database, so all workers agree and none serves a report older than the data.
    """

    def __init__(self, reports: int = 64) -> None:
        self.lock = threading.Lock()
        self.cells: CachedCells | None = None
        self.reports: OrderedDict[tuple, Any] = OrderedDict()
        self.max_reports = reports
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Forget everything, the organisation frames included (a cold start)."""
        with self.lock:
            self.cells = None
            self.reports.clear()
        ORG_FRAMES_CACHE.clear()

    def clear_reports(self) -> None:
        """Forget the rolled-up reports only (the cell sums stay)."""
        with self.lock:
            self.reports.clear()

    def get_report(self, key: tuple) -> Any | None:
        with self.lock:
            found = self.reports.get(key)
            if found is not None:
                self.reports.move_to_end(key)
                self.hits += 1
            return found

    def put_report(self, key: tuple, report: Any) -> None:
        with self.lock:
            self.reports[key] = report
            self.reports.move_to_end(key)
            while len(self.reports) > self.max_reports:
                self.reports.popitem(last=False)


GAP_CACHE = _GapCache()


def organisation_cells(session: Session, org: OrgFrames | None = None) -> CachedCells:
    """Return the organisation's per (unit, role, competency) counts, from cache when current.

    The current ratings (the one large read) are carried over from the cached copy whenever it
    exists: only the ratings written since are read. When people, positions or profiles
    changed too, the population and requirements are re-read and the carried ratings laid out
    for it (people new to it have theirs read). Only a cold process reads everything.
    """
    key_data = data_key(session)
    org = org or load_org_frames(session)
    key = (key_data, org.fingerprint)
    cached = GAP_CACHE.cells
    if cached is not None and cached.key == key:
        return cached
    GAP_CACHE.misses += 1
    if (
        cached is not None
        and cached.matrices is not None
        and cached.inputs is not None
        and _same_except_ratings(cached.key, key)
    ):
        delta = fetch_current_ratings(session, above_revision=cached.key[0][0][0])
        matrices = gaps.apply_ratings(cached.inputs, cached.matrices, delta)
        fresh = CachedCells(
            key=key,
            cells=gaps.sums_from_matrices(cached.inputs, matrices),
            people_without_profile=cached.people_without_profile,
            computed_at=clock.now(),
            inputs=cached.inputs,
            matrices=matrices,
        )
    elif (carried := _carry_over(session, org, cached, key)) is not None:
        fresh = carried
    else:
        inputs, employees = gap_inputs(session, org)
        matrices = gaps.person_matrices(inputs)
        fresh = CachedCells(
            key=key,
            cells=gaps.sums_from_matrices(inputs, matrices),
            people_without_profile=int((employees["profile_id"] < 0).sum()),
            computed_at=clock.now(),
            inputs=gaps.GapInputs(
                inputs.employees,
                inputs.requirements,
                inputs.current.iloc[0:0],
                inputs.competency_ids,
            ),
            matrices=matrices,
        )
    with GAP_CACHE.lock:
        GAP_CACHE.cells = fresh
    return fresh


# Above this many people new to the population, one full read beats a long IN list.
_MAX_NEWCOMERS = 5_000


def _carry_over(
    session: Session, org: OrgFrames, cached: CachedCells | None, key: tuple
) -> CachedCells | None:
    """Recompute with the cached copy's ratings, or None when a full read is needed."""
    if cached is None or cached.matrices is None or cached.inputs is None:
        return None
    if database_of(cached.key[1]) != database_of(key[1]):
        return None  # another database's copy: its employee ids are not these people
    old_ratings_revision = cached.key[0][0][0]
    if key[0][0][0] < old_ratings_revision:
        return None  # a different (restored) database: never mix
    ids = competency_ids(session)
    if list(cached.inputs.competency_ids) != ids:
        return None
    employees = fetch_employees(session, org)
    profiled = employees[employees["profile_id"] >= 0].reset_index(drop=True)
    inputs = gaps.GapInputs(
        employees=profiled[["employee_id", "unit_id", "profile_id", "role_code"]],
        requirements=fetch_requirements(session),
        current=cached.inputs.current.iloc[0:0],
        competency_ids=ids,
    )
    carried, known = gaps.carry_ratings(cached.inputs, cached.matrices, inputs)
    newcomers = inputs.employees["employee_id"].to_numpy()[~known].tolist()
    if len(newcomers) > _MAX_NEWCOMERS:
        return None
    ratings = [fetch_current_ratings(session, above_revision=old_ratings_revision)]
    if newcomers:
        ratings.insert(0, fetch_current_ratings(session, employee_ids=newcomers))
    base = gaps.person_matrices(inputs)  # requirements for the new population, nobody rated
    matrices = gaps.apply_ratings(inputs, {**base, **carried}, pd.concat(ratings))
    return CachedCells(
        key=key,
        cells=gaps.sums_from_matrices(inputs, matrices),
        people_without_profile=int((employees["profile_id"] < 0).sum()),
        computed_at=clock.now(),
        inputs=inputs,
        matrices=matrices,
    )


def _same_except_ratings(old: tuple, new: tuple) -> bool:
    """True if two cache keys differ at most by a newer ratings revision."""
    (old_data, old_org), (new_data, new_org) = old, new
    return (
        old_org == new_org
        and old_data[1:] == new_data[1:]
        and old_data[0][1] == new_data[0][1]
        and new_data[0][0] >= old_data[0][0]
    )


@dataclass
class ProfileUse:
    """Which version of which profile a report used (every report states it)."""

    key: str
    title: str
    version: int


@dataclass
class ReportBasis:
    """What a gap report was computed from."""

    profiles_revision: int
    ratings_revision: int
    profiles: list[ProfileUse]
    computed_at: datetime
    people_without_profile: int = 0


def _profile_uses(org: OrgFrames, locale_title: str) -> list[ProfileUse]:
    return [
        ProfileUse(
            key=row.key,
            title=(getattr(row, locale_title) or row.title_es or row.key),
            version=int(row.version),
        )
        for row in org.profiles.sort_values("key").itertuples()
    ]


@dataclass
class HeatCell:
    competency_id: int
    people: float | None
    required_n: float | None
    met_n: float | None
    coverage: float | None
    mean_gap: float | None
    critical_n: float | None
    bench_n: float | None
    spof: float | None
    suppressed: bool
    css: str = ""

    def value(self, metric: str) -> float | None:
        return {
            "mean_gap": self.mean_gap,
            "coverage": self.coverage,
            "critical": self.critical_n,
            "bench": self.bench_n,
        }[metric]


@dataclass
class HeatRow:
    key: str
    label: str
    link: str
    people: float | None
    cells: list[HeatCell]
    total: HeatCell


@dataclass
class HeatmapReport:
    group_by: str
    metric: str
    filters: dict[str, Any]
    competencies: list[Competency]
    rows: list[HeatRow]
    total: HeatRow
    basis: ReportBasis
    details: bool
    suppressed_cells: int = 0


METRICS = ("mean_gap", "coverage", "critical", "bench")


def _none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        if np.isnan(value):
            return None
    except TypeError:
        return None
    return float(value)


def _cell(record: dict, metric: str) -> HeatCell:
    cell = HeatCell(
        competency_id=int(record.get("competency_id", 0)),
        people=_none(record.get("people")),
        required_n=_none(record.get("required_n")),
        met_n=_none(record.get("met_n")),
        coverage=_none(record.get("coverage")),
        mean_gap=_none(record.get("mean_gap")),
        critical_n=_none(record.get("critical_n")),
        bench_n=_none(record.get("bench_n")),
        spof=_none(record.get("spof")),
        suppressed=bool(record.get("suppressed", False)),
    )
    if cell.suppressed:
        cell.css = "heat-suppressed"
    elif metric in ("mean_gap", "coverage"):
        cell.css = gaps.heat_class(metric, cell.value(metric))
    else:
        cell.css = ""
    return cell


def heatmap(
    session: Session,
    *,
    group_by: str = "region",
    metric: str = "mean_gap",
    region: str = "",
    unit_type: str = "",
    role: str = "",
    unit_id: int | None = None,
    details: bool = False,
    locale: str = "es",
) -> HeatmapReport:
    """Return the gap heatmap: one row per group × one column per competency, plus totals.

    Without `details` (HR rights) cells of fewer than five people are suppressed.
    """
    if group_by not in gaps.GROUPINGS:
        raise CompetencyError(_("Unknown grouping."), field="group")
    if metric not in METRICS:
        raise CompetencyError(_("Unknown measure."), field="metric")
    if unit_type not in ("", "central", "decentralised"):
        raise CompetencyError(_("Unknown unit type."), field="unit_type")
    org = load_org_frames(session)
    cached = organisation_cells(session, org)
    report_key = (
        cached.key,
        group_by,
        metric,
        region,
        unit_type,
        role,
        unit_id,
        details,
        locale,
    )
    found = GAP_CACHE.get_report(report_key)
    if found is not None:
        return found
    filters = {
        "regions": [region] if region else None,
        "unit_type": unit_type or None,
        "roles": [role] if role else None,
        "unit_ids": _subtree(org.units, unit_id) if unit_id is not None else None,
    }
    rolled = gaps.rollup(cached.cells, org.units, group_by=group_by, **filters)
    totals = gaps.totals_by_group(rolled)
    overall_by_comp = gaps.rollup(cached.cells, org.units, group_by="organisation", **filters)
    overall = gaps.totals_by_group(overall_by_comp)
    if not details:
        rolled, totals = gaps.suppress(rolled), gaps.suppress(totals)
        overall_by_comp, overall = gaps.suppress(overall_by_comp), gaps.suppress(overall)
    competencies = list_competencies(session)
    labels = _group_labels(org, group_by, locale)
    by_group: dict[Any, dict[int, dict]] = {}
    for record in rolled.to_dict("records"):
        by_group.setdefault(record["group"], {})[int(record["competency_id"])] = record
    total_by_group = {r["group"]: r for r in totals.to_dict("records")}

    def build_row(
        group: Any, cells: dict[int, dict], total: dict, label: str, link: str
    ) -> HeatRow:
        return HeatRow(
            key=str(group),
            label=label,
            link=link,
            people=_none(total.get("people")),
            cells=[
                _cell(cells.get(c.id, {"competency_id": c.id, "suppressed": False}), metric)
                for c in competencies
            ],
            total=_cell(total, metric),
        )

    rows = []
    for group, cells in by_group.items():
        label, link = labels(group, filters)
        rows.append(build_row(group, cells, total_by_group.get(group, {}), label, link))
    rows.sort(key=lambda r: r.label.lower())
    overall_cells = {int(r["competency_id"]): r for r in overall_by_comp.to_dict("records")}
    overall_total = overall.to_dict("records")[0] if len(overall) else {"suppressed": False}
    total_row = build_row("", overall_cells, overall_total, _("All in view"), "")
    # The revisions the cells were computed at (read before their data, `data_key`): a newer
    # value read now could describe data these cells never saw.
    (ratings_revision, profiles_revision), _people = cached.key[0]
    report = HeatmapReport(
        group_by=group_by,
        metric=metric,
        filters={
            "region": region,
            "unit_type": unit_type,
            "role": role,
            "unit_id": unit_id,
        },
        competencies=competencies,
        rows=rows,
        total=total_row,
        basis=ReportBasis(
            profiles_revision=profiles_revision,
            ratings_revision=ratings_revision,
            profiles=_profile_uses(org, f"title_{locale}"),
            computed_at=cached.computed_at,
            people_without_profile=cached.people_without_profile,
        ),
        details=details,
        suppressed_cells=sum(c.suppressed for r in rows for c in r.cells),
    )
    GAP_CACHE.put_report(report_key, report)
    return report


def _subtree(units: pd.DataFrame, unit_id: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for uid, parent in zip(units["unit_id"], units["parent_id"], strict=True):
        if pd.notna(parent):
            children.setdefault(int(parent), []).append(int(uid))
    found, stack = [], [unit_id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def _group_labels(org: OrgFrames, group_by: str, locale: str):
    units = org.units.set_index("unit_id")
    role_titles = {
        row.role_code: (getattr(row, f"title_{locale}") or row.role_code)
        for row in org.profiles[org.profiles["position_id"].isna()].itertuples()
    }

    def label(group: Any, filters: dict) -> tuple[str, str]:
        if group_by == "region":
            name = str(group) or _("(no region)")
            return name, f"/competencies/gaps?group=unit&region={quote(str(group))}"
        if group_by == "unit":
            if group in units.index:
                return str(units.loc[group, "name"]), f"/competencies/gaps/units/{int(group)}"
            return str(group), ""
        if group_by == "unit_type":
            text_label = _("Central") if group == "central" else _("Decentralised")
            return text_label, f"/competencies/gaps?group=unit&unit_type={group}"
        if group_by == "role":
            return role_titles.get(group, str(group) or _("(no role)")), (
                f"/competencies/gaps?group=unit&role={quote(str(group))}"
            )
        return _("Organisation"), ""

    return label
