"""A replication's figures, made where it runs, are the figures the analysis made from
every case row: the summary and comparison are the same from either, value for value."""

from __future__ import annotations

import pandas as pd

from sim import load_scenario
from sim.analysis.cases import split_cases
from sim.analysis.comparison import compare
from sim.analysis.summary import summarize
from sim.run.experiment import run_experiment
from sim.run.figures import FIGURE_COLUMNS, replication_figures


def test_summary_and_comparison_from_the_figures_equal_those_from_every_case_row(scenario_path):
    scenario = load_scenario(scenario_path)
    every = run_experiment(scenario, replications=4, seed=9)
    first = run_experiment(scenario, replications=4, seed=9, cases="first")
    assert set(first.cases["replication"]) == {0}
    assert list(first.figures.columns) == list(FIGURE_COLUMNS)
    assert sorted(set(first.figures["replication"])) == [0, 1, 2, 3]
    split = split_cases(first.cases, scenario, first.figures)
    pd.testing.assert_frame_equal(
        summarize(first.cases, scenario, split=split), summarize(every.cases, scenario)
    )
    pd.testing.assert_frame_equal(
        compare(first.cases, scenario, split=split), compare(every.cases, scenario)
    )


def test_figures_of_one_replication_name_every_variant_and_declared_procedure(scenario_path):
    scenario = load_scenario(scenario_path)
    result = run_experiment(scenario, replications=1, seed=2)
    figures = replication_figures(result.cases, scenario)
    declared = [demand.procedure.id for demand in scenario.demands]
    assert list(figures["variant"]) == [v for v in result.variants for _ in declared]
    assert figures["arrived"].sum() == (
        result.cases["arrival_day"] >= scenario.horizon.warmup_days
    ).sum()
    assert len(replication_figures(result.cases.iloc[:0], scenario)) == 0
