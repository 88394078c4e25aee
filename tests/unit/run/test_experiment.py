"""Experiments: replications, variants sharing their draws, the Python API's tables."""

from __future__ import annotations

import pandas as pd
import pytest

import sim
from sim import load_scenario
from sim.analysis import summarize_run
from sim.engines.records import CASE_COLUMNS, STEP_COLUMNS
from sim.output.tables import write_tables
from sim.run.experiment import run_experiment
from tests.factories import (
    PROJECT_ROOT,
    agencies,
    intake_review_scenario,
    one_step,
    scenario_text,
    write_case,
)


def test_common_random_numbers_narrow_the_paired_interval(tmp_path):
    # A lightly loaded review (three staff): the reform's effect hardly depends on the
    # replication's luck, so pairing by common random numbers removes most of the noise.
    path = intake_review_scenario(tmp_path, staff=3)
    result = sim.run(load_scenario(path), replications=8, seed=3)
    row = result.comparison.query(
        "variant == 'faster_review' and procedure == 'proc' and metric == 'mean_days'"
    ).iloc[0]
    paired = row.difference_high - row.difference_low
    unpaired = row.unpaired_high - row.unpaired_low
    assert row.difference < 0
    assert paired < unpaired / 3, (paired, unpaired)


def test_same_arrivals_and_attributes_in_every_variant(scenario_path):
    result = run_experiment(load_scenario(scenario_path), replications=1, seed=4)
    cases = result.cases.set_index(["variant", "case_id"])
    base, reform = cases.loc["baseline"].sort_index(), cases.loc["faster_review"].sort_index()
    assert base.index.equals(reform.index)
    assert base.arrival_day.equals(reform.arrival_day)
    assert base.attributes.equals(reform.attributes)


def test_python_api_tables_have_the_documented_schema(scenario_path, tmp_path):
    from sim.analysis.agencies import AGENCY_COLUMNS
    from sim.analysis.comparison import COMPARISON_COLUMNS
    from sim.analysis.summary import SUMMARY_COLUMNS

    result = sim.run(str(scenario_path), replications=2, seed=2)
    assert tuple(result.cases.columns) == CASE_COLUMNS
    assert tuple(result.steps.columns) == STEP_COLUMNS
    assert tuple(result.summary.columns) == SUMMARY_COLUMNS
    assert tuple(result.comparison.columns) == COMPARISON_COLUMNS
    assert tuple(result.agencies.columns) == AGENCY_COLUMNS
    assert set(result.summary.variant) == {"baseline", "faster_review"}
    written = write_tables(summarize_run(result), tmp_path / "tables")
    assert all(path.stat().st_size > 0 for path in written)


def test_step_rows_of_the_first_replication_by_default_queue_figures_of_all(scenario_path):
    scenario = load_scenario(scenario_path)
    first = summarize_run(run_experiment(scenario, replications=3, seed=5))
    every = summarize_run(run_experiment(scenario, replications=3, seed=5, steps="all"))
    assert set(first.steps.replication) == {0}
    assert set(every.steps.replication) == {0, 1, 2}
    assert first.cases.equals(every.cases)
    assert first.agencies.equals(every.agencies)
    desk = every.steps[(every.steps.variant == "baseline") & (every.steps.agency == "desk")]
    per_replication = desk.groupby("replication").queue_days.mean()
    row = first.agencies.set_index(["variant", "agency"]).loc[("baseline", "desk")]
    assert row.mean_queue_days == pytest.approx(per_replication.mean())


def test_no_step_rows_when_nothing_reads_them_the_same_agency_table():
    """``steps="none"`` (a run without report, event log or step table) makes no step
    rows; one replication's agency intervals come from the batch means its worker made."""
    scenario = load_scenario(PROJECT_ROOT / "scenarios" / "demo.yaml")
    kept = summarize_run(run_experiment(scenario, replications=1, seed=5))
    none = summarize_run(run_experiment(scenario, replications=1, seed=5, steps="none"))
    assert len(kept.steps) and none.steps.empty
    assert none.agencies["mean_queue_days_low"].notna().any()
    pd.testing.assert_frame_equal(kept.agencies, none.agencies)
    pd.testing.assert_frame_equal(kept.summary, none.summary)


def test_variants_sharing_a_replications_draws_give_the_same_tables(tmp_path):
    """Run together, variants share the draws of procedures they leave unchanged.

    The bundled scenario (every procedure, conditional reforms, bundles, joint steps,
    commitments) over a short horizon: one task for the whole replication gives the
    same tables as one task a variant.
    """
    from sim.run.experiment import run_replication

    bundled = PROJECT_ROOT / "scenarios" / "demo.yaml"
    text = bundled.read_text(encoding="utf-8")
    text = text.replace("working_days: 240 ", "working_days: 30 ", 1)
    text = text.replace("drain_working_days: 240", "drain_working_days: 120", 1)
    path = tmp_path / "short.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.horizon.arrival_days == 30
    names = scenario.variant_names
    together = run_replication(scenario, 1, 7, names)
    apart = [run_replication(scenario, 1, 7, (name,)) for name in names]
    assert len(together.cases) > 1000
    for table in ("cases", "steps", "busy", "queues"):
        one_by_one = pd.concat([getattr(part, table) for part in apart], ignore_index=True)
        pd.testing.assert_frame_equal(getattr(together, table), one_by_one)


def test_replications_do_not_depend_on_how_many_are_asked(tmp_path):
    procedure = one_step("{type: exponential, mean: 0.5}", target=3)
    path = write_case(tmp_path, procedure, scenario_text(agencies=agencies(desk=2, review=1)))
    scenario = load_scenario(path)
    three = run_experiment(scenario, replications=3, seed=5)
    two = run_experiment(scenario, replications=2, seed=5)
    assert three.cases[three.cases.replication < 2].reset_index(drop=True).equals(two.cases)
