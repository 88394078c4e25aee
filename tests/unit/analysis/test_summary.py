"""The summary table on small hand-made case tables with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis import intervals
from sim.analysis.intervals import wilson_interval
from sim.analysis.summary import SUMMARY_COLUMNS, summarize
from tests.factories import case_rows, procedure, reform, run, step, table_scenario, write_scenario


def one_replication_table() -> pd.DataFrame:
    rows = [{"elapsed_working_days": float(d), "trips": 2.0, "fees_cny": 10.0} for d in range(1, 9)]
    rows[7]["approval_clock_days"] = 4.0  # 8 days elapsed, 4 on the approval clock
    rows.append({"status": "withdrawn", "elapsed_working_days": 3.0, "trips": 9.0})
    rows.append({"status": "open"})
    return case_rows(rows)


def test_summary_of_one_replication_by_hand():
    cases = one_replication_table()
    table = summarize(cases, table_scenario(variants=("baseline",)))
    assert tuple(table.columns) == SUMMARY_COLUMNS
    assert len(table) == 1
    row = table.iloc[0]
    assert row["replications"] == 1
    assert row["interval_basis"] == intervals.BASIS_ONE_RUN
    assert (row["arrived"], row["completed"], row["withdrawn"], row["open"]) == (10, 8, 1, 1)
    elapsed = np.arange(1.0, 9.0)
    ref = stats.t.interval(0.95, 7, loc=elapsed.mean(), scale=stats.sem(elapsed))
    assert row["mean_days"] == pytest.approx(4.5)
    assert (row["mean_days_low"], row["mean_days_high"]) == pytest.approx(ref)
    assert row["median_days"] == pytest.approx(4.5)
    assert row["p90_days"] == pytest.approx(np.quantile(elapsed, 0.9))
    assert row["median_days_low"] <= 4.5 <= row["median_days_high"]
    # Five completed within the 5-day target, out of ten arrived (not eight completed).
    assert row["share_within_target"] == pytest.approx(0.5)
    assert (row["share_within_target_low"], row["share_within_target_high"]) == pytest.approx(
        wilson_interval(5, 10, 0.95)
    )
    # On the clock, the 8-day case counted 4: six within.
    assert row["share_within_target_clock"] == pytest.approx(0.6)
    assert row["mean_clock_days"] == pytest.approx((sum(range(1, 8)) + 4) / 8)
    # Measures over completed cases only.
    assert row["trips"] == pytest.approx(2.0) and row["fees_cny"] == pytest.approx(10.0)
    assert row["mean_calendar_days"] == pytest.approx(4.5 * 7 / 5)


def test_summary_drops_cases_of_the_warmup():
    rows = [{"arrival_day": 1.0, "elapsed_working_days": 100.0} for _ in range(5)]
    rows += [{"arrival_day": 20.0, "elapsed_working_days": 2.0} for _ in range(3)]
    cases = case_rows(rows)
    row = summarize(cases, table_scenario(variants=("baseline",), warmup=20.0)).iloc[0]
    assert row["arrived"] == 3
    assert row["mean_days"] == pytest.approx(2.0)
    everything = summarize(cases, table_scenario(variants=("baseline",))).iloc[0]
    assert everything["arrived"] == 8


def test_summary_across_replications_uses_t_on_replication_figures():
    rows = []
    for replication, days in enumerate(([1.0, 3.0], [2.0, 4.0], [4.0, 6.0])):
        rows += [{"replication": replication, "elapsed_working_days": d} for d in days]
    rows.append({"replication": 2, "status": "open"})
    cases = case_rows(rows)
    row = summarize(cases, table_scenario(variants=("baseline",))).iloc[0]
    assert row["replications"] == 3
    assert row["interval_basis"] == intervals.BASIS_REPLICATIONS
    per_replication = np.array([2.0, 3.0, 5.0])
    ref = stats.t.interval(0.95, 2, loc=per_replication.mean(), scale=stats.sem(per_replication))
    assert row["mean_days"] == pytest.approx(per_replication.mean())
    assert (row["mean_days_low"], row["mean_days_high"]) == pytest.approx(ref)
    assert row["arrived"] == pytest.approx(7 / 3)
    assert row["open"] == pytest.approx(1 / 3)
    shares = np.array([1.0, 1.0, 1 / 3])  # within 5 days, over arrived (3rd has an open case)
    assert row["share_within_target"] == pytest.approx(shares.mean())
    low, high = stats.t.interval(0.95, 2, loc=shares.mean(), scale=stats.sem(shares))
    assert row["share_within_target_low"] == pytest.approx(max(0.0, low))
    assert row["share_within_target_high"] == pytest.approx(min(1.0, high))  # clipped


def test_summary_rows_follow_the_scenario_order():
    rows = []
    for variant in ("fast", "baseline"):
        for pid in ("q", "p"):
            rows.append({"variant": variant, "procedure": pid, "elapsed_working_days": 1.0})
    cases = case_rows(rows)
    scenario = table_scenario(procedures=(("p", 5.0), ("q", 9.0)))
    table = summarize(cases, scenario)
    assert list(zip(table.variant, table.procedure, strict=True)) == [
        ("baseline", "p"),
        ("baseline", "q"),
        ("fast", "p"),
        ("fast", "q"),
    ]
    assert list(table.target_days) == [5.0, 9.0, 5.0, 9.0]


def test_summary_counts_a_replication_without_cases():
    cases = case_rows([{"replication": 0, "elapsed_working_days": 2.0}])
    other = case_rows([{"replication": 1, "procedure": "q", "elapsed_working_days": 2.0}])
    table = summarize(
        pd.concat([cases, other]),
        table_scenario(variants=("baseline",), procedures=(("p", 5.0), ("q", 5.0))),
    )
    row = table.set_index("procedure").loc["p"]
    assert row["replications"] == 2
    assert row["arrived"] == pytest.approx(0.5)
    assert row["mean_days"] == pytest.approx(2.0)  # the empty replication has no mean


# --------------------------------------------------------------------------- targets


def test_unknown_procedure_uses_the_recorded_target_flag():
    cases = case_rows([{"procedure": "new", "elapsed_working_days": d} for d in (2.0, 4.0, 7.0)])
    row = summarize(cases, table_scenario(variants=("baseline",))).set_index("procedure").loc["new"]
    assert math.isnan(row["target_days"])
    # `within_target` of the case table (5 days in `case_rows`): two of three.
    assert row["share_within_target"] == pytest.approx(2 / 3)
    assert math.isnan(row["share_within_target_clock"])
    assert math.isnan(row["share_within_target_clock_low"])


def test_share_intervals_stay_between_0_and_1():
    rows = []
    for replication, days in enumerate(([1.0, 1.0], [1.0, 1.0], [1.0, 9.0])):
        rows += [{"replication": replication, "elapsed_working_days": d} for d in days]
    row = summarize(case_rows(rows), table_scenario(variants=("baseline",))).iloc[0]
    assert row["share_within_target"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert row["share_within_target_high"] == 1.0
    assert 0 <= row["share_within_target_low"] < row["share_within_target"]


def test_declared_procedure_without_cases_has_a_row_of_nothing():
    cases = case_rows([{"elapsed_working_days": 1.0}])
    table = summarize(cases, table_scenario(variants=("baseline",), procedures=(("p", 5), ("q", 5))))
    empty = table.set_index("procedure").loc["q"]
    assert empty["arrived"] == 0 and empty["completed"] == 0
    assert math.isnan(empty["mean_days"]) and math.isnan(empty["share_within_target"])


def test_a_procedure_made_by_a_bundle_gets_its_target(tmp_path):
    one_thing = reform(
        "bundle",
        procedures=["p", "q"],
        id="pq",
        name={"zh": "一件事", "en": "one thing"},
        target={"working_days": 2.5, "source": "test"},
        arrivals_per_day=2,
        intake={"id": "intake", "name": {"zh": "受理", "en": "Intake"}, "agency": "window",
                "handling": 0.5},
    )
    procedures = [procedure("p", [step("a", 1)]), procedure("q", [step("a", 3)])]
    path = write_scenario(tmp_path, procedures, [one_thing], arrivals=2.0)
    scenario, base, _ = run(path)
    _, bundled, _ = run(path, variant="v")
    table = summarize(pd.concat([base, bundled]), scenario).set_index(["variant", "procedure"])
    row = table.loc[("v", "pq")]
    assert row["target_days"] == 2.5
    # Intake 0.5, then max(1, 3): 3.5 days, over the 2.5-day target.
    assert row["mean_days"] == pytest.approx(3.5)
    assert row["share_within_target"] == 0.0 and row["share_within_target_clock"] == 0.0
    assert table.loc[("baseline", "p"), "share_within_target"] == 1.0
