"""The NumPy engine end to end: engine only, with its tables, and as a run's replication does it.

Times, at each size and seed, taking turns in one process (the standard model of
`run_benchmarks.py`):

- the NumPy engine alone (`sim.engines.vectorised.simulate`, unlimited staff);
- the same plus the case and step tables (`Records.frames`), the "with frames" figure of
  `run_benchmarks.py`;
- `sim.run.experiment.run_replication` with the NumPy engine, without the step rows
  (``keep_steps=False``: the case table, its figures and the queue totals; what a run
  does for every replication after the first) and with them;
- the DES engine (staffed) alone and with its tables.

Prints the median of each (cases/s) and the ratios engine-only / end to end, the median
of the per-seed ratios. Used for issue 20's NumPy target (`benchmarks/README.md`, Scale,
part 3)::

    nice -n 10 .venv/bin/python benchmarks/numpy_end_to_end.py --sizes 10000 100000 --seeds 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_benchmarks import load_standard  # noqa: E402

from sim.domain.model import Model  # noqa: E402
from sim.engines import compiled, vectorised  # noqa: E402
from sim.run.experiment import run_replication  # noqa: E402

NUMPY_ENGINE = "NumPy engine alone"
NUMPY_TABLES = "NumPy engine + case and step tables"
NUMPY_NO_STEPS = "run_replication, numpy, keep_steps=False"
NUMPY_STEPS = "run_replication, numpy, keep_steps=True"
DES_ENGINE = "DES engine alone (staffed)"
DES_TABLES = "DES engine + case and step tables (staffed)"


def timed(work) -> tuple[float, object]:
    """Wall seconds of ``work()`` and its result."""
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def one_seed(unlimited, staffed, seed: int, des: bool) -> dict[str, tuple[float, int]]:
    """Seconds and cases of each way of running, for one seed."""
    model = Model.baseline(unlimited)
    sequence = np.random.SeedSequence(seed)
    seconds: dict[str, tuple[float, int]] = {}
    engine_seconds, records = timed(lambda: vectorised.simulate(model, sequence))
    cases = records.case_count
    seconds[NUMPY_ENGINE] = (engine_seconds, cases)
    del records
    total, _ = timed(lambda: vectorised.simulate(model, sequence).frames(unlimited.calendar))
    seconds[NUMPY_TABLES] = (total, cases)
    variants = [model.variant]
    for name, keep in ((NUMPY_NO_STEPS, False), (NUMPY_STEPS, True)):
        total, _ = timed(
            lambda keep=keep: run_replication(unlimited, 0, seed, variants, "numpy", keep)
        )
        seconds[name] = (total, cases)
    if des:
        staffed_model = Model.baseline(staffed)
        engine_seconds, records = timed(lambda: compiled.simulate(staffed_model, sequence))
        cases = records.case_count
        seconds[DES_ENGINE] = (engine_seconds, cases)
        del records
        total, _ = timed(
            lambda: compiled.simulate(staffed_model, sequence).frames(staffed.calendar)
        )
        seconds[DES_TABLES] = (total, cases)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seeds", type=int, default=7, help="seeds a size (after a warm-up)")
    parser.add_argument("--no-des", action="store_true", help="skip the DES engine")
    arguments = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, DES engine "
        f"{compiled.implementation()}"
    )
    for size in arguments.sizes:
        unlimited = load_standard(size, unlimited=True)
        staffed = load_standard(size)
        one_seed(unlimited, staffed, 99, des=False)  # warm-up: imports, case ids
        runs = [
            one_seed(unlimited, staffed, 100 + seed, not arguments.no_des)
            for seed in range(arguments.seeds)
        ]
        print(f"\n{size:,} cases a replication, {arguments.seeds} seeds (median cases/s):")
        for name in runs[0]:
            rates = [run[name][1] / run[name][0] for run in runs]
            print(
                f"  {name:48s} {statistics.median(rates):>12,.0f}   "
                f"(min {min(rates):,.0f}, max {max(rates):,.0f})"
            )
        for name in (NUMPY_TABLES, NUMPY_NO_STEPS, NUMPY_STEPS):
            ratios = [run[name][0] / run[NUMPY_ENGINE][0] for run in runs]
            print(
                f"  engine-only / {name}: {statistics.median(ratios):.2f}x "
                f"(per seed: {', '.join(f'{ratio:.2f}' for ratio in ratios)})"
            )
        if not arguments.no_des:
            ratios = [run[DES_TABLES][0] / run[DES_ENGINE][0] for run in runs]
            print(f"  DES engine-only / with tables: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
