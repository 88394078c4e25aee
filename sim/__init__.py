"""approvalsim: simulate government approval and utility-connection procedures and their reforms.

Importing the package loads neither simpy nor matplotlib: the engine and the plots import
them when they are used.
"""

__version__ = "0.1.0"


def run(scenario=None, replications=None, seed=None, variants=None, executor="serial", **options):
    """Run a scenario (a path, a loaded `Scenario`, or None for the bundled demo).

    Args:
        scenario: Scenario file path or loaded scenario.
        replications: How many replications (default: the scenario's).
        seed: Root seed (default: the scenario's).
        variants: Variant names (default: all).
        executor: ``serial`` (default here), ``process``, ``dask`` or an Executor.
        **options: Further options of `sim.experiment.run_experiment` (``workers``,
            ``scheduler``, ``engine``, ``cache``, ``steps``).

    Returns:
        A `sim.experiment.RunResult` whose ``cases``, ``steps`` (the first
        replication's, or every one's with ``steps="all"``), ``queues``, ``summary``,
        ``comparison`` and ``agencies`` are pandas DataFrames.
    """
    from sim.experiment import run_experiment, summarize_result
    from sim.loader import load_scenario
    from sim.model import Scenario

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
    return summarize_result(result)
