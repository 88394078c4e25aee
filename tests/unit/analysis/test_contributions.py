"""Reform contributions: each reform alone and cumulatively, and reforms that cannot stand
alone."""

from __future__ import annotations

import pandas as pd
import pytest

from sim import load_scenario
from sim.analysis.contributions import (
    contribution_variants,
    contributions_table,
    reform_contributions,
)
from sim.run.experiment import run_experiment
from tests.conftest import PACKAGE
from tests.factories import four_step_scenario


def test_contributions_alone_and_cumulative(small_run):
    result, contributions = small_run
    rows = contributions[contributions["procedure"] == "proc"]
    assert sorted(rows["mode"].unique()) == ["alone", "cumulative"]
    assert list(rows.loc[rows["mode"] == "cumulative", "position"]) == [1, 2, 3]
    # The last prefix is the package itself: same seed, same numbers as the main run.
    last = rows[rows["mode"] == "cumulative"].iloc[-1]
    package = result.summary.query("variant == 'package' and procedure == 'proc'").iloc[0]
    assert last["share_within_target"] == pytest.approx(package["share_within_target"])
    steps = rows.loc[rows["mode"] == "cumulative", "share_within_target_step"].sum()
    assert steps == pytest.approx(last["share_within_target_change"])


def test_a_reform_that_cannot_stand_alone_gets_a_note(tmp_path):
    extra = """
variants:
  - name: merged
    reforms:
      - {type: merge, procedure: proc, steps: [review, permit], id: joint_review,
         name: {zh: 联合审查, en: Joint review}, agency: review, handling: 0.5, source: "test"}
      - {type: time_limit, procedure: proc, steps: [joint_review], scale: 0.5, source: "test"}
"""
    scenario = load_scenario(four_step_scenario(tmp_path, extra, rate=1.0, days=5, drain=30))
    changed, plan = contribution_variants(scenario, "merged")
    second = [e for e in plan if e["mode"] == "alone" and e["position"] == 2][0]
    assert second["synthetic"] is None and "joint_review" in second["note"]
    assert [v.name for v in changed.variants] == ["merged__alone_1", "merged__upto_2"]


def test_contributions_from_the_figures_are_those_from_every_case_row(tmp_path):
    # reform_contributions keeps replication 0's case rows and every replication's
    # figures: the same table, value for value, as from every replication's case rows.
    scenario = load_scenario(four_step_scenario(tmp_path, PACKAGE, rate=2.0, days=20))
    changed, plan = contribution_variants(scenario, "package")
    names = ["baseline", *(v.name for v in changed.variants)]
    every = run_experiment(changed, replications=3, seed=5, variants=names)
    first = run_experiment(changed, replications=3, seed=5, variants=names, cases="first")
    assert set(first.cases["replication"]) == {0} and len(first.figures)
    old = contributions_table(every.cases, changed, "package", plan)
    new = contributions_table(first.cases, changed, "package", plan, first.figures)
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert new.equals(reform_contributions(scenario, "package", replications=3, seed=5))
