"""Analysis of a run: summary, paired comparison and agency load, with their intervals.

A fixed-time engine's run (`sim.engines.Engine.random` false: one path, no randomness)
gets its figures without intervals, its comparison as exact differences, and no staff
utilisation.
"""

from __future__ import annotations

from dataclasses import replace

from sim.analysis.agencies import agency_load, without_utilisation
from sim.analysis.cases import split_cases
from sim.analysis.comparison import compare
from sim.analysis.summary import summarize
from sim.engines import engine
from sim.engines.collector import collector_paused
from sim.run.experiment import RunResult


def summarize_run(result: RunResult, workers: int | None = None) -> RunResult:
    """The run with its summary, comparison and agency tables.

    Args:
        result: The run (`sim.run.experiment.run_experiment`).
        workers: Processes making the per-replication figures side by side (None: one
            a core; 1: this process).
    """
    scenario = result.scenario
    agencies = {name: scenario.model(name).agencies for name in result.variants}
    fixed = not engine(result.engine).random
    with collector_paused():
        split = split_cases(result.cases, scenario, result.figures) if len(result.cases) else None
        if split is not None:
            split.make_figures(workers)
        load = agency_load(
            result.steps, result.busy, scenario, agencies=agencies, queues=result.queues
        )
        return replace(
            result,
            summary=summarize(result.cases, scenario, split=split, fixed=fixed),
            comparison=compare(result.cases, scenario, split=split, fixed=fixed),
            agencies=without_utilisation(load) if fixed else load,
        )
