"""Pure tests of gaps.py on hand-built frames with known answers."""

import numpy as np
import pandas as pd
import pytest

from competency_framework import gaps

COMPS = [10, 20, 30]
EMPLOYEE_COLUMNS = ["employee_id", "unit_id", "profile_id", "role_code"]
REQUIREMENT_COLUMNS = ["profile_id", "competency_id", "required", "essential"]


def inputs(employees, requirements, current):
    return gaps.GapInputs(
        employees=pd.DataFrame(
            employees, columns=["employee_id", "unit_id", "profile_id", "role_code"]
        ),
        requirements=pd.DataFrame(
            requirements, columns=["profile_id", "competency_id", "required", "essential"]
        ),
        current=pd.DataFrame(current, columns=["employee_id", "competency_id", "level"]),
        competency_ids=COMPS,
    )


@pytest.fixture
def small():
    # Profile 1 requires 3 (essential), 2 (desirable), 0 (none) on competencies 10, 20, 30.
    requirements = [(1, 10, 3, True), (1, 20, 2, False), (1, 30, 0, False)]
    employees = [(1, 100, 1, "officer"), (2, 100, 1, "officer"), (3, 200, 1, "officer")]
    current = [(1, 10, 4), (1, 20, 0), (2, 10, 1), (3, 10, 3), (3, 20, 2), (3, 30, 4)]
    return inputs(employees, requirements, current)


def test_gap_is_required_minus_current_never_negative(small):
    frame = gaps.gap_frame(small).set_index(["employee_id", "competency_id"])
    assert frame.loc[(1, 10), "gap"] == 0  # 4 over a requirement of 3
    assert frame.loc[(1, 20), "gap"] == 2
    assert frame.loc[(2, 10), "gap"] == 2 and frame.loc[(2, 10), "critical"]
    assert frame.loc[(2, 20), "gap"] == 2 and not frame.loc[(2, 20), "rated"]  # never rated: 0
    assert frame.loc[(3, 30), "gap"] == 0 and not frame.loc[(3, 30), "has_requirement"]


def test_cell_sums_count_requirements_met_gaps_and_bench(small):
    cells = gaps.cell_sums(small).set_index(["unit_id", "competency_id"])
    unit100_c10 = cells.loc[(100, 10)]
    assert unit100_c10["people"] == 2
    assert unit100_c10["required_n"] == 2 and unit100_c10["met_n"] == 1
    assert unit100_c10["gap_sum"] == 2 and unit100_c10["critical_n"] == 1
    assert unit100_c10["bench_n"] == 1  # only employee 1 is at 3 or above
    assert unit100_c10["essential_n"] == 2 and unit100_c10["essential_met_n"] == 1
    assert cells.loc[(100, 30), "required_n"] == 0
    assert cells.loc[(200, 30), "bench_n"] == 1


def test_vectorised_sums_agree_with_the_plain_gap_frame():
    rng = np.random.default_rng(7)
    n = 400
    employees = [
        (i, int(rng.integers(1, 6)), int(rng.integers(1, 4)), f"r{i % 3}") for i in range(1, n + 1)
    ]
    requirements = [
        (p, c, int(rng.integers(0, 5)), bool(rng.integers(0, 2))) for p in (1, 2, 3) for c in COMPS
    ]
    current = [
        (i, c, int(rng.integers(0, 5)))
        for i in range(1, n + 1)
        for c in COMPS
        if rng.random() < 0.7
    ]
    data = inputs(employees, requirements, current)
    fast = gaps.cell_sums(data).sort_values(["unit_id", "role_code", "competency_id"])
    plain = gaps.cell_sums_from_gap_frame(gaps.gap_frame(data), COMPS).sort_values(
        ["unit_id", "role_code", "competency_id"]
    )
    pd.testing.assert_frame_equal(fast.reset_index(drop=True), plain.reset_index(drop=True))


UNITS = pd.DataFrame(
    {"unit_id": [100, 200], "region": ["Centro", "Norte"], "is_central": [True, False]}
)


def test_rollup_gives_coverage_mean_gap_and_single_points_of_failure(small):
    rolled = gaps.rollup(gaps.cell_sums(small), UNITS, group_by="organisation")
    c10 = rolled.set_index("competency_id").loc[10]
    # Competency 10: three people need 3; employees 1 and 3 meet it; gaps 0, 2, 0.
    assert c10["coverage"] == pytest.approx(2 / 3)
    assert c10["mean_gap"] == pytest.approx(2 / 3)
    assert c10["critical_n"] == 1
    # Unit 100 has one of two meeting the essential requirement; unit 200 has one of one:
    # both are single points of failure for competency 10.
    assert c10["spof"] == 2
    c20 = rolled.set_index("competency_id").loc[20]
    assert c20["spof"] == 0  # desirable only


def test_rollup_by_unit_type_and_filters(small):
    rolled = gaps.rollup(gaps.cell_sums(small), UNITS, group_by="unit_type")
    assert set(rolled["group"]) == {"central", "decentralised"}
    only_north = gaps.rollup(gaps.cell_sums(small), UNITS, group_by="region", regions=["Norte"])
    assert set(only_north["group"]) == {"Norte"}
    assert only_north.set_index("competency_id").loc[10, "people"] == 1


def test_suppression_hides_every_number_of_small_cells(small):
    rolled = gaps.rollup(gaps.cell_sums(small), UNITS, group_by="unit")
    hidden = gaps.suppress(rolled)
    assert hidden["suppressed"].all()  # no cell has 5 people
    assert hidden[["coverage", "mean_gap", "met_n", "people"]].isna().all().all()


def test_cells_of_five_or_more_are_shown():
    employees = [(i, 100, 1, "o") for i in range(1, 6)]
    data = inputs(employees, [(1, 10, 2, True)], [(i, 10, 2) for i in range(1, 6)])
    rolled = gaps.suppress(gaps.rollup(gaps.cell_sums(data), UNITS, group_by="unit"))
    c10 = rolled.set_index("competency_id").loc[10]
    assert not c10["suppressed"] and c10["coverage"] == 1.0


def test_totals_by_group_sum_competencies(small):
    totals = gaps.totals_by_group(
        gaps.rollup(gaps.cell_sums(small), UNITS, group_by="organisation")
    )
    row = totals.iloc[0]
    assert row["people"] == 3 and row["required_n"] == 6
    assert row["met_n"] == 3  # e1:c10, e3:c10, e3:c20


def test_attention_lists_critical_gaps_and_single_points(small):
    rolled = gaps.rollup(gaps.cell_sums(small), UNITS, group_by="unit")
    found = gaps.attention(rolled)
    assert list(found["critical"]["group"]) == [100, 100]
    assert set(found["spof"]["group"]) == {100, 200}


def test_trend_replays_the_log_month_by_month():
    data = inputs([(1, 100, 1, "o"), (2, 100, 1, "o")], [(1, 10, 3, True)], [])
    log = pd.DataFrame(
        [
            (1, 10, 1, "2026-01-10"),
            (1, 10, 3, "2026-02-15"),
            (2, 10, 3, "2026-03-01"),
            (2, 10, 1, "2026-03-20"),  # later the same month: the newest entry counts
        ],
        columns=["employee_id", "competency_id", "level", "recorded_at"],
    )
    ends = gaps.month_ends(pd.Timestamp("2026-03-31", tz="UTC"), 3)
    trend = gaps.trend(log, data, ends)
    assert list(trend["met_n"]) == [0, 1, 1]
    assert list(trend["critical_n"]) == [2, 1, 1]
    assert trend["mean_gap"].tolist() == pytest.approx([2.5, 1.5, 1.0])


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("mean_gap", 0.0, "heat-0"),
        ("mean_gap", 0.4, "heat-1"),
        ("mean_gap", 1.0, "heat-2"),
        ("mean_gap", 1.2, "heat-3"),
        ("mean_gap", 2.5, "heat-4"),
        ("coverage", 1.0, "heat-0"),
        ("coverage", 0.85, "heat-1"),
        ("coverage", 0.1, "heat-4"),
        ("coverage", float("nan"), "heat-none"),
    ],
)
def test_heat_classes_follow_the_bands(metric, value, expected):
    assert gaps.heat_class(metric, value) == expected
