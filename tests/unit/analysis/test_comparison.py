"""Paired comparisons of a variant with the baseline on hand-made case tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis.comparison import COMPARISON_COLUMNS, COMPARISON_METRICS, compare
from tests.factories import case_rows, table_scenario


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
    table = compare(pd.concat([base, variant]), table_scenario())
    assert tuple(table.columns) == COMPARISON_COLUMNS
    assert set(table.metric) == set(COMPARISON_METRICS)
    rows = table.set_index("metric")
    days = rows.loc["mean_days"]
    assert days["difference"] == pytest.approx(-1.4)
    # Five pairs are too few for batch means (two pairs a batch, twenty batches).
    assert math.isnan(days["difference_low"]) and math.isnan(days["difference_high"])
    assert days["note"].startswith("cannot tell")
    assert days["baseline_value"] == pytest.approx(7.0)  # over the five pairs
    assert days["variant_value"] == pytest.approx(5.6)
    assert days["replications"] == 1
    assert not bool(days["distinguishable"])
    assert math.isnan(days["replications_needed"])
    # Unpaired: every completed case of each variant, Welch.
    welch = stats.ttest_ind(
        np.array(base_days[:5]) - np.array(cut), base_days, equal_var=False
    ).confidence_interval(0.95)
    assert (days["unpaired_low"], days["unpaired_high"]) == pytest.approx((welch.low, welch.high))
    # Share within 5 days: per-case indicators over all six cases.
    share = rows.loc["share_within_target"]
    indicators = np.array([1, 1, 1, 0, 0, 0]) - np.array([1, 0, 0, 0, 0, 1])
    assert share["difference"] == pytest.approx(indicators.mean())
    assert share["baseline_value"] == pytest.approx(2 / 6)
    assert rows.loc["trips", "difference"] == pytest.approx(-2.0)
    assert not rows.loc["steps", "distinguishable"]
    assert math.isnan(rows.loc["steps", "replications_needed"])
    assert math.isnan(rows.loc["trips", "unpaired_low"])


def test_one_replication_takes_batch_means_of_the_paired_differences_in_arrival_order():
    # 40 cases arriving in order; the variant saves 1 day on the first 20 and 3 on the
    # last 20 (as a queue that builds up would). Twenty batches of two: ten batch means
    # of -1 and ten of -3, whose t interval is -2 +- t(0.975, 19) * 1.026 / sqrt(20).
    arrivals = np.arange(40.0)
    saved = np.where(arrivals < 20, 1.0, 3.0)
    base = case_rows([{"arrival_day": a, "elapsed_working_days": 10.0} for a in arrivals])
    fast = case_rows(
        [{"arrival_day": a, "elapsed_working_days": 10.0 - c} for a, c in zip(arrivals, saved, strict=True)]
    ).assign(variant="fast")
    fast = fast.sample(frac=1.0, random_state=1)  # rows in any order: arrival orders them
    days = compare(pd.concat([base, fast]), table_scenario()).set_index("metric").loc["mean_days"]
    batch_means = np.repeat([-1.0, -3.0], 10)
    ref = stats.t.interval(0.95, 19, loc=-2.0, scale=stats.sem(batch_means))
    assert days["difference"] == pytest.approx(-2.0)
    assert (days["difference_low"], days["difference_high"]) == pytest.approx(ref)
    assert "batch means of the paired differences of 40 cases" in days["note"]


def test_a_share_of_none_on_both_sides_reads_neither_meets_the_target():
    # Every case takes 8 days against a target of 5, in both variants, over 3
    # replications: no "replications needed" estimate.
    rows = [
        {"replication": r, "variant": v, "elapsed_working_days": 8.0 + 0.1 * r}
        for r in range(3)
        for v in ("baseline", "fast")
    ]
    share = compare(case_rows(rows), table_scenario()).set_index("metric").loc[
        "share_within_target"
    ]
    assert share["note"] == "neither meets the target"
    assert math.isnan(share["replications_needed"]) and not share["distinguishable"]


def test_a_fixed_time_comparison_is_exact():
    base = case_rows([{"elapsed_working_days": 4.75, "trips": 2.0}])
    fast = case_rows([{"elapsed_working_days": 4.5, "trips": 2.0}]).assign(variant="fast")
    rows = compare(pd.concat([base, fast]), table_scenario(), fixed=True).set_index("metric")
    days = rows.loc["mean_days"]
    assert days["difference"] == -0.25 and bool(days["distinguishable"])
    assert math.isnan(days["difference_low"]) and math.isnan(days["unpaired_low"])
    assert days["note"] == "fixed times: the difference is exact"
    assert rows.loc["trips", "note"] == "no difference"
    assert rows.loc["share_within_target", "note"] == "both meet the target in every case"


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
    table = compare(case_rows(rows), table_scenario())
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
    days = compare(case_rows(rows), table_scenario()).set_index("metric").loc["mean_days"]
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
        compare(cases, table_scenario())
    only_baseline = case_rows([{"elapsed_working_days": 1.0}])
    assert compare(only_baseline, table_scenario()).empty
