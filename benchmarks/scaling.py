"""Replication scaling: the bundled default scenario on 1 and 2 worker processes.

Run on demand (never in the test suite):

    .venv/bin/python benchmarks/scaling.py                 # 30 replications, 1 and 2 workers
    .venv/bin/python benchmarks/scaling.py --replications 6

Prints the wall time of each run, replications per second and the speed-up from 1 to 2
workers, and checks that both runs gave byte-identical case tables.
"""

from __future__ import annotations

import argparse
import time

from sim.experiment import run_experiment
from sim.loader import load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=None, help="scenario file (default: demo)")
    parser.add_argument("--replications", type=int, default=30)
    parser.add_argument("--seed", type=int, default=None)
    arguments = parser.parse_args()
    scenario = load_scenario(arguments.scenario)
    timings, tables = {}, {}
    for workers in (1, 2):
        start = time.perf_counter()
        result = run_experiment(
            scenario,
            replications=arguments.replications,
            seed=arguments.seed,
            executor="process",
            workers=workers,
        )
        timings[workers] = time.perf_counter() - start
        tables[workers] = result.cases.to_csv(index=False)
        print(
            f"{scenario.name}: {arguments.replications} replications x "
            f"{len(result.variants)} variants, {workers} worker(s): {timings[workers]:.1f} s "
            f"({arguments.replications / timings[workers]:.2f} replications/s, "
            f"{len(result.cases):,} cases)"
        )
    print(f"speed-up from 1 to 2 workers: {timings[1] / timings[2]:.2f}x")
    print("identical case tables:", tables[1] == tables[2])


if __name__ == "__main__":
    main()
