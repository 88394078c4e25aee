"""Replications, executors, resuming, common random numbers, the Python API schema."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim import load_scenario
from sim.analysis import summarize_run
from sim.engines.records import CASE_COLUMNS, STEP_COLUMNS
from sim.output.tables import write_tables
from sim.run.experiment import run_experiment
from tests.conftest import scenario_text, write_case

PROCEDURE = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 3, source: "test"}
attributes:
  - {id: size, kind: categorical, shares: {small: 0.7, large: 0.3}, source: "test"}
steps:
  - id: intake
    name: {zh: 受理, en: Intake}
    agency: desk
    handling: {type: exponential, mean: 0.3}
    materials: [{id: form, name: 表, kind: main, probability_defective: 0.2}]
    send_back: {response: {type: exponential, mean: 2}, max_resubmissions: 2}
    source: "test"
  - id: review
    name: {zh: 审查, en: Review}
    agency: review
    handling: {type: lognormal, median: 0.6, p90: 1.5}
    after: [intake]
    source: "test"
"""

AGENCIES = """
agencies:
  - {id: desk, name: {zh: 窗口, en: Desk}, staff: 2, source: "test"}
  - {id: review, name: {zh: 审查, en: Review}, staff: 2, source: "test"}
"""

VARIANTS = """
variants:
  - name: faster_review
    reforms:
      - {type: time_limit, procedure: proc, steps: [review], scale: 0.8, source: "test"}
"""


@pytest.fixture
def scenario_path(tmp_path):
    text = scenario_text(agencies=AGENCIES, rate=2.0, days=60, drain=60, extra=VARIANTS)
    return write_case(tmp_path, PROCEDURE, text)


def _tables(result) -> bytes:
    return result.cases.to_csv(index=False).encode() + result.steps.to_csv(index=False).encode()


def test_serial_process_and_dask_give_the_same_bytes(scenario_path):
    scenario = load_scenario(scenario_path)
    serial = run_experiment(scenario, replications=4, seed=9, executor="serial")
    pool = run_experiment(scenario, replications=4, seed=9, executor="process", workers=2)
    single = run_experiment(scenario, replications=4, seed=9, executor="process", workers=1)
    assert _tables(serial) == _tables(pool) == _tables(single)
    pytest.importorskip("distributed")
    dask = run_experiment(scenario, replications=4, seed=9, executor="dask", workers=2)
    assert _tables(serial) == _tables(dask)


def test_common_random_numbers_narrow_the_paired_interval(tmp_path):
    # A lightly loaded review (three staff): the reform's effect hardly depends on the
    # replication's luck, so pairing by common random numbers removes most of the noise.
    agencies = AGENCIES.replace("staff: 2, source: \"test\"}\n", "staff: 3, source: \"test\"}\n")
    text = scenario_text(agencies=agencies, rate=2.0, days=60, drain=60, extra=VARIANTS)
    path = write_case(tmp_path, PROCEDURE, text)
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


def test_resume_computes_only_what_is_missing(scenario_path, tmp_path):
    scenario = load_scenario(scenario_path)
    cache = tmp_path / "cache"
    first = run_experiment(scenario, replications=2, seed=1, cache=cache)
    assert first.computed == 2
    again = run_experiment(scenario, replications=3, seed=1, cache=cache)
    assert again.computed == 1
    fresh = run_experiment(scenario, replications=3, seed=1)
    assert _tables(again) == _tables(fresh)
    other_seed = run_experiment(scenario, replications=1, seed=2, cache=cache)
    assert other_seed.run_id != first.run_id and other_seed.computed == 1


def test_killed_run_resumes_without_losing_or_doubling(scenario_path, tmp_path):
    output = tmp_path / "out"
    command = [
        sys.executable, "-m", "sim", "run", str(scenario_path), "-q",
        "--replications", "60", "--executor", "serial", "--output", str(output), "--no-report",
    ]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        finished = list(output.glob("runs/*/replication_*.pkl"))
        if len(finished) >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    finished = list(output.glob("runs/*/replication_*.pkl"))
    assert 2 <= len(finished) < 60, "the run should have been interrupted part-way"
    assert not list(output.glob("runs/*/.*tmp")), "no half-written file is left behind"
    assert not (output / "cases.csv").exists()
    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "reused from an earlier run" in resumed.stdout
    whole = tmp_path / "whole"
    command[command.index(str(output))] = str(whole)
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    for name in ("cases.csv", "steps.csv", "summary.csv", "comparison.csv"):
        assert (output / name).read_bytes() == (whole / name).read_bytes(), name


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
    _ = os


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


def test_resume_recomputes_replications_saved_without_the_steps_now_wanted(
    scenario_path, tmp_path
):
    scenario = load_scenario(scenario_path)
    cache = tmp_path / "cache"
    run_experiment(scenario, replications=2, seed=1, cache=cache)
    again = run_experiment(scenario, replications=2, seed=1, cache=cache, steps="all")
    assert again.computed == 1
    assert set(again.steps.replication) == {0, 1}


def test_tables_formatted_side_by_side_are_the_same_bytes(scenario_path, tmp_path, monkeypatch):
    import sim.output.tables

    result = summarize_run(run_experiment(load_scenario(scenario_path), replications=2, seed=3))
    monkeypatch.setattr(sim.output.tables, "CSV_CHUNK_ROWS", 97)  # many chunks, odd edges
    one = write_tables(result, tmp_path / "one", workers=1)
    two = write_tables(result, tmp_path / "two", workers=2)
    assert [path.name for path in one] == [path.name for path in two]
    for first, second in zip(one, two, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
    cases = (tmp_path / "one" / "cases.csv").read_text(encoding="utf-8")
    assert cases == result.cases.to_csv(index=False, lineterminator="\n")
    assert len(result.cases) > 3 * 97


def test_the_cycle_collector_is_paused_for_a_run_and_resumed_after(scenario_path):
    import gc

    from sim.engines.collector import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves the outer one's pause alone
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("an error inside")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # paused by the caller: left paused
    finally:
        gc.enable()
    run_experiment(load_scenario(scenario_path), replications=1, seed=2)
    assert gc.isenabled()


def test_variants_sharing_a_replications_draws_give_the_same_tables(tmp_path):
    """Run together, variants share the draws of procedures they leave unchanged.

    The bundled scenario (every procedure, conditional reforms, bundles, joint steps,
    commitments) over a short horizon: one task for the whole replication gives the
    same tables as one task a variant.
    """
    from sim.run.experiment import run_replication

    bundled = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"
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


def test_shared_draws_belong_to_one_replication():
    import numpy as np

    from sim.engines.draws import SharedDraws, shared_draws

    first, second = np.random.SeedSequence(1).spawn(2)
    shared = SharedDraws(first)
    assert shared_draws(shared, np.random.SeedSequence(1).spawn(1)[0]) is shared  # equal seeds
    with pytest.raises(ValueError, match="another replication"):
        shared_draws(shared, second)
    assert shared_draws(None, second).seed_sequence is second


def test_whole_replications_from_a_pool_are_saved_and_resumed(scenario_path, tmp_path):
    scenario = load_scenario(scenario_path)
    cache = tmp_path / "cache"
    # Four replications for one worker: a task is a whole replication.
    first = run_experiment(
        scenario, replications=4, seed=3, executor="process", workers=1, cache=cache
    )
    again = run_experiment(scenario, replications=4, seed=3, cache=cache)
    assert (first.computed, again.computed) == (4, 0)
    apart = run_experiment(scenario, replications=4, seed=3, executor="process", workers=2)
    assert _tables(first) == _tables(again) == _tables(apart)  # two workers: one variant a task
    assert first.queues.equals(again.queues) and first.queues.equals(apart.queues)


def test_summary_figures_made_side_by_side_are_the_same(scenario_path):
    """Forked workers make the per-replication figures; the tables are the same bytes."""
    scenario = load_scenario(scenario_path)
    one = summarize_run(run_experiment(scenario, replications=3, seed=4), workers=1)
    two = summarize_run(run_experiment(scenario, replications=3, seed=4), workers=2)
    for table in ("summary", "comparison", "agencies"):
        first, second = getattr(one, table), getattr(two, table)
        assert len(first) > 0, table
        assert first.to_csv(index=False) == second.to_csv(index=False), table
