"""`summarize_run`: the per-replication figures made side by side are the same tables."""

from __future__ import annotations

from sim import load_scenario
from sim.analysis import summarize_run
from sim.run.experiment import run_experiment


def test_summary_figures_made_side_by_side_are_the_same(scenario_path):
    """Forked workers make the per-replication figures; the tables are the same bytes."""
    scenario = load_scenario(scenario_path)
    one = summarize_run(run_experiment(scenario, replications=3, seed=4), workers=1)
    two = summarize_run(run_experiment(scenario, replications=3, seed=4), workers=2)
    for table in ("summary", "comparison", "agencies"):
        first, second = getattr(one, table), getattr(two, table)
        assert len(first) > 0, table
        assert first.to_csv(index=False) == second.to_csv(index=False), table
