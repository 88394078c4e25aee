"""approvalsim: simulate government approval and utility-connection procedures and their reforms.

The package reads as the data flows: `sim.domain` (model objects, distributions,
conditions, the working-day calendar) -> `sim.inputs` (files) -> `sim.reforms` ->
`sim.engines` -> `sim.run` (experiments, executors) -> `sim.analysis` -> `sim.output`
(text, figures, report, event logs) -> `sim.cli`. From Python::

    import sim
    result = sim.run("scenarios/demo.yaml", replications=5)
    result.summary
"""

from __future__ import annotations

from pathlib import Path

from sim.analysis import summarize_run
from sim.domain.errors import InputError
from sim.domain.model import Scenario
from sim.inputs.loader import load_procedure
from sim.output.report import write_report
from sim.reforms import load_scenario
from sim.run.experiment import RunResult, run_experiment

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "RunResult",
    "Scenario",
    "load_procedure",
    "load_scenario",
    "run",
    "write_report",
]


def run(
    scenario: Scenario | Path | str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    variants: list[str] | None = None,
    executor: str = "serial",
    **options,
) -> RunResult:
    """Run a scenario (a path, a loaded `Scenario`, or None for the bundled demo).

    Args:
        scenario: Scenario file path or loaded scenario.
        replications: How many replications (default: the scenario's).
        seed: Root seed (default: the scenario's).
        variants: Variant names (default: all).
        executor: ``serial`` (default here), ``process``, ``dask`` or an Executor.
        **options: Further options of `sim.run.experiment.run_experiment` (``workers``,
            ``scheduler``, ``engine``, ``cache``, ``steps``).

    Returns:
        The run, whose ``cases``, ``steps`` (the first replication's, or every one's
        with ``steps="all"``), ``queues``, ``summary``, ``comparison`` and ``agencies``
        are pandas DataFrames.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    result = run_experiment(
        scenario,
        replications=replications,
        seed=seed,
        variants=variants,
        executor=executor,
        **options,
    )
    return summarize_run(result, workers=options.get("workers"))
