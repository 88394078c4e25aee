"""Statistics on small hand-made tables with known answers."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis import intervals
from sim.analysis.agencies import AGENCY_COLUMNS, agency_load, busiest_agency
from sim.analysis.cases import MEASURES
from sim.analysis.comparison import COMPARISON_COLUMNS, COMPARISON_METRICS, compare
from sim.analysis.intervals import (
    batch_means_interval,
    quantile_interval,
    t_interval,
    welch_interval,
    wilson_interval,
)
from sim.analysis.summary import SUMMARY_COLUMNS, summarize
from sim.domain.model import Agency, Horizon, Name, Procedure
from sim.engines.records import CASE_COLUMNS, STEP_COLUMNS
from sim.run.reduce import queue_totals


def procedure(pid: str, target: float) -> Procedure:
    return Procedure(pid, Name(pid, pid), target, "test", steps=())


def make_scenario(
    variants=("baseline", "fast"),
    procedures=(("p", 5.0),),
    warmup: float = 0.0,
    arrival_days: float = 100.0,
    agencies=(),
):
    built = [procedure(pid, target) for pid, target in procedures]
    return SimpleNamespace(
        variant_names=tuple(variants),
        demands=tuple(SimpleNamespace(procedure=p) for p in built),
        procedure_index={p.id: p for p in built},
        models=(SimpleNamespace(procedure_index={p.id: p for p in built}),),
        horizon=Horizon(arrival_days=arrival_days, drain_days=10, warmup_days=warmup),
        agencies=tuple(agencies),
    )


def case_rows(rows: list[dict]) -> pd.DataFrame:
    """A case table with every schema column; unspecified fields get plain defaults."""
    defaults = {
        "replication": 0,
        "variant": "baseline",
        "procedure": "p",
        "status": "completed",
        "arrival_day": 10.0,
        "elapsed_calendar_days": math.nan,
        "steps": 1,
        "materials": 0,
        "certificates": 0,
        "trips": 0.0,
        "fees_cny": 0.0,
        "send_backs": 0,
        "reforms_fired": "",
        "attributes": "{}",
        "arrival_date": pd.NaT,
        "end_date": pd.NaT,
    }
    records = []
    for index, given in enumerate(rows):
        row = {**defaults, "case_id": f"p-{index + 1:06d}", **given}
        elapsed = row.get("elapsed_working_days", math.nan)
        if row["status"] == "open":
            elapsed = math.nan
        row["elapsed_working_days"] = elapsed
        row.setdefault("approval_clock_days", elapsed)
        row["end_day"] = row["arrival_day"] + elapsed
        row["within_target"] = row["status"] == "completed" and elapsed <= 5
        if math.isnan(row["elapsed_calendar_days"]):
            row["elapsed_calendar_days"] = elapsed * 7 / 5
        records.append(row)
    return pd.DataFrame(records)[list(CASE_COLUMNS)]


# --------------------------------------------------------------------------- intervals


def test_wilson_interval_of_8_out_of_10():
    # Reference: Wilson (1927) score interval, z = 1.959964: [0.4902, 0.9433].
    low, high = wilson_interval(8, 10, 0.95)
    assert low == pytest.approx(0.49016, abs=5e-5)
    assert high == pytest.approx(0.94332, abs=5e-5)


def test_wilson_interval_edges():
    low, high = wilson_interval(0, 10, 0.95)
    assert low == 0 and 0 < high < 0.35
    low, high = wilson_interval(10, 10, 0.95)
    assert high == pytest.approx(1.0) and 0.65 < low < 1
    assert all(math.isnan(x) for x in wilson_interval(0, 0, 0.95))


def test_t_interval_matches_scipy():
    values = np.array([2.1, 3.4, 1.9, 5.0, 4.2, 3.3])
    mean, low, high = t_interval(values, 0.9)
    ref = stats.t.interval(0.9, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert (low, high) == pytest.approx(ref)


def test_t_interval_small_and_constant_samples():
    assert math.isnan(t_interval([], 0.95)[0])
    mean, low, high = t_interval([3.0], 0.95)
    assert mean == 3.0 and math.isnan(low) and math.isnan(high)
    assert t_interval([2.0, 2.0, np.nan], 0.95) == (2.0, 2.0, 2.0)


def test_quantile_interval_uses_order_statistics():
    # The classic 95% interval for the median of 100 values is [x(40), x(61)].
    values = np.arange(1.0, 101.0)
    rng = np.random.default_rng(0)
    estimate, low, high = quantile_interval(rng.permutation(values), 0.5, 0.95)
    assert estimate == pytest.approx(50.5)
    assert (low, high) == (40.0, 61.0)
    coverage = stats.binom.cdf(60, 100, 0.5) - stats.binom.cdf(39, 100, 0.5)
    assert coverage >= 0.95


def test_quantile_interval_too_small_for_a_bound():
    # With 5 values, no order statistic is above the 90th percentile with 97.5% certainty.
    estimate, low, high = quantile_interval([1, 2, 3, 4, 5], 0.9, 0.95)
    assert estimate == pytest.approx(4.6)
    assert math.isnan(high) and low <= estimate


def test_welch_interval_matches_scipy():
    a = np.array([5.0, 6.0, 7.5, 8.0, 9.0])
    b = np.array([3.0, 3.5, 4.0, 6.0])
    difference, low, high = welch_interval(a, b, 0.95)
    ref = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert difference == pytest.approx(b.mean() - a.mean())
    assert (low, high) == pytest.approx((ref.low, ref.high))


def test_batch_means_interval_on_independent_batches():
    values = np.repeat([1.0, 2.0, 3.0, 4.0], 5)  # four batches of five, means 1..4
    mean, low, high = batch_means_interval(values, 0.95, batches=4)
    _, ref_low, ref_high = t_interval([1.0, 2.0, 3.0, 4.0], 0.95)
    assert mean == pytest.approx(2.5)
    assert (low, high) == pytest.approx((ref_low, ref_high))
    assert math.isnan(batch_means_interval([1.0, 2.0, 3.0], 0.95, batches=4)[1])


# --------------------------------------------------------------------------- schemas


def test_column_tuples_are_the_documented_schema():
    assert MEASURES == (
        "steps",
        "materials",
        "certificates",
        "trips",
        "elapsed_working_days",
        "fees_cny",
    )
    assert set(MEASURES) <= set(CASE_COLUMNS)
    assert SUMMARY_COLUMNS == (
        "variant",
        "procedure",
        "target_days",
        "replications",
        "interval_basis",
        "arrived",
        "completed",
        "withdrawn",
        "open",
        "mean_days",
        "mean_days_low",
        "mean_days_high",
        "median_days",
        "median_days_low",
        "median_days_high",
        "p90_days",
        "p90_days_low",
        "p90_days_high",
        "share_within_target",
        "share_within_target_low",
        "share_within_target_high",
        "mean_calendar_days",
        "mean_clock_days",
        "mean_clock_days_low",
        "mean_clock_days_high",
        "share_within_target_clock",
        "share_within_target_clock_low",
        "share_within_target_clock_high",
        "steps",
        "materials",
        "certificates",
        "trips",
        "fees_cny",
    )
    assert COMPARISON_COLUMNS == (
        "variant",
        "procedure",
        "metric",
        "baseline_value",
        "variant_value",
        "difference",
        "difference_low",
        "difference_high",
        "unpaired_low",
        "unpaired_high",
        "replications",
        "distinguishable",
        "replications_needed",
        "note",
    )
    assert AGENCY_COLUMNS[:3] == ("variant", "agency", "staff")
    for column in ("utilisation", "mean_queue_days", "p90_queue_days", "queue_growth"):
        assert column in AGENCY_COLUMNS
    assert AGENCY_COLUMNS[-2:] == ("overloaded", "warning")


# --------------------------------------------------------------------------- summary


def one_replication_table() -> pd.DataFrame:
    rows = [{"elapsed_working_days": float(d), "trips": 2.0, "fees_cny": 10.0} for d in range(1, 9)]
    rows[7]["approval_clock_days"] = 4.0  # 8 days elapsed, 4 on the approval clock
    rows.append({"status": "withdrawn", "elapsed_working_days": 3.0, "trips": 9.0})
    rows.append({"status": "open"})
    return case_rows(rows)


def test_summary_of_one_replication_by_hand():
    cases = one_replication_table()
    table = summarize(cases, make_scenario(variants=("baseline",)))
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
    row = summarize(cases, make_scenario(variants=("baseline",), warmup=20.0)).iloc[0]
    assert row["arrived"] == 3
    assert row["mean_days"] == pytest.approx(2.0)
    everything = summarize(cases, make_scenario(variants=("baseline",))).iloc[0]
    assert everything["arrived"] == 8


def test_summary_across_replications_uses_t_on_replication_figures():
    rows = []
    for replication, days in enumerate(([1.0, 3.0], [2.0, 4.0], [4.0, 6.0])):
        rows += [{"replication": replication, "elapsed_working_days": d} for d in days]
    rows.append({"replication": 2, "status": "open"})
    cases = case_rows(rows)
    row = summarize(cases, make_scenario(variants=("baseline",))).iloc[0]
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
    scenario = make_scenario(procedures=(("p", 5.0), ("q", 9.0)))
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
        make_scenario(variants=("baseline",), procedures=(("p", 5.0), ("q", 5.0))),
    )
    row = table.set_index("procedure").loc["p"]
    assert row["replications"] == 2
    assert row["arrived"] == pytest.approx(0.5)
    assert row["mean_days"] == pytest.approx(2.0)  # the empty replication has no mean


# --------------------------------------------------------------------------- comparison


def test_compare_one_replication_pairs_cases_by_case_id():
    base_days = [5.0, 6.0, 7.0, 8.0, 9.0, 4.0]
    cut = [1.0, 1.0, 2.0, 2.0, 1.0]
    base = case_rows([{"elapsed_working_days": d, "trips": 3.0} for d in base_days])
    variant_rows = [
        {"elapsed_working_days": d - c, "trips": 1.0} for d, c in zip(base_days, cut, strict=False)
    ]
    variant_rows.append({"status": "withdrawn", "elapsed_working_days": 1.0})
    variant = case_rows(variant_rows).assign(variant="fast")
    variant = variant.iloc[::-1]  # a different row order: pairing is by case_id
    table = compare(pd.concat([base, variant]), make_scenario())
    assert tuple(table.columns) == COMPARISON_COLUMNS
    assert set(table.metric) == set(COMPARISON_METRICS)
    rows = table.set_index("metric")
    days = rows.loc["mean_days"]
    differences = -np.array(cut)
    ref = stats.t.interval(0.95, 4, loc=differences.mean(), scale=stats.sem(differences))
    assert days["difference"] == pytest.approx(-1.4)
    assert (days["difference_low"], days["difference_high"]) == pytest.approx(ref)
    assert days["baseline_value"] == pytest.approx(7.0)  # over the five pairs
    assert days["variant_value"] == pytest.approx(5.6)
    assert days["replications"] == 1
    assert bool(days["distinguishable"])
    assert math.isnan(days["replications_needed"])
    # Unpaired: every completed case of each variant, Welch.
    welch = stats.ttest_ind(
        np.array(base_days[:5]) - np.array(cut), base_days, equal_var=False
    ).confidence_interval(0.95)
    assert (days["unpaired_low"], days["unpaired_high"]) == pytest.approx((welch.low, welch.high))
    assert (
        days["unpaired_high"] - days["unpaired_low"]
        > days["difference_high"] - days["difference_low"]
    )
    # Share within 5 days: per-case indicators over all six cases.
    share = rows.loc["share_within_target"]
    indicators = np.array([1, 1, 1, 0, 0, 0]) - np.array([1, 0, 0, 0, 0, 1])
    assert share["difference"] == pytest.approx(indicators.mean())
    assert share["baseline_value"] == pytest.approx(2 / 6)
    assert rows.loc["trips", "difference"] == pytest.approx(-2.0)
    assert rows.loc["trips", "difference_low"] == pytest.approx(-2.0)
    assert not rows.loc["steps", "distinguishable"]
    assert math.isnan(rows.loc["steps", "replications_needed"])
    assert math.isnan(rows.loc["trips", "unpaired_low"])


def test_compare_replications_pairs_within_each_replication():
    # Replication means differ a lot; the variant is about one day faster in each.
    base_means = [2.0, 10.0, 20.0, 6.0]
    cuts = [1.0, 1.2, 0.8, 1.0]
    rows = []
    for replication, (mean, cut) in enumerate(zip(base_means, cuts, strict=True)):
        for offset in (-0.5, 0.5):
            rows.append({"replication": replication, "elapsed_working_days": mean + offset})
            rows.append(
                {
                    "replication": replication,
                    "variant": "fast",
                    "elapsed_working_days": mean + offset - cut,
                }
            )
    table = compare(case_rows(rows), make_scenario())
    days = table.set_index("metric").loc["mean_days"]
    differences = -np.array(cuts)
    ref = stats.t.interval(0.95, 3, loc=differences.mean(), scale=stats.sem(differences))
    assert days["replications"] == 4
    assert days["difference"] == pytest.approx(-1.0)
    assert (days["difference_low"], days["difference_high"]) == pytest.approx(ref)
    assert bool(days["distinguishable"])
    welch = stats.ttest_ind(
        np.array(base_means) - np.array(cuts), base_means, equal_var=False
    ).confidence_interval(0.95)
    assert (days["unpaired_low"], days["unpaired_high"]) == pytest.approx((welch.low, welch.high))
    assert days["unpaired_low"] < 0 < days["unpaired_high"]  # unpaired cannot tell them apart


def test_compare_says_how_many_replications_are_needed():
    differences = np.array([1.0, -0.5, 0.8])
    rows = []
    for replication, difference in enumerate(differences):
        rows.append({"replication": replication, "elapsed_working_days": 5.0})
        rows.append(
            {
                "replication": replication,
                "variant": "fast",
                "elapsed_working_days": 5.0 + difference,
            }
        )
    days = compare(case_rows(rows), make_scenario()).set_index("metric").loc["mean_days"]
    low, high = stats.t.interval(0.95, 2, loc=differences.mean(), scale=stats.sem(differences))
    half = (high - low) / 2
    mean = differences.mean()
    expected = math.ceil(3 * (half / (abs(mean) / 1.5)) ** 2)
    assert not days["distinguishable"]
    assert days["replications_needed"] == expected
    assert f"about {expected} replications needed" in days["note"]


def test_compare_needs_the_baseline():
    cases = case_rows([{"variant": "fast", "elapsed_working_days": 1.0}])
    with pytest.raises(ValueError, match="baseline"):
        compare(cases, make_scenario())
    only_baseline = case_rows([{"elapsed_working_days": 1.0}])
    assert compare(only_baseline, make_scenario()).empty


# --------------------------------------------------------------------------- agencies


def step_rows(rows: list[dict]) -> pd.DataFrame:
    defaults = {
        "replication": 0,
        "variant": "baseline",
        "procedure": "p",
        "step": "a",
        "attempt": 1,
        "outcome": "accepted",
        "handling_days": 0.1,
        "waiting_days": 0.0,
        "ready_date": pd.NaT,
        "start_date": pd.NaT,
        "end_date": pd.NaT,
    }
    records = []
    for index, given in enumerate(rows):
        row = {**defaults, "case_id": f"p-{index + 1:06d}", **given}
        row["start_day"] = row["ready_day"] + row["queue_days"]
        row["handled_day"] = row["end_day"] = row["start_day"] + row["handling_days"]
        records.append(row)
    return pd.DataFrame(records)[list(STEP_COLUMNS)]


AGENCIES = (
    Agency("desk", Name("窗口", "Desk"), staff=2),
    Agency("review", Name("审查", "Review"), staff=None),
)


def test_agency_load_utilisation_and_unlimited_staff():
    scenario = make_scenario(variants=("baseline",), agencies=AGENCIES, arrival_days=100.0)
    busy = pd.DataFrame(
        {
            "replication": [0, 0, 1, 1],
            "variant": "baseline",
            "agency": ["desk", "review", "desk", "review"],
            "busy_days": [120.0, 50.0, 140.0, 70.0],
        }
    )
    steps = step_rows(
        [
            {"replication": r, "agency": "desk+review", "ready_day": 10.0 + i, "queue_days": q}
            for r in (0, 1)
            for i, q in enumerate((0.0, 1.0, 2.0))
        ]
    )
    table = agency_load(steps, busy, scenario)
    assert tuple(table.columns) == AGENCY_COLUMNS
    desk = table.set_index("agency").loc["desk"]
    review = table.set_index("agency").loc["review"]
    assert desk["staff"] == 2
    assert desk["utilisation"] == pytest.approx((0.6 + 0.7) / 2)
    assert desk["utilisation_low"] < desk["utilisation"] < desk["utilisation_high"]
    assert desk["replications"] == 2
    assert pd.isna(review["staff"])
    assert math.isnan(review["utilisation"])
    # The joint step counts for both agencies.
    assert desk["mean_queue_days"] == pytest.approx(1.0)
    assert review["mean_queue_days"] == pytest.approx(1.0)
    assert not desk["overloaded"] and not review["overloaded"]
    assert busiest_agency(table, "baseline") == ("desk", pytest.approx(0.65))


def test_agency_load_flags_full_utilisation():
    scenario = make_scenario(variants=("baseline",), agencies=AGENCIES, arrival_days=100.0)
    busy = pd.DataFrame(
        {"replication": [0], "variant": ["baseline"], "agency": ["desk"], "busy_days": [210.0]}
    )
    table = agency_load(pd.DataFrame(), busy, scenario)
    desk = table.set_index("agency").loc["desk"]
    assert desk["utilisation"] == pytest.approx(1.05)
    assert desk["overloaded"]
    assert "utilisation 1.05" in desk["warning"] and "desk" in desk["warning"]
    assert math.isnan(desk["mean_queue_days"])


def test_agency_load_flags_a_growing_queue():
    scenario = make_scenario(
        variants=("baseline",), agencies=AGENCIES, arrival_days=100.0, warmup=20.0
    )
    busy = pd.DataFrame(
        {"replication": [0], "variant": ["baseline"], "agency": ["desk"], "busy_days": [180.0]}
    )
    rows = [{"agency": "desk", "ready_day": 5.0, "queue_days": 50.0}]  # warm-up, dropped
    rows += [{"agency": "desk", "ready_day": 20.0 + i, "queue_days": 0.5} for i in range(20)]
    rows += [{"agency": "desk", "ready_day": 60.0 + i, "queue_days": 3.0} for i in range(20)]
    table = agency_load(step_rows(rows), busy, scenario)
    desk = table.set_index("agency").loc["desk"]
    assert desk["utilisation"] == pytest.approx(0.9)
    assert desk["queue_growth"] == pytest.approx(6.0)
    assert desk["mean_queue_days"] == pytest.approx(1.75)
    assert desk["overloaded"]
    assert "grew from 0.5 to 3.0" in desk["warning"]
    # Too few rows in a half: no growth figure.
    few = agency_load(step_rows(rows[:5] + rows[-5:]), busy, scenario)
    assert math.isnan(few.set_index("agency").loc["desk", "queue_growth"])


def test_agency_load_with_staff_by_variant():
    scenario = make_scenario(agencies=AGENCIES, arrival_days=100.0)
    busy = pd.DataFrame(
        {
            "replication": [0, 0],
            "variant": ["baseline", "fast"],
            "agency": ["desk", "desk"],
            "busy_days": [150.0, 150.0],
        }
    )
    more_staff = (Agency("desk", Name("窗口", "Desk"), staff=3), AGENCIES[1])
    table = agency_load(
        pd.DataFrame(), busy, scenario, agencies={"baseline": AGENCIES, "fast": more_staff}
    )
    desk = table[table.agency == "desk"].set_index("variant")
    assert desk.loc["baseline", "utilisation"] == pytest.approx(0.75)
    assert desk.loc["fast", "utilisation"] == pytest.approx(0.5)
    assert list(table.variant) == ["baseline", "baseline", "fast", "fast"]
    assert busiest_agency(table, "nobody") is None


# --------------------------------------------------------------------------- targets


def test_unknown_procedure_uses_the_recorded_target_flag():
    cases = case_rows([{"procedure": "new", "elapsed_working_days": d} for d in (2.0, 4.0, 7.0)])
    row = summarize(cases, make_scenario(variants=("baseline",))).set_index("procedure").loc["new"]
    assert math.isnan(row["target_days"])
    # `within_target` of the case table (5 days in `case_rows`): two of three.
    assert row["share_within_target"] == pytest.approx(2 / 3)
    assert math.isnan(row["share_within_target_clock"])
    assert math.isnan(row["share_within_target_clock_low"])


def test_share_intervals_stay_between_0_and_1():
    rows = []
    for replication, days in enumerate(([1.0, 1.0], [1.0, 1.0], [1.0, 9.0])):
        rows += [{"replication": replication, "elapsed_working_days": d} for d in days]
    row = summarize(case_rows(rows), make_scenario(variants=("baseline",))).iloc[0]
    assert row["share_within_target"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert row["share_within_target_high"] == 1.0
    assert 0 <= row["share_within_target_low"] < row["share_within_target"]


def test_declared_procedure_without_cases_has_a_row_of_nothing():
    cases = case_rows([{"elapsed_working_days": 1.0}])
    table = summarize(cases, make_scenario(variants=("baseline",), procedures=(("p", 5), ("q", 5))))
    empty = table.set_index("procedure").loc["q"]
    assert empty["arrived"] == 0 and empty["completed"] == 0
    assert math.isnan(empty["mean_days"]) and math.isnan(empty["share_within_target"])


BUNDLED = """
id: {pid}
name: {{zh: {pid}, en: {pid}}}
target: {{working_days: 30, source: "test"}}
steps:
  - {{id: a, name: {{zh: 甲, en: A}}, agency: desk, handling: {days}, source: "test"}}
"""

BUNDLE_VARIANT = """
variants:
  - name: one_thing
    reforms:
      - type: bundle
        procedures: [p, q]
        id: pq
        name: {zh: 一件事, en: one thing}
        target: {working_days: 2.5, source: "test"}
        arrivals_per_day: 2
        intake: {id: intake, name: {zh: 受理, en: Intake}, agency: desk, handling: 0.5}
        source: "test"
"""


def test_a_procedure_made_by_a_bundle_gets_its_target(tmp_path):
    from tests.conftest import run

    (tmp_path / "p.yaml").write_text(BUNDLED.format(pid="p", days=1), encoding="utf-8")
    (tmp_path / "q.yaml").write_text(BUNDLED.format(pid="q", days=3), encoding="utf-8")
    scenario_yaml = f"""
name: bundle
title: bundle
seed: 1
calendar: {{start: 2025-03-03}}
horizon: {{working_days: 5, drain_working_days: 30}}
procedures:
  - {{procedure: p, arrivals_per_day: 2, source: "test"}}
  - {{procedure: q, arrivals_per_day: 2, source: "test"}}
agencies:
  - {{id: desk, name: {{zh: 窗口, en: Desk}}, staff: unlimited, source: "test"}}
{BUNDLE_VARIANT}
"""
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario_yaml, encoding="utf-8")
    scenario, base, _ = run(path)
    _, bundled, _ = run(path, variant="one_thing")
    table = summarize(pd.concat([base, bundled]), scenario).set_index(["variant", "procedure"])
    row = table.loc[("one_thing", "pq")]
    assert row["target_days"] == 2.5
    # Intake 0.5, then max(1, 3): 3.5 days, over the 2.5-day target.
    assert row["mean_days"] == pytest.approx(3.5)
    assert row["share_within_target"] == 0.0 and row["share_within_target_clock"] == 0.0
    assert table.loc[("baseline", "p"), "share_within_target"] == 1.0


def test_queue_totals_split_joint_steps_and_keep_what_agency_load_needs():
    scenario = make_scenario(variants=("baseline",), agencies=AGENCIES, arrival_days=100.0)
    rows = [
        {"replication": r, "agency": agency, "ready_day": day, "queue_days": q}
        for r in (0, 1)
        for agency, day, q in (
            ("desk", 10.0, 1.0 + r),
            ("desk+review", 30.0, 2.0),
            ("review", 70.0, 4.0 * (r + 1)),
            ("desk", 80.0, 0.5),
        )
    ]
    rows.append({"agency": "desk", "ready_day": 90.0, "queue_days": 9.0, "outcome": "revoked"})
    steps = step_rows(rows)
    table = queue_totals(steps, scenario.horizon)
    totals = table.set_index(["replication", "agency"])
    assert tuple(table.columns) == (
        "replication", "variant", "agency", "steps", "queue_days_total", "p90_queue_days",
        "early_steps", "early_queue_days_total", "late_steps", "late_queue_days_total",
    )
    desk = totals.loc[(0, "desk")]
    assert desk["steps"] == 3  # the joint step counts here too; the revocation mark does not
    assert desk["queue_days_total"] == pytest.approx(1.0 + 2.0 + 0.5)
    assert desk["p90_queue_days"] == pytest.approx(np.quantile([1.0, 2.0, 0.5], 0.9))
    assert (desk["early_steps"], desk["late_steps"]) == (2, 1)
    assert totals.loc[(1, "review"), "late_queue_days_total"] == pytest.approx(8.0)
    # agency_load from the totals alone (no step rows kept) gives the same table.
    busy = pd.DataFrame(
        {"replication": [0, 1], "variant": "baseline", "agency": "desk", "busy_days": [90.0, 95.0]}
    )
    from_steps = agency_load(steps, busy, scenario)
    from_totals = agency_load(
        pd.DataFrame(), busy, scenario, queues=queue_totals(steps, scenario.horizon)
    )
    pd.testing.assert_frame_equal(from_steps, from_totals)
    # A result made without queue totals (an empty frame) falls back to the step rows.
    from_nothing = agency_load(steps, busy, scenario, queues=pd.DataFrame())
    pd.testing.assert_frame_equal(from_steps, from_nothing)
    # Two replications: the mean of the replications' means and of their 90th percentiles.
    review = from_totals.set_index("agency").loc["review"]
    assert review["mean_queue_days"] == pytest.approx(((2.0 + 4.0) / 2 + (2.0 + 8.0) / 2) / 2)
    assert review["p90_queue_days"] == pytest.approx(
        (np.quantile([2.0, 4.0], 0.9) + np.quantile([2.0, 8.0], 0.9)) / 2
    )
