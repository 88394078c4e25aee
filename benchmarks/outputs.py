"""What a run writes, how large and how fast: the report, the results folder, the README tour.

    .venv/bin/python benchmarks/outputs.py                 # everything, about 20-30 min
    .venv/bin/python benchmarks/outputs.py --only report   # the two reports, about 10 min
    .venv/bin/python benchmarks/outputs.py --only tour     # the README tour's commands

``report``: the demo (its 5 replications) and jingmen_2024 with the reform contributions
(``--contributions-replications``, default 5): each run is simulated once, then the
report is made from the finished run (the median cases and slow tails, the saved data,
the workbook and the two pages: what ``approvalsim run`` adds after simulating) three
times, and its size and the median time are printed. ``tour``: each command of the
README's tour in a fresh folder, with its wall time, peak memory (``/usr/bin/time``) and
the bytes it wrote. Figures go to benchmarks/README.md by hand, with the date and machine.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOUR = (
    "approvalsim list",
    "approvalsim validate scenarios/baoji_2022.yaml",
    "approvalsim run",
    "approvalsim report results/demo --lang en -o results/demo_en",
    "approvalsim run scenarios/demo.yaml -r 2 --variant full_package -o results/demo_package",
    "approvalsim compare results/demo results/demo_package -o results/demo_compare",
    "approvalsim run --engine deterministic -o results/demo_doing_business",
    "approvalsim sweep scenarios/demo.yaml -r 2 --set agencies.housing_bureau.staff=6..12..2 "
    "--set procedures.construction_social.arrivals_per_day=0.5,1",
    "approvalsim clean",
    # Heavier ones, marked with their cost in the README.
    "approvalsim run scenarios/baoji_2022.yaml -r 10",
    "approvalsim run scenarios/jingmen_2024.yaml -r 2 --contributions --lang en "
    "-o results/jingmen_en",
    "approvalsim run scenarios/demo.yaml -r 2 --eventlog xes -o results/demo_log",
    "approvalsim run scenarios/demo.yaml --keep all --format parquet -o results/demo_all",
)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure_report(name: str, contributions: int | None, repeats: int = 3) -> None:
    import sim
    from sim.analysis.contributions import reform_contributions
    from sim.cli import _report_files
    from sim.output.rundata import (
        load_saved,
        report_tables,
        run_about,
        scenario_data,
        write_run_data,
    )
    from sim.output.workbook import write_workbook

    scenario = sim.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    start = time.perf_counter()
    result = sim.run(scenario, executor="process", workers=2, cache=False)
    simulated = time.perf_counter() - start
    table = None
    if contributions:
        start = time.perf_counter()
        table = reform_contributions(
            scenario, replications=contributions, executor="process", workers=2
        )
        took = time.perf_counter() - start
        print(f"{name}: contributions ({contributions} replications) {took:.1f} s")
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            start = time.perf_counter()
            data = report_tables(result, workers=2)
            from sim.output.tables import write_tables

            write_tables(result, folder, workers=2)
            write_run_data(folder, scenario_data(scenario, tuple(result.variants)), data, table)
            saved = load_saved(folder, run_about(result, "des"), table is not None)
            write_workbook(saved, folder / "results.xlsx", "zh")
            written = _report_files(saved, folder, "zh")
            times.append(time.perf_counter() - start)
            sizes = {p.name: p.stat().st_size for p in written}
            sizes["report_data.json"] = (folder / "report_data.json").stat().st_size
            sizes["scenario.json"] = (folder / "scenario.json").stat().st_size
            sizes["results.xlsx"] = (folder / "results.xlsx").stat().st_size
    print(
        f"{name}: {len(result.variants)} variants x {result.replications} replications "
        f"simulated in {simulated:.1f} s; tables + report data + workbook + report in "
        f"{statistics.median(times):.1f} s (median of {repeats}: "
        f"{', '.join(f'{t:.1f}' for t in times)})"
    )
    for file, size in sizes.items():
        print(f"  {file}: {size / 1e6:.2f} MB")


def tour() -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        os.symlink(ROOT / "scenarios", folder / "scenarios")
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        for command in TOUR:
            before = folder_bytes(folder / "results") if (folder / "results").exists() else 0
            timed = ["/usr/bin/time", "-f", "%e %M", *shlex.split(command), "-q"]
            if command.split()[1] in ("list", "validate", "clean", "compare", "report"):
                timed = timed[:-1]
            done = subprocess.run(timed, cwd=folder, capture_output=True, text=True, env=env)
            wall, peak = done.stderr.strip().splitlines()[-1].split()
            after = folder_bytes(folder / "results") if (folder / "results").exists() else 0
            status = "" if done.returncode == 0 else f" (exit {done.returncode})"
            print(
                f"{float(wall):7.1f} s {int(peak) / 1e6:6.2f} GB peak "
                f"{(after - before) / 1e6:+9.1f} MB  {command}{status}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("report", "tour"))
    parser.add_argument("--contributions-replications", type=int, default=5)
    args = parser.parse_args()
    if args.only in (None, "report"):
        measure_report("demo", None)
        measure_report("jingmen_2024", args.contributions_replications)
    if args.only in (None, "tour"):
        tour()


if __name__ == "__main__":
    main()
