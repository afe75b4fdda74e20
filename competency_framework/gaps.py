"""Gap analysis in pandas: no database, no HTTP, so it is easy to test and to benchmark.

Inputs are plain frames (see the docstrings); `service.py` builds them from the database.

Definitions (docs/competencies.md explains them for users):
- A *requirement* is a (person, competency) pair whose role profile asks for level ≥ 1.
- gap = max(0, required − current); `current` is the newest validated level, 0 if never rated.
- coverage = share of requirements met (current ≥ required).
- mean gap = sum of gaps / number of requirements.
- critical gap: required − current ≥ 2.
- bench strength: people at Practitioner (3) or above, whatever their requirement.
- single point of failure: a unit × competency where someone holds it as *essential* and at
  most one person meets their essential requirement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

PRACTITIONER = 3
CRITICAL_GAP = 2
MIN_CELL_PEOPLE = 5

# Additive counts kept per (unit, role, competency); everything else is derived from them, so
# they can be rolled up to any grouping without going back to the people.
SUM_COLUMNS = [
    "people",
    "rated_n",
    "required_n",
    "met_n",
    "gap_sum",
    "critical_n",
    "bench_n",
    "essential_n",
    "essential_met_n",
]

GROUPINGS = ("organisation", "region", "unit_type", "unit", "role")


@dataclass(frozen=True)
class GapInputs:
    """Frames the gap analysis needs.

    employees: employee_id, unit_id, profile_id, role_code (only people with a role profile)
    requirements: profile_id, competency_id, required (0–4), essential (bool)
    current: employee_id, competency_id, level (newest validated level; absent = never rated)
    competency_ids: the competencies, in framework order
    """

    employees: pd.DataFrame
    requirements: pd.DataFrame
    current: pd.DataFrame
    competency_ids: Sequence[int]


def gap_frame(inputs: GapInputs) -> pd.DataFrame:
    """One row per (employee, competency of the profile): required, current, gap and flags.

    Written with plain merges for readability; `cell_sums` is the vectorised equivalent used for
    whole-organisation reports (a test checks they agree).
    """
    frame = inputs.employees.merge(inputs.requirements, on="profile_id", how="inner")
    frame = frame.merge(
        inputs.current[["employee_id", "competency_id", "level"]],
        on=["employee_id", "competency_id"],
        how="left",
    )
    frame["rated"] = frame["level"].notna()
    frame["current"] = frame["level"].fillna(0).astype("int64")
    frame = frame.drop(columns=["level"])
    frame["required"] = frame["required"].astype("int64")
    frame["has_requirement"] = frame["required"] > 0
    shortfall = frame["required"] - frame["current"]
    frame["gap"] = shortfall.clip(lower=0).where(frame["has_requirement"], 0)
    frame["met"] = frame["has_requirement"] & (shortfall <= 0)
    frame["critical"] = frame["has_requirement"] & (shortfall >= CRITICAL_GAP)
    frame["bench"] = frame["current"] >= PRACTITIONER
    frame["essential"] = frame["essential"].astype(bool) & frame["has_requirement"]
    return frame.sort_values(["employee_id", "competency_id"]).reset_index(drop=True)


def _dense_positions(ids: np.ndarray, lookup: np.ndarray) -> np.ndarray:
    """Return, for each of `lookup`, its position in `ids` (-1 when absent)."""
    if len(ids) == 0:
        return np.full(len(lookup), -1, dtype=np.int64)
    top = int(max(ids.max(), lookup.max() if len(lookup) else 0))
    if top <= 50_000_000:
        table = np.full(top + 1, -1, dtype=np.int64)
        table[ids] = np.arange(len(ids), dtype=np.int64)
        safe = np.clip(lookup, 0, top)
        found = table[safe]
        found[(lookup < 0) | (lookup > top)] = -1
        return found
    return pd.Index(ids).get_indexer(lookup)


def person_matrices(inputs: GapInputs) -> dict[str, np.ndarray]:
    """Return people × competencies matrices: current, rated, required, essential."""
    employees = inputs.employees
    competencies = np.asarray(inputs.competency_ids, dtype=np.int64)
    n, k = len(employees), len(competencies)
    emp_ids = employees["employee_id"].to_numpy(dtype=np.int64)

    current = np.zeros((n, k), dtype=np.int8)
    rated = np.zeros((n, k), dtype=bool)
    _scatter_ratings(current, rated, emp_ids, competencies, inputs.current)

    reqs = inputs.requirements
    profile_ids = np.unique(reqs["profile_id"].to_numpy(dtype=np.int64))
    required_by_profile = np.zeros((len(profile_ids) + 1, k), dtype=np.int8)
    essential_by_profile = np.zeros((len(profile_ids) + 1, k), dtype=bool)
    if len(reqs):
        p = _dense_positions(profile_ids, reqs["profile_id"].to_numpy(dtype=np.int64))
        c = _dense_positions(competencies, reqs["competency_id"].to_numpy(dtype=np.int64))
        keep = (p >= 0) & (c >= 0)
        required_by_profile[p[keep], c[keep]] = reqs["required"].to_numpy()[keep]
        essential_by_profile[p[keep], c[keep]] = reqs["essential"].to_numpy(dtype=bool)[keep]
    # People whose profile has no requirement rows point at the last, all-zero row.
    prof_row = _dense_positions(profile_ids, employees["profile_id"].to_numpy(dtype=np.int64))
    prof_row[prof_row < 0] = len(profile_ids)
    return {
        "current": current,
        "rated": rated,
        "required": required_by_profile[prof_row],
        "essential": essential_by_profile[prof_row],
    }


def _flags(m: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    required = m["required"].astype(np.int16)
    current = m["current"].astype(np.int16)
    has_req = required > 0
    shortfall = required - current
    met = has_req & (shortfall <= 0)
    essential = has_req & m["essential"]
    return {
        "rated_n": m["rated"],
        "required_n": has_req,
        "met_n": met,
        "gap_sum": np.where(has_req, np.maximum(shortfall, 0), 0),
        "critical_n": has_req & (shortfall >= CRITICAL_GAP),
        "bench_n": current >= PRACTITIONER,
        "essential_n": essential,
        "essential_met_n": essential & met,
    }


def cell_sums(inputs: GapInputs) -> pd.DataFrame:
    """Additive counts per (unit_id, role_code, competency_id): the cacheable core of reports."""
    return sums_from_matrices(inputs, person_matrices(inputs))


def apply_ratings(
    inputs: GapInputs, matrices: dict[str, np.ndarray], ratings: pd.DataFrame
) -> dict[str, np.ndarray]:
    """Return copies of `matrices` with newer current ratings applied (others left as they are)."""
    current, rated = matrices["current"].copy(), matrices["rated"].copy()
    emp_ids = inputs.employees["employee_id"].to_numpy(dtype=np.int64)
    competencies = np.asarray(inputs.competency_ids, dtype=np.int64)
    _scatter_ratings(current, rated, emp_ids, competencies, ratings)
    return {**matrices, "current": current, "rated": rated}


def _scatter_ratings(
    current: np.ndarray,
    rated: np.ndarray,
    emp_ids: np.ndarray,
    competencies: np.ndarray,
    ratings: pd.DataFrame,
) -> None:
    """Write `ratings` (employee_id, competency_id, level) into the people × competencies
    matrices in place; ratings of people or competencies not in them are left out."""
    if not len(ratings):
        return
    rows = _dense_positions(emp_ids, ratings["employee_id"].to_numpy(dtype=np.int64))
    cols = _dense_positions(competencies, ratings["competency_id"].to_numpy(dtype=np.int64))
    levels = ratings["level"].to_numpy()
    cells = rows * current.shape[1] + cols  # one flat index per rating: one pass, no pairs
    keep = (rows >= 0) & (cols >= 0)
    if not keep.all():
        cells, levels = cells[keep], levels[keep]
    current.reshape(-1)[cells] = levels
    rated.reshape(-1)[cells] = True


def carry_ratings(
    old_inputs: GapInputs, old_matrices: dict[str, np.ndarray], new_inputs: GapInputs
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Carry current ratings from an earlier computation over to a new population.

    Returns the `current` and `rated` matrices laid out for `new_inputs.employees` (same
    competencies, which the caller checks), and a boolean array: True for each new person who
    was in the earlier population. The others start unrated; the caller reads their ratings.
    """
    if list(old_inputs.competency_ids) != list(new_inputs.competency_ids):
        raise ValueError("carry_ratings needs the same competencies on both sides")
    new_ids = new_inputs.employees["employee_id"].to_numpy(dtype=np.int64)
    old_ids = old_inputs.employees["employee_id"].to_numpy(dtype=np.int64)
    rows = _dense_positions(old_ids, new_ids)
    known = rows >= 0
    k = len(new_inputs.competency_ids)
    current = np.zeros((len(new_ids), k), dtype=np.int8)
    rated = np.zeros((len(new_ids), k), dtype=bool)
    current[known] = old_matrices["current"][rows[known]]
    rated[known] = old_matrices["rated"][rows[known]]
    return {"current": current, "rated": rated}, known


def sums_from_matrices(inputs: GapInputs, matrices: dict[str, np.ndarray]) -> pd.DataFrame:
    """Additive counts per (unit_id, role_code, competency_id) from `person_matrices` output."""
    employees = inputs.employees
    competencies = list(inputs.competency_ids)
    k = len(competencies)
    columns = ["unit_id", "role_code", "competency_id", *SUM_COLUMNS]
    if len(employees) == 0 or k == 0:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in columns}).assign(
            role_code=pd.Series(dtype="object")
        )[columns]
    flags = _flags(matrices)
    # Group codes for (unit, role) without building tuples: factorize each, then combine.
    unit_codes, unit_values = pd.factorize(employees["unit_id"].to_numpy())
    role_codes_, role_values = pd.factorize(employees["role_code"].to_numpy())
    combined = unit_codes.astype(np.int64) * max(1, len(role_values)) + role_codes_
    codes, uniques = pd.factorize(combined)
    g = len(uniques)
    unit_ids = np.asarray(unit_values)[uniques // max(1, len(role_values))]
    role_codes = np.asarray(role_values, dtype=object)[uniques % max(1, len(role_values))]
    people = np.bincount(codes, minlength=g)
    block = {"people": np.repeat(people[:, None], k, axis=1)}
    for name, matrix in flags.items():
        weights = matrix.astype(np.int64)
        block[name] = np.stack(
            [np.bincount(codes, weights=weights[:, j], minlength=g) for j in range(k)], axis=1
        ).astype(np.int64)
    out = pd.DataFrame(
        {
            "unit_id": np.repeat(unit_ids, k).astype(np.int64),
            "role_code": np.repeat(role_codes, k),
            "competency_id": np.tile(np.asarray(competencies, dtype=np.int64), g),
            **{name: block[name].reshape(-1) for name in SUM_COLUMNS},
        }
    )
    return out


def cell_sums_from_gap_frame(frame: pd.DataFrame, competency_ids: Sequence[int]) -> pd.DataFrame:
    """The same counts as `cell_sums`, from a `gap_frame` (used to cross-check it)."""
    work = frame.assign(
        rated_n=frame["rated"],
        required_n=frame["has_requirement"],
        met_n=frame["met"],
        gap_sum=frame["gap"],
        critical_n=frame["critical"],
        bench_n=frame["bench"],
        essential_n=frame["essential"],
        essential_met_n=frame["essential"] & frame["met"],
    )
    people = work.groupby(["unit_id", "role_code"])["employee_id"].nunique().rename("people")
    sums = work.groupby(["unit_id", "role_code", "competency_id"])[SUM_COLUMNS[1:]].sum()
    sums = sums.join(people, on=["unit_id", "role_code"]).reset_index()
    return sums[["unit_id", "role_code", "competency_id", *SUM_COLUMNS]].astype(
        {c: "int64" for c in SUM_COLUMNS}
    )


# --- rolling up ---------------------------------------------------------------------------------


def _group_column(group_by: str) -> str | None:
    return {
        "organisation": None,
        "region": "region",
        "unit_type": "unit_type",
        "unit": "unit_id",
        "role": "role_code",
    }[group_by]


def rollup(
    cells: pd.DataFrame,
    units: pd.DataFrame,
    *,
    group_by: str = "region",
    unit_ids: Sequence[int] | None = None,
    regions: Sequence[str] | None = None,
    unit_type: str | None = None,
    roles: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return one row per (group, competency) with counts, rates and single points of failure.

    units: unit_id, region, is_central. `unit_type` is "central" or "decentralised".
    Columns: group, competency_id, the SUM_COLUMNS, spof (count of unit × competency single
    points of failure), coverage, mean_gap. An "organisation" grouping has group = "".
    """
    if group_by not in GROUPINGS:
        raise ValueError(f"unknown grouping {group_by!r}")
    unit_attrs = units[["unit_id", "region", "is_central"]].copy()
    unit_attrs["unit_type"] = np.where(unit_attrs["is_central"], "central", "decentralised")
    work = cells.merge(unit_attrs, on="unit_id", how="inner")
    if unit_ids is not None:
        work = work[work["unit_id"].isin(list(unit_ids))]
    if regions:
        work = work[work["region"].isin(list(regions))]
    if unit_type in ("central", "decentralised"):
        work = work[work["unit_type"] == unit_type]
    if roles:
        work = work[work["role_code"].isin(list(roles))]

    # Single points of failure are judged per unit (and per role when grouping by role).
    spof_keys = ["unit_id", "competency_id"] + (["role_code"] if group_by == "role" else [])
    per_unit = work.groupby(spof_keys, as_index=False).agg(
        {c: "sum" for c in SUM_COLUMNS} | {"region": "first", "unit_type": "first"}
    )
    per_unit["spof"] = ((per_unit["essential_n"] >= 1) & (per_unit["essential_met_n"] <= 1)).astype(
        "int64"
    )
    column = _group_column(group_by)
    keys = ["competency_id"] if column is None else [column, "competency_id"]
    out = per_unit.groupby(keys, as_index=False)[[*SUM_COLUMNS, "spof"]].sum()
    out["group"] = "" if column is None else out[column]
    out = out[["group", "competency_id", *SUM_COLUMNS, "spof"]]
    return with_rates(out)


def with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Add coverage and mean gap (NaN where nobody holds the requirement)."""
    required = frame["required_n"].where(frame["required_n"] > 0)
    frame = frame.copy()
    frame["coverage"] = frame["met_n"] / required
    frame["mean_gap"] = frame["gap_sum"] / required
    return frame


def totals_by_group(rolled: pd.DataFrame) -> pd.DataFrame:
    """Return one row per group summing all competencies (people = headcount of the group)."""
    sums = rolled.groupby("group", as_index=False).agg(
        {c: "sum" for c in SUM_COLUMNS if c != "people"} | {"people": "max", "spof": "sum"}
    )
    return with_rates(sums)


def suppress(frame: pd.DataFrame, *, min_people: int = MIN_CELL_PEOPLE) -> pd.DataFrame:
    """Mark cells too small to show to people without detail rights.

    A cell is suppressed when fewer than `min_people` people are in it, or when fewer than
    `min_people` hold the requirement its rates describe (but some do). Suppressed cells keep
    no numbers: every count and rate becomes NaN.
    """
    frame = frame.copy()
    small = (frame["people"] < min_people) | (
        (frame["required_n"] > 0) & (frame["required_n"] < min_people)
    )
    frame["suppressed"] = small
    value_columns = [c for c in [*SUM_COLUMNS, "spof", "coverage", "mean_gap"] if c in frame]
    frame[value_columns] = frame[value_columns].astype("float64")
    frame.loc[small, value_columns] = np.nan
    return frame


# --- colour bands (the number is always printed too) -------------------------------------------

MEAN_GAP_BANDS = (0.0, 0.5, 1.0, 1.5)  # 0 → heat-0, ≤0.5 → 1, ≤1 → 2, ≤1.5 → 3, above → 4
COVERAGE_BANDS = (1.0, 0.8, 0.6, 0.4)  # 100% → 0, ≥80% → 1, ≥60% → 2, ≥40% → 3, below → 4


def heat_class(metric: str, value: float | None) -> str:
    """Return the CSS class that colours a heatmap cell (heat-0 … heat-4)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "heat-none"
    if metric == "coverage":
        for band, threshold in enumerate(COVERAGE_BANDS):
            if value >= threshold - 1e-9:
                return f"heat-{band}"
        return "heat-4"
    if metric == "mean_gap":
        for band, threshold in enumerate(MEAN_GAP_BANDS):
            if value <= threshold + 1e-9:
                return f"heat-{band}"
        return "heat-4"
    return "heat-0"


# --- attention list -------------------------------------------------------------------------------


def attention(rolled_by_unit: pd.DataFrame, *, limit: int = 20) -> dict[str, pd.DataFrame]:
    """Return the largest critical gaps and the single points of failure, by unit × competency.

    `rolled_by_unit` is `rollup(..., group_by="unit")` (optionally suppressed: suppressed rows
    are left out).
    """
    frame = rolled_by_unit
    if "suppressed" in frame:
        frame = frame[~frame["suppressed"]]
    critical = frame[frame["critical_n"] > 0].copy()
    critical["critical_share"] = critical["critical_n"] / critical["required_n"]
    critical = critical.sort_values(
        ["critical_n", "critical_share", "group"], ascending=[False, False, True]
    ).head(limit)
    spof = frame[frame["spof"] > 0].sort_values(["essential_met_n", "essential_n", "group"])
    return {"critical": critical.reset_index(drop=True), "spof": spof.reset_index(drop=True)}


# --- trend over time from the log ----------------------------------------------------------------


def trend(
    log: pd.DataFrame, inputs: GapInputs, period_ends: Sequence[pd.Timestamp]
) -> pd.DataFrame:
    """Return coverage, mean gap and critical gaps as they stood at each period end.

    log: employee_id, competency_id, level, recorded_at (validated entries only, any order).
    Today's people and role profiles are used throughout, so the trend shows how their levels
    moved, not how the organisation's shape changed.
    """
    ends = pd.DatetimeIndex(pd.to_datetime(list(period_ends), utc=True)).sort_values()
    competencies = np.asarray(inputs.competency_ids, dtype=np.int64)
    m = person_matrices(
        GapInputs(
            inputs.employees,
            inputs.requirements,
            pd.DataFrame({"employee_id": [], "competency_id": [], "level": []}, dtype="int64"),
            competencies,
        )
    )
    emp_ids = inputs.employees["employee_id"].to_numpy(dtype=np.int64)
    rows_out = []
    if len(log):
        work = log.copy()
        work["recorded_at"] = pd.to_datetime(work["recorded_at"], utc=True)
        work = work.sort_values("recorded_at", kind="stable")
        stamps = work["recorded_at"].to_numpy(dtype="datetime64[ns]")
        work["period"] = np.searchsorted(ends.to_numpy(dtype="datetime64[ns]"), stamps, "left")
        work = work[work["period"] < len(ends)]
        work = work.drop_duplicates(["employee_id", "competency_id", "period"], keep="last")
        work["row"] = _dense_positions(emp_ids, work["employee_id"].to_numpy(dtype=np.int64))
        work["col"] = _dense_positions(competencies, work["competency_id"].to_numpy(np.int64))
        work = work[(work["row"] >= 0) & (work["col"] >= 0)]
        by_period = {p: f for p, f in work.groupby("period")}
    else:
        by_period = {}
    for index, end in enumerate(ends):
        step = by_period.get(index)
        if step is not None:
            r, c = step["row"].to_numpy(), step["col"].to_numpy()
            m["current"][r, c] = step["level"].to_numpy()
            m["rated"][r, c] = True
        f = _flags(m)
        required_n = int(f["required_n"].sum())
        rows_out.append(
            {
                "period_end": end,
                "required_n": required_n,
                "rated_n": int((f["rated_n"] & f["required_n"]).sum()),
                "met_n": int(f["met_n"].sum()),
                "critical_n": int(f["critical_n"].sum()),
                "coverage": (f["met_n"].sum() / required_n) if required_n else np.nan,
                "mean_gap": (f["gap_sum"].sum() / required_n) if required_n else np.nan,
            }
        )
    return pd.DataFrame(rows_out)


def month_ends(last: pd.Timestamp, months: int = 12) -> list[pd.Timestamp]:
    """Return the ends of the `months` calendar months up to and including `last`'s month."""
    last = pd.Timestamp(last)
    if last.tzinfo is None:
        last = last.tz_localize("UTC")
    first_of_next = (last + pd.offsets.MonthBegin(1)).normalize()
    starts = pd.date_range(end=first_of_next, periods=months, freq="MS", tz="UTC")
    return [s - pd.Timedelta(microseconds=1) for s in starts]
