"""Benchmark the engines on the standard model (run on demand; never part of the tests).

Usage (from the repository root, with the project's venv)::

    .venv/bin/python benchmarks/run_benchmarks.py                 # everything
    .venv/bin/python benchmarks/run_benchmarks.py --sizes 1000 10000 --runs 3
    .venv/bin/python benchmarks/run_benchmarks.py --no-prosimos   # skip Prosimos
    .venv/bin/python benchmarks/run_benchmarks.py --profile       # where the DES time goes
    .venv/bin/python benchmarks/run_benchmarks.py --no-check --no-prosimos --no-reference

What it does:

1. Makes a separate venv for Prosimos (``benchmarks/.prosimos-venv``, created with
   ``python -m venv`` and ``pip install prosimos``; Prosimos is never a dependency of the
   project). If that fails, it says so and carries on without Prosimos.
2. Checks that the three implementations of the standard model agree: our DES engine
   (``standard_model.yaml``), the plain SimPy script (``plain_simpy.py``) and Prosimos
   (``prosimos/``) at 10k cases, mean and P90 cycle time (working days, from arrival to
   the end of the last step). Different random numbers, so they agree within sampling
   error; "a few percent" is the bar. It also checks that the NumPy engine gives the
   DES engine's numbers case by case on the same model with unlimited staff.
3. Times 1k, 10k and 100k cases, several runs each, the engines taking turns in each
   run (so that a busy machine slows them alike), and prints cases/s (median over runs)
   and the ratios to the plain SimPy script measured in the same run (median of the
   per-run ratios). What is timed:
   - DES engine: ``sim.engine.simulate`` plus ``Records.frames`` (the case and step
     tables with calendar dates), on the staffed scenario: calendar, rules (a `when:`
     condition evaluated for every case) and full records;
   - SimPy reference model (``sim.engines.reference``, the DES engine's model in plain
     SimPy, the same records): timed as the DES engine, and checked to give the same
     case and step tables at 10k cases;
   - plain SimPy: ``plain_simpy.run`` (records arrival and end of each case only);
   - bare heapq loop: ``heapq_loop.run``, the same model as a plain-Python event loop (no
     framework, no calendar, rules or rows: the practical ceiling of plain Python);
     the ratios DES engine / heapq loop and DES engine / plain SimPy are printed per size
     (medians of the per-run ratios, both from the same runs);
   - Prosimos: ``run_simulation`` writing its event log (timed inside its own process);
   - NumPy engine, on the same model with ``staff: unlimited`` (it refuses staff
     limits): ``sim.engine_numpy.simulate`` (engine) and with ``Records.frames`` added;
   - DES engine on that unlimited-staff model, for comparison with the NumPy engine.
4. Calls the NumPy engine ``--numpy-calls`` times in one process at each size, after
   one warm-up call (as a sweep of variants and replications calls it), and prints the
   median, best and slowest times. The engine's records hold the step rows in pieces,
   joined by ``Records.frames``; the "with frames" figure above includes that.
5. Measures the peak memory per case of one replication (``--memory-sizes``, traced by
   `tracemalloc`): the DES engine alone, with its case and step tables, and the heapq loop.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import gc
import json
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".prosimos-venv"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import heapq_loop  # noqa: E402
import plain_simpy  # noqa: E402

from sim import load_scenario  # noqa: E402
from sim.domain.model import Model  # noqa: E402
from sim.engines import compiled as engine  # noqa: E402
from sim.engines import reference as engine_reference  # noqa: E402
from sim.engines import vectorised as engine_numpy  # noqa: E402

RATE = 50.0  # arrivals per working day in standard_scenario.yaml
REFERENCE = "SimPy reference model (staffed; the same records)"
HEAPQ = "bare heapq loop (arrival and end only)"


def load_standard(cases: int, unlimited: bool = False, drain: int = 100, scale: int = 1):
    """The standard scenario with a horizon that brings about ``cases`` arrivals.

    ``scale`` multiplies the arrivals and every agency's staff (the same utilisations),
    so that a million cases fit in the calendar's years.
    """
    folder = Path(tempfile.mkdtemp(prefix="approvalsim-bench-"))
    shutil.copy(HERE / "standard_model.yaml", folder / "standard_model.yaml")
    text = standard_text(cases, unlimited, drain, scale)
    (folder / "standard_scenario.yaml").write_text(text, encoding="utf-8")
    try:
        return load_scenario(folder / "standard_scenario.yaml")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def standard_text(cases: int, unlimited: bool = False, drain: int = 100, scale: int = 1) -> str:
    """The standard scenario's text, changed as `load_standard` says."""
    text = (HERE / "standard_scenario.yaml").read_text(encoding="utf-8")
    text = re.sub(
        r"horizon: \{.*\}",
        f"horizon: {{working_days: {cases / RATE / scale:g}, drain_working_days: {drain}}}",
        text,
    )
    if scale != 1:
        text = re.sub(r"arrivals_per_day: \d+", f"arrivals_per_day: {RATE * scale:g}", text)
        text = re.sub(r"staff: (\d+)", lambda m: f"staff: {int(m.group(1)) * scale}", text)
    if unlimited:
        text = re.sub(r"staff: \d+", "staff: unlimited", text)
    return text


def write_standard(cases: int, scale: int, folder: Path) -> None:
    """Write the standard model and its scenario for ``cases`` cases into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "standard_model.yaml", folder / "standard_model.yaml")
    scenario = folder / "standard_scenario.yaml"
    scenario.write_text(standard_text(cases, scale=scale), encoding="utf-8")
    print(f"wrote {scenario} (about {cases:,} cases a replication)")


def cycle_stats(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(np.quantile(values, 0.9))


# ----------------------------------------------------------------------------- Prosimos


def prosimos_python() -> Path | None:
    """The Prosimos venv's python, making the venv if needed; None if it cannot be had."""
    python = VENV / "bin" / "python"
    if python.exists() and _has_prosimos(python):
        return python
    print(f"Setting up Prosimos in {VENV} (python -m venv; pip install prosimos) ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "prosimos"],
            check=True,
            timeout=1800,
        )
    except (subprocess.SubprocessError, OSError) as error:
        print(f"Prosimos could not be installed ({error}); carrying on without it.")
        return None
    if not _has_prosimos(python):
        print("Prosimos installed but does not import; carrying on without it.")
        return None
    return python


def _has_prosimos(python: Path) -> bool:
    result = subprocess.run(
        [str(python), "-c", "import prosimos.simulation_engine"],
        capture_output=True,
    )
    return result.returncode == 0


def run_prosimos(python: Path, cases: int, seed: int) -> dict | None:
    """One Prosimos run in its venv; its own timing and cycle times, or None on failure."""
    try:
        result = subprocess.run(
            [str(python), str(HERE / "prosimos" / "run_prosimos.py"), str(cases), str(seed)],
            capture_output=True,
            text=True,
            timeout=7200,
            check=True,
        )
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as error:
        detail = getattr(error, "stderr", "") or ""
        print(f"Prosimos run failed ({error}) {detail[-500:]}")
        return None


# ----------------------------------------------------------------------------- engines


def time_des(scenario, seed: int, simulate=engine.simulate) -> tuple[float, int, object]:
    """Time an engine with the same records as the DES engine's (it, or the SimPy reference)."""
    model = Model.baseline(scenario)
    started = time.perf_counter()
    records = simulate(model, np.random.SeedSequence(seed))
    cases, steps = records.frames(scenario.calendar)
    seconds = time.perf_counter() - started
    return seconds, len(cases), cases


def time_numpy(scenario, seed: int) -> tuple[float, float, int, object]:
    model = Model.baseline(scenario)
    started = time.perf_counter()
    records = engine_numpy.simulate(model, np.random.SeedSequence(seed))
    engine_seconds = time.perf_counter() - started
    cases, steps = records.frames(scenario.calendar)
    total_seconds = time.perf_counter() - started
    return engine_seconds, total_seconds, len(cases), cases


def time_plain(cases: int, seed: int, run=plain_simpy.run) -> tuple[float, int, list]:
    """Time the plain SimPy script (or, given its ``run``, the bare heapq loop)."""
    started = time.perf_counter()
    done = run(cases, seed)
    return time.perf_counter() - started, len(done), done


# ----------------------------------------------------------------------------- checks


def agreement(python: Path | None, cases: int = 10_000, seed: int = 11) -> list[str]:
    lines = [f"### Agreement at {cases:,} cases (cycle time, working days)", ""]
    lines.append(
        "| implementation | cases | mean | P90 | mean vs plain SimPy | P90 vs plain SimPy |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|")
    _, count, done = time_plain(cases, seed)
    plain = cycle_stats([end - arrival for arrival, end in done])
    rows = [("plain SimPy script", count, plain)]
    _, count, done = time_plain(cases, seed, heapq_loop.run)
    rows.append(("bare heapq loop", count, cycle_stats([end - start for start, end in done])))
    _, count, table = time_des(load_standard(cases), seed)
    completed = table[table.status == "completed"]
    rows.append(("our DES engine", len(completed), cycle_stats(completed.elapsed_working_days)))
    if python is not None:
        result = run_prosimos(python, cases, seed)
        if result is not None:
            rows.append(("Prosimos", result["cases"], (result["mean"], result["p90"])))
    for name, count, (mean, p90) in rows:
        lines.append(
            f"| {name} | {count:,} | {mean:.3f} | {p90:.3f} | "
            f"{100 * (mean / plain[0] - 1):+.1f}% | {100 * (p90 / plain[1] - 1):+.1f}% |"
        )
    worst = max(
        max(abs(mean / plain[0] - 1), abs(p90 / plain[1] - 1)) for _, _, (mean, p90) in rows
    )
    lines += [
        "",
        f"Largest difference: {100 * worst:.1f}% "
        f"({'within' if worst <= 0.05 else 'NOT within'} 5%).",
    ]
    # The SimPy reference model against the DES engine, row by row.
    scenario = load_standard(cases)
    model = Model.baseline(scenario)
    fast = engine.simulate(model, np.random.SeedSequence(seed)).frames(scenario.calendar)
    slow = engine_reference.simulate(model, np.random.SeedSequence(seed)).frames(scenario.calendar)
    same = fast[0].equals(slow[0]) and fast[1].equals(slow[1])
    lines.append(
        f"SimPy reference model vs DES engine, {len(fast[0]):,} cases: "
        f"{'identical case and step tables' if same else 'DIFFERENT tables'}."
    )
    # The NumPy engine against the DES engine on unlimited staff, case by case.
    scenario = load_standard(cases, unlimited=True)
    model = Model.baseline(scenario)
    des_cases, _ = engine.simulate(model, np.random.SeedSequence(seed)).frames(scenario.calendar)
    np_cases, _ = engine_numpy.simulate(model, np.random.SeedSequence(seed)).frames(
        scenario.calendar
    )
    des_cases = des_cases.sort_values("case_id").reset_index(drop=True)
    np_cases = np_cases.sort_values("case_id").reset_index(drop=True)
    same = bool(
        (des_cases.case_id == np_cases.case_id).all()
        and np.allclose(des_cases.end_day, np_cases.end_day, rtol=0, atol=1e-9)
        and np.allclose(des_cases.approval_clock_days, np_cases.approval_clock_days, atol=1e-9)
        and (des_cases.status == np_cases.status).all()
    )
    lines.append(
        f"NumPy engine vs DES engine, unlimited staff, {len(des_cases):,} cases: "
        f"{'the same end, status and approval clock for every case' if same else 'DIFFERENT'}; "
        f"mean {des_cases.elapsed_working_days.mean():.4f} vs "
        f"{np_cases.elapsed_working_days.mean():.4f}."
    )
    return lines


# ----------------------------------------------------------------------------- timing


def timing(
    python: Path | None, sizes: list[int], runs: int, prosimos_max: int, reference: bool = True
) -> list[str]:
    measured: dict[tuple[str, int], list[float]] = collections.defaultdict(list)
    ratios: dict[tuple[str, int], list[float]] = collections.defaultdict(list)
    for size in sizes:
        staffed = load_standard(size)
        unlimited = load_standard(size, unlimited=True)
        for run in range(runs):
            seed = 100 + run
            rates = {}
            seconds, count, _ = time_plain(size, seed)
            rates["plain SimPy script"] = count / seconds
            seconds, count, _ = time_plain(size, seed, heapq_loop.run)
            rates[HEAPQ] = count / seconds
            seconds, count, _ = time_des(staffed, seed)
            rates["DES engine (staffed; calendar, rules, full records)"] = count / seconds
            if reference:
                seconds, count, _ = time_des(staffed, seed, engine_reference.simulate)
                rates[REFERENCE] = count / seconds
            engine_seconds, total_seconds, count, _ = time_numpy(unlimited, seed)
            rates["NumPy engine (unlimited staff), engine only"] = count / engine_seconds
            rates["NumPy engine (unlimited staff), with frames"] = count / total_seconds
            seconds, count, _ = time_des(unlimited, seed)
            rates["DES engine (unlimited staff)"] = count / seconds
            if python is not None and size <= prosimos_max and (run == 0 or size <= 10_000):
                result = run_prosimos(python, size, seed)
                if result is not None:
                    rates["Prosimos (event log written)"] = result["cases"] / result["seconds"]
            for name, rate in rates.items():
                measured[(name, size)].append(rate)
                ratios[(name, size)].append(rate / rates["plain SimPy script"])
            print(
                f"  {size:>7,} cases, run {run + 1}: "
                + ", ".join(f"{name.split(' (')[0]} {rate:,.0f}/s" for name, rate in rates.items()),
                flush=True,
            )
    names = list(dict.fromkeys(name for name, _ in measured))
    lines = ["### Speed (cases/s, median over runs; ratio to plain SimPy in the same run)", ""]
    lines.append("| engine | " + " | ".join(f"{size:,} cases" for size in sizes) + " |")
    lines.append("|---|" + "---:|" * len(sizes))
    for name in names:
        cells = []
        for size in sizes:
            values = measured.get((name, size))
            if not values:
                cells.append("not run")
                continue
            ratio = statistics.median(ratios[(name, size)])
            cells.append(
                f"{statistics.median(values):,.0f} ({ratio:.2f}x, {len(values)} run"
                f"{'s' if len(values) > 1 else ''})"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    des = "DES engine (staffed; calendar, rules, full records)"
    for size in sizes:
        heapq_factor = statistics.median(
            fast / bare
            for fast, bare in zip(measured[(des, size)], measured[(HEAPQ, size)], strict=True)
        )
        lines.append(
            f"\nDES engine / bare heapq loop at {size:,} cases: {heapq_factor:.2f}x; "
            f"DES engine / plain SimPy script: {statistics.median(ratios[(des, size)]):.1f}x "
            "(medians of the per-run ratios)."
        )
        if measured.get((REFERENCE, size)):
            pairs = zip(measured[(des, size)], measured[(REFERENCE, size)], strict=True)
            factor = statistics.median(fast / slow for fast, slow in pairs)
            lines.append(f"\nDES engine / SimPy reference model at {size:,} cases: {factor:.1f}x.")
        prosimos = measured.get(("Prosimos (event log written)", size))
        if prosimos:
            factor = statistics.median(measured[(des, size)]) / statistics.median(prosimos)
            lines.append(f"\nDES engine / Prosimos at {size:,} cases: {factor:.1f}x.")
    return lines


def traced_peak(work) -> tuple[int, object]:
    """The peak of memory traced by `tracemalloc` while ``work()`` runs, and its result."""
    gc.collect()
    tracemalloc.start()
    try:
        result = work()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def memory(sizes: list[int], seed: int = 7) -> list[str]:
    """Peak memory per case of one replication: the DES engine and the bare heapq loop.

    Traced by `tracemalloc` (Python objects and NumPy buffers), after a warm-up run of
    the same size (imports, the case-id cache); the draws, shared by a replication's
    variants, are part of the engine's figure.
    """
    lines = [
        "### Peak memory per case, one replication (tracemalloc; bytes a case)",
        "",
        "| cases | DES engine (records as typed columns) | DES engine + case and step tables "
        "| bare heapq loop |",
        "|---:|---:|---:|---:|",
    ]
    for size in sizes:
        scenario = load_standard(size)
        model = Model.baseline(scenario)
        simulate = functools.partial(engine.simulate, model, np.random.SeedSequence(seed))
        simulate()
        peak, records = traced_peak(simulate)
        cases = records.case_count
        del records
        tables, _ = traced_peak(lambda run=simulate, at=scenario.calendar: run().frames(at))
        bare, done = traced_peak(functools.partial(heapq_loop.run, size, seed))
        lines.append(
            f"| {cases:,} | {peak / cases:,.0f} | {tables / cases:,.0f} | {bare / len(done):,.0f} |"
        )
    return lines


def numpy_repeated(sizes: list[int], calls: int) -> list[str]:
    """The NumPy engine called again and again in one process, as a sweep calls it."""
    lines = [
        f"### NumPy engine, {calls} calls in one process (engine only, after one warm-up call)",
        "",
        "| cases | median | best | slowest | cases/s (median) | cases/s (best) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        model = Model.baseline(load_standard(size, unlimited=True))
        engine_numpy.simulate(model, np.random.SeedSequence(99))
        seconds, counts = [], []
        for call in range(calls):
            started = time.perf_counter()
            records = engine_numpy.simulate(model, np.random.SeedSequence(200 + call))
            seconds.append(time.perf_counter() - started)
            counts.append(records.case_count)
        median = statistics.median(seconds)
        cases = statistics.median(counts)
        lines.append(
            f"| {size:,} | {1e3 * median:.1f} ms | {1e3 * min(seconds):.1f} ms | "
            f"{1e3 * max(seconds):.1f} ms | {cases / median:,.0f} | {cases / min(seconds):,.0f} |"
        )
        print(lines[-1], flush=True)
    return lines


# ----------------------------------------------------------------------------- profile


def profile(cases: int = 10_000) -> list[str]:
    """Where the DES engine's time goes (cProfile, own time grouped by module)."""
    scenario = load_standard(cases)
    model = Model.baseline(scenario)
    profiler = cProfile.Profile()
    profiler.enable()
    records = engine.simulate(model, np.random.SeedSequence(1))
    records.frames(scenario.calendar)
    profiler.disable()
    stats = pstats.Stats(profiler)
    groups: collections.Counter = collections.Counter()
    total = 0.0
    for (file, _, function), (_, _, own, _, _) in stats.stats.items():
        total += own
        if "simpy" in file or function in ("heappush", "heappop"):
            group = "SimPy event loop"
        elif "sim/engine" in file:
            group = "engine logic (sim/engine.py)"
        elif "rule_engine" in file or "conditions" in file:
            group = "conditions"
        elif "pandas" in file or "calendar" in file or "records" in file:
            group = "records to tables (pandas, calendar)"
        elif any(
            part in file for part in ("sampling", "distributions", "streams", "numpy", "scipy")
        ):
            group = "sampling"
        else:
            group = "other (builtins: list appends, sorting, ...)"
        groups[group] += own
    lines = [f"### Profile of the DES engine at {cases:,} cases (cProfile own time)", ""]
    lines += [f"- {100 * seconds / total:.0f}% {group}" for group, seconds in groups.most_common()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-prosimos", action="store_true", help="skip Prosimos")
    parser.add_argument(
        "--prosimos-max",
        type=int,
        default=100_000,
        help="largest size Prosimos runs (above 10k: one run only)",
    )
    parser.add_argument("--no-check", action="store_true", help="skip the agreement check")
    parser.add_argument(
        "--numpy-calls", type=int, default=15, help="NumPy engine calls in one process"
    )
    parser.add_argument("--profile", action="store_true", help="only profile the DES engine")
    parser.add_argument(
        "--memory-sizes", type=int, nargs="*", default=[100_000], help="sizes of the memory table"
    )
    parser.add_argument("--no-timing", action="store_true", help="skip the timing")
    parser.add_argument(
        "--no-reference", action="store_true", help="skip timing the SimPy reference model"
    )
    parser.add_argument(
        "--write-scenario",
        nargs=3,
        metavar=("CASES", "SCALE", "FOLDER"),
        help="only write the standard model for about CASES cases a replication, its "
        "arrivals and staff SCALE times the standard ones, into FOLDER (for the command "
        "line's large runs: approvalsim run FOLDER/standard_scenario.yaml -r 1 --no-report)",
    )
    arguments = parser.parse_args()
    if arguments.write_scenario:
        cases, scale, folder = arguments.write_scenario
        write_standard(int(cases), int(scale), Path(folder))
        return
    if arguments.profile:
        print("\n".join(profile()))
        return
    python = None if arguments.no_prosimos else prosimos_python()
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, machine: "
        f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, "
        f"DES engine {engine.implementation()}"
    )
    lines: list[str] = []
    if not arguments.no_check:
        print("Checking agreement at 10k cases ...", flush=True)
        lines += agreement(python) + [""]
        print("\n".join(lines), flush=True)
    if not arguments.no_timing:
        print("Timing ...", flush=True)
        lines += timing(
            python,
            arguments.sizes,
            arguments.runs,
            arguments.prosimos_max,
            reference=not arguments.no_reference,
        )
        lines += [""] + numpy_repeated(arguments.sizes, arguments.numpy_calls)
    if arguments.memory_sizes:
        print("Memory ...", flush=True)
        lines += [""] + memory(arguments.memory_sizes)
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
