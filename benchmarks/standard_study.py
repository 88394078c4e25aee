"""The standard study: every bundled procedure x 5 variants x 30 replications x one year.

Run on demand (never in the test suite):

    .venv/bin/python benchmarks/standard_study.py       # 30 replications, 1 and 2 workers
    .venv/bin/python benchmarks/standard_study.py --workers 2 --replications 6

The study is the bundled demo scenario (all ten procedures at the arrival rates of a
city of about 3 million people, one year of arrivals plus the drain, the calendar of
2025-2026) with its baseline and three variants, plus a fifth variant that adds staff
at the five busiest agencies (the staffing question planners sweep). It runs as
`approvalsim run` does (process pool, finished replications saved for resuming), then
computes the summary, comparison and agency tables. Printed: wall time of each phase,
cases simulated per second, the speed-up from 1 to 2 workers, and whether both worker
counts gave byte-identical tables.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from sim import load_scenario
from sim.analysis import summarize_run
from sim.engines import compiled as engine
from sim.run.experiment import run_experiment

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "scenarios" / "demo.yaml"
FIFTH_VARIANT = """
  - name: more_staff
    title: "繁忙窗口增员 (more staff at the five busiest agencies)"
    source: "assumption: a benchmark variant, one more staff member at five busy agencies"
    reforms:
"""
BUSIEST = ("market_regulator", "tax_bureau", "grid_company", "property_registry", "water_company")


def study_scenario(folder: Path):
    """The demo scenario with the fifth variant, written into ``folder`` and loaded."""
    text = DEMO.read_text(encoding="utf-8").rstrip("\n") + "\n" + FIFTH_VARIANT
    for agency in BUSIEST:
        text += (
            f"      - {{type: add_staff, label: more_{agency}, agency: {agency}, add: 1, "
            'source: "assumption: benchmark variant"}\n'
        )
    path = folder / "standard_study.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def run(scenario, replications: int, workers: int, cache: Path) -> tuple[dict, object]:
    """Run the study once; wall time of each phase."""
    timings = {}
    started = time.perf_counter()
    result = run_experiment(
        scenario, replications=replications, executor="process", workers=workers, cache=cache
    )
    timings["simulate"] = time.perf_counter() - started
    started = time.perf_counter()
    summarize_run(result, workers=workers)
    timings["summarize"] = time.perf_counter() - started
    timings["total"] = timings["simulate"] + timings["summarize"]
    return timings, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="approvalsim-study-"))
    try:
        scenario = study_scenario(folder)
        totals, tables = {}, {}
        for workers in arguments.workers:
            cache = folder / f"runs-{workers}"
            timings, result = run(scenario, arguments.replications, workers, cache)
            totals[workers] = timings["total"]
            if len(arguments.workers) > 1:  # writing 3M rows as text takes half a minute
                tables[workers] = result.cases.to_csv(index=False) + result.summary.to_csv(
                    index=False
                )
            cases = len(result.cases)
            print(
                f"{len(scenario.demands)} procedures x {len(result.variants)} variants x "
                f"{arguments.replications} replications, {workers} worker(s): "
                f"simulate {timings['simulate']:.1f} s, summarize {timings['summarize']:.1f} s, "
                f"total {timings['total']:.1f} s; {cases:,} cases "
                f"({cases / timings['simulate']:,.0f} cases/s simulated)",
                flush=True,
            )
        print(f"engine: {engine.implementation()} (`sim.engine`)")
        if 1 in totals and 2 in totals:
            print(f"speed-up from 1 to 2 workers: {totals[1] / totals[2]:.2f}x")
        if len(tables) > 1:
            print("identical tables:", len(set(tables.values())) == 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
