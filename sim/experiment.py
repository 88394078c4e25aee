"""Experiments: replications of every variant, executors, resumable results, tables.

A replication runs every variant on the same cases with the same random numbers (common
random numbers), so variant differences are the reforms'. Replication ``r`` draws from
``SeedSequence(seed).spawn(...)[r]``, which does not depend on how many replications are
asked for or which executor runs them: the same seed gives the same numbers, byte for
byte, serially, in a process pool or on a Dask cluster.

Each finished replication is written atomically under ``<output>/runs/<run id>/``; a rerun
of the same scenario and seed computes only the replications that are missing. A changed
scenario gets a new run id (a hash of the resolved scenario).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, as_completed
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.collector import collector_paused
from sim.errors import InputError
from sim.model import Scenario

ENGINES = ("des", "numpy", "deterministic")
EXECUTORS = ("serial", "process", "dask")


@dataclass
class ReplicationResult:
    """Tables of one replication, every variant."""

    replication: int
    cases: pd.DataFrame
    steps: pd.DataFrame
    busy: pd.DataFrame
    queues: pd.DataFrame | None = None


@dataclass
class RunResult:
    """What a run gives back: tables as pandas DataFrames (schemas in `sim.records`)."""

    scenario: Scenario
    variants: tuple[str, ...]
    replications: int
    seed: int
    run_id: str
    cases: pd.DataFrame
    steps: pd.DataFrame
    busy: pd.DataFrame
    queues: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    agencies: pd.DataFrame = field(default_factory=pd.DataFrame)
    output: Path | None = None
    computed: int = 0


def run_replication(
    scenario: Scenario,
    replication: int,
    seed: int,
    variants: Sequence[str],
    engine: str = "des",
    keep_steps: bool = True,
) -> ReplicationResult:
    """Run every variant once on replication ``replication``'s random numbers.

    The step rows are large (several per case): with ``keep_steps`` False only their
    queue totals (`sim.statistics.queue_totals`) are kept.
    """
    from sim.records import case_frame, step_frame
    from sim.reforms import resolve
    from sim.sampling import SharedDraws
    from sim.statistics import queue_totals

    simulate = engine_function(engine)

    seed_sequence = np.random.SeedSequence(seed).spawn(replication + 1)[replication]
    shared = SharedDraws(seed_sequence)  # an unchanged procedure's draws, made once
    parts = []
    # The rows of a run are freed (by reference counting) before the collector resumes,
    # which then has little to look at (`sim.collector`).
    with collector_paused():
        for variant in variants:
            records = simulate(resolve(scenario, variant), seed_sequence, replication, shared)
            cases = case_frame(records, scenario.calendar)
            steps = step_frame(records, scenario.calendar) if keep_steps else pd.DataFrame()
            queue_rows = steps if keep_steps else records.queue_columns(scenario.calendar)
            busy = [
                (replication, variant, agency, days) for agency, days in records.agency_busy.items()
            ]
            del records
            parts.append(
                ReplicationResult(
                    replication=replication,
                    cases=cases,
                    steps=steps,
                    busy=pd.DataFrame(
                        busy, columns=["replication", "variant", "agency", "busy_days"]
                    ),
                    queues=queue_totals(queue_rows, scenario.horizon),
                )
            )
        return combine(parts)


def combine(parts: Sequence[ReplicationResult]) -> ReplicationResult:
    """One replication's results from those of its variants, in the order given."""
    with_steps = [part.steps for part in parts if len(part.steps)]
    return ReplicationResult(
        replication=parts[0].replication,
        cases=pd.concat([part.cases for part in parts], ignore_index=True),
        steps=pd.concat(with_steps, ignore_index=True) if with_steps else pd.DataFrame(),
        busy=pd.concat([part.busy for part in parts], ignore_index=True),
        queues=pd.concat([part.queues for part in parts], ignore_index=True),
    )


def engine_function(engine: str) -> Callable:
    """The ``simulate`` function of an engine, imported when first used."""
    if engine == "numpy":
        from sim.engine_numpy import simulate
    elif engine == "deterministic":
        from sim.deterministic import simulate
    else:
        from sim.engine import simulate
    return simulate


def scenario_digest(scenario: Scenario, seed: int, variants: Sequence[str], engine: str) -> str:
    """A run id: a hash of everything that determines the numbers."""
    digest = hashlib.sha256()
    for part in (
        scenario.name,
        repr(scenario.agencies),
        repr(tuple((d.procedure, d.arrivals_per_day) for d in scenario.demands)),
        repr(scenario.horizon),
        repr(scenario.variants),
        repr(tuple((v.name, [r.parameters for r in v.reforms]) for v in scenario.variants)),
        str(seed),
        ",".join(variants),
        engine,
    ):
        digest.update(part.encode("utf-8"))
    digest.update(scenario.calendar.workdays.tobytes())
    return digest.hexdigest()[:12]


class SerialExecutor(Executor):
    """Runs each task at once in this process (the executor for notebooks and tests)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:  # noqa: D102
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the caller via the future
            future.set_exception(error)
        return future


def make_executor(
    name: str | Executor, workers: int | None = None, scheduler: str | None = None
) -> tuple[Executor, Callable[[], None]]:
    """An executor by name and a function that shuts it down."""
    if isinstance(name, Executor):
        return name, lambda: None
    if name == "serial":
        return SerialExecutor(), lambda: None
    if name == "process":
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
        return pool, lambda: pool.shutdown(wait=True, cancel_futures=True)
    if name == "dask":
        return _dask_executor(workers, scheduler)
    raise InputError(f"unknown executor '{name}'; use one of {', '.join(EXECUTORS)}")


def _dask_executor(workers: int | None, scheduler: str | None):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            'the Dask executor needs the optional extra: pip install -e ".[dask]"'
        ) from None
    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        # Loopback only and no dashboard: a laptop run must not open a port to the network.
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)

    def close() -> None:
        client.close()
        if cluster is not None:
            cluster.close()

    return client.get_executor(), close


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


# A task is a whole replication when there are at least this many a worker.
WHOLE_REPLICATIONS_PER_WORKER = 4


def _worker_count(pool: Executor, workers: int | None) -> int:
    """How many tasks run at once (a guess for an executor given ready-made)."""
    if isinstance(pool, SerialExecutor):
        return 1
    return workers or getattr(pool, "_max_workers", None) or os.cpu_count() or 1


def _replication_file(folder: Path, replication: int) -> Path:
    return folder / f"replication_{replication:05d}.pkl"


def _keeps_steps(steps: str, replication: int) -> bool:
    return steps == "all" or replication == 0


def _load_finished(
    folder: Path | None, replications: int, steps: str
) -> dict[int, ReplicationResult]:
    finished: dict[int, ReplicationResult] = {}
    if folder is None or not folder.is_dir():
        return finished
    for replication in range(replications):
        path = _replication_file(folder, replication)
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    result = pickle.load(handle)
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
                continue  # unreadable: compute it again
            lacks_steps = (
                _keeps_steps(steps, replication) and len(result.cases) and not len(result.steps)
            )
            if getattr(result, "queues", None) is None or lacks_steps:
                continue  # saved by an older version, or without the steps now wanted
            finished[replication] = result
    return finished


def run_experiment(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    variants: Iterable[str] | None = None,
    executor: str | Executor = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    engine: str = "des",
    cache: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    steps: str = "first",
) -> RunResult:
    """Run ``replications`` replications of the chosen variants.

    Args:
        scenario: The loaded scenario.
        replications: How many (default: the scenario's).
        seed: The root seed (default: the scenario's).
        variants: Variant names (default: baseline and every declared variant).
        executor: ``serial``, ``process``, ``dask`` or any `concurrent.futures.Executor`.
        workers: Worker count for the process pool or a local Dask cluster.
        scheduler: Address of an existing Dask scheduler (``tcp://host:port``).
        engine: Engine name.
        cache: Folder for finished replications (resume); None keeps nothing on disk.
        progress: Called with (finished, total) as replications finish.
        steps: Step rows to keep: ``first`` (replication 0's, the default: they are
            several per case) or ``all``. Queue figures are kept for every replication.

    Returns:
        The combined tables (summary tables are added by `summarize_result`).
    """
    replications = replications or scenario.replications
    seed = scenario.seed if seed is None else seed
    names = tuple(variants) if variants else scenario.variant_names
    unknown = [name for name in names if name not in scenario.variant_names]
    if unknown:
        raise InputError(
            f"unknown variant '{unknown[0]}'; "
            f"the scenario has: {', '.join(scenario.variant_names)}",
            file=scenario.file,
        )
    if engine not in ENGINES:
        raise InputError(f"unknown engine '{engine}'; use one of {', '.join(ENGINES)}")
    if steps not in ("first", "all"):
        raise InputError(f"steps takes 'first' or 'all', not '{steps}'")
    names = ("baseline", *(n for n in names if n != "baseline"))
    if engine == "numpy":
        from sim.engine_numpy import check_unlimited
        from sim.reforms import resolve

        for name in names:
            check_unlimited(resolve(scenario, name))
    run_id = scenario_digest(scenario, seed, names, engine)
    folder = cache / run_id if cache is not None else None
    finished = _load_finished(folder, replications, steps)
    missing = [r for r in range(replications) if r not in finished]
    done = len(finished)
    if progress:
        progress(done, replications)
    if missing:
        pool, close = make_executor(executor, workers, scheduler)
        try:
            # A task is a whole replication when there are plenty for the workers: its
            # variants then share the draws of the procedures they leave unchanged. With
            # few, a task is one variant of a replication, so that a few replications of
            # several variants still keep every worker busy. A replication is saved when
            # all its variants are done.
            if len(missing) >= WHOLE_REPLICATIONS_PER_WORKER * _worker_count(pool, workers):
                tasks = [(r, names) for r in missing]
            else:
                tasks = [(r, (name,)) for r in missing for name in names]

            def submit(task: tuple[int, tuple[str, ...]]) -> Future:
                r, some = task
                keep = _keeps_steps(steps, r)
                return pool.submit(run_replication, scenario, r, seed, some, engine, keep)

            # A serial executor runs a task as it is submitted: take them one at a time,
            # each saved as soon as it is done (submitting all first would compute every
            # replication before saving any, and an interrupted run would keep nothing).
            if isinstance(pool, SerialExecutor):
                done_tasks = ((task, submit(task)) for task in tasks)
            else:
                task_of = {submit(task): task for task in tasks}
                done_tasks = ((task_of[future], future) for future in as_completed(task_of))
            parts: dict[int, list[tuple[tuple[str, ...], ReplicationResult]]] = {}
            for (r, some), future in done_tasks:
                found = parts.setdefault(r, [])
                found.append((some, future.result()))
                if sum(len(part) for part, _ in found) < len(names):
                    continue
                del parts[r]
                if len(found) == 1:
                    result = found[0][1]  # a whole replication, combined by its task
                else:
                    # In the variants' order, whichever task finished first.
                    found.sort(key=lambda item: names.index(item[0][0]))
                    result = combine([part for _, part in found])
                if folder is not None:
                    write_atomically(
                        _replication_file(folder, result.replication),
                        lambda path, result=result: path.write_bytes(
                            pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
                        ),
                    )
                finished[result.replication] = result
                done += 1
                if progress:
                    progress(done, replications)
        finally:
            close()
    ordered = [finished[r] for r in range(replications)]
    return RunResult(
        scenario=scenario,
        variants=names,
        replications=replications,
        seed=seed,
        run_id=run_id,
        cases=pd.concat([r.cases for r in ordered], ignore_index=True),
        steps=pd.concat([r.steps for r in ordered], ignore_index=True),
        busy=pd.concat([r.busy for r in ordered], ignore_index=True),
        queues=pd.concat([r.queues for r in ordered], ignore_index=True),
        computed=len(missing),
    )


def summarize_result(result: RunResult, workers: int | None = None) -> RunResult:
    """Add the summary, comparison and agency tables to a run's result.

    Args:
        result: The run.
        workers: Processes for the per-replication figures (`CaseSplit.make_figures`;
            None: one a core, 1: this one).
    """
    from sim import statistics
    from sim.reforms import resolve

    agencies = {name: resolve(result.scenario, name).agencies for name in result.variants}
    with collector_paused():
        split = statistics.split_cases(result.cases, result.scenario) if len(result.cases) else None
        if split is not None:
            split.make_figures(workers)
        result.summary = statistics.summarize(result.cases, result.scenario, split=split)
        result.comparison = statistics.compare(result.cases, result.scenario, split=split)
        result.agencies = statistics.agency_load(
            result.steps, result.busy, result.scenario, agencies=agencies, queues=result.queues
        )
    return result


# Rows a CSV chunk formats at a time when several workers write a table.
CSV_CHUNK_ROWS = 50_000


def write_tables(
    result: RunResult, output: Path, steps: str = "first", workers: int | None = None
) -> list[Path]:
    """Write the run's tables as CSV into ``output``, each file atomically.

    Formatting the numbers as text is slow (a few microseconds a value), so large tables
    are formatted in chunks side by side (`sim.forking`); the text is the same as one
    ``to_csv`` would write.

    Args:
        result: The run.
        output: The folder (created if needed).
        steps: ``first`` writes the step table of the first replication only (it is
            large), ``all`` every replication's kept.
        workers: Processes formatting the text (default: one a core).

    Returns:
        The files written.
    """
    from sim.forking import imap_forked

    tables = {
        "cases.csv": result.cases,
        "steps.csv": (
            result.steps
            if steps == "all" or len(result.steps) == 0
            else result.steps[result.steps["replication"].to_numpy() == 0]
        ),
        "summary.csv": result.summary,
        "comparison.csv": result.comparison,
        "agencies.csv": result.agencies,
    }
    # Every table has at least one chunk: an empty one still gets its header.
    starts = {name: range(0, max(len(table), 1), CSV_CHUNK_ROWS) for name, table in tables.items()}
    jobs = [(tables[name], start) for name, found in starts.items() for start in found]
    written = []
    # Chunks are written as they come, so a large table is never all in memory as text.
    with closing(imap_forked(_csv_chunk, jobs, workers)) as chunks:
        for name in tables:
            count = len(starts[name])

            def write(path: Path, count: int = count) -> None:
                with path.open("w", encoding="utf-8", newline="") as handle:
                    for _ in range(count):
                        handle.write(next(chunks))

            write_atomically(output / name, write)
            written.append(output / name)
    result.output = output
    return written


def _csv_chunk(job: tuple) -> str:
    """CSV text of rows ``[start, start + CSV_CHUNK_ROWS)``; the header with the first."""
    table, start = job
    chunk = table.iloc[start : start + CSV_CHUNK_ROWS]
    return chunk.to_csv(index=False, header=start == 0, lineterminator="\n")


def progress_enabled(stream=None) -> bool:
    """Whether to show a progress bar: on a terminal, and not under CI."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("CI")
