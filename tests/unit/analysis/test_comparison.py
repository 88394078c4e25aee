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
