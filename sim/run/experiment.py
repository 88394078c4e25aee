"""Experiments: replications of every variant, on any executor, resumable.

A replication runs every variant on the same cases with the same random numbers (common
random numbers), so variant differences are the reforms'. Replication ``r`` draws from
``SeedSequence(seed).spawn(...)[r]``, which does not depend on how many replications are
asked for or which executor runs them: the same seed gives the same numbers, byte for
byte, serially, in a process pool or on a Dask cluster. Finished replications are kept
under ``<output>/runs/<run id>/`` (`sim.run.cache`), so an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim import engines
from sim.domain.errors import InputError
from sim.domain.model import Scenario
from sim.engines.collector import collector_paused, release_freed_memory
from sim.engines.draws import SharedDraws
from sim.engines.records import case_frame, step_frame
from sim.reforms import resolve
from sim.run.cache import BUSY_COLUMNS, keeps_cases, keeps_steps, load_finished, save_finished
from sim.run.executors import SerialExecutor, make_executor, planned_workers, worker_count
from sim.run.figures import empty_figures, replication_figures
from sim.run.limits import check_run, check_scenario
from sim.run.reduce import queue_totals


@dataclass
class ReplicationResult:
    """Tables of one replication, every variant.

    ``cases`` and ``steps`` have no columns when the replication does not keep them;
    ``queues`` and ``figures`` are what every replication is reduced to where it runs.
    """

    replication: int
    cases: pd.DataFrame
    steps: pd.DataFrame
    busy: pd.DataFrame
    queues: pd.DataFrame | None = None
    figures: pd.DataFrame | None = None


@dataclass(frozen=True, repr=False)
class RunResult:
    """What a run gives back: its scenario (with the resolved models) and its tables.

    The tables are pandas DataFrames (schemas in `sim.engines.records`); ``summary``,
    ``comparison`` and ``agencies`` are empty until `sim.analysis.summarize_run` adds
    them (`sim.run` does). ``cases`` holds the case rows of the kept replications
    (``cases="all"``: every one; ``"first"``: replication 0), ``figures`` every
    replication's per-(variant, procedure) figures (`sim.run.figures`). Its repr is one
    line; a notebook shows a few summary rows.
    """

    scenario: Scenario
    variants: tuple[str, ...]
    replications: int
    seed: int
    run_id: str
    cases: pd.DataFrame
    steps: pd.DataFrame
    busy: pd.DataFrame
    queues: pd.DataFrame = field(default_factory=pd.DataFrame)
    figures: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    agencies: pd.DataFrame = field(default_factory=pd.DataFrame)
    computed: int = 0
    notes: tuple[str, ...] = ()
    engine: str = "des"

    def __repr__(self) -> str:
        return (
            f"<RunResult {self.scenario.name!r} run {self.run_id}: {len(self.variants)} "
            f"variant(s) x {self.replications} replication(s), seed {self.seed}, "
            f"{len(self.cases):,} case rows, {len(self.steps):,} step rows>"
        )

    def _repr_html_(self) -> str:
        """A notebook's view: the one-line repr and the summary's first rows."""
        from html import escape

        shown = [c for c in SUMMARY_PREVIEW if c in self.summary.columns]
        rows = self.summary[shown].head(PREVIEW_ROWS)
        table = rows.to_html(index=False, float_format=lambda v: f"{v:.3g}") if shown else ""
        more = len(self.summary) - len(rows)
        note = f"<p>… {more} more rows in <code>.summary</code></p>" if more > 0 else ""
        return f"<p><code>{escape(repr(self))}</code></p>{table}{note}"


# What a notebook shows of a run: a few summary rows and columns.
SUMMARY_PREVIEW = (
    "variant",
    "procedure",
    "target_days",
    "share_within_target",
    "share_within_target_low",
    "share_within_target_high",
    "mean_days",
    "p90_days",
)
PREVIEW_ROWS = 10


def run_replication(
    scenario: Scenario,
    replication: int,
    seed: int,
    variants: Sequence[str],
    engine: str = "des",
    keep_steps: bool = True,
    keep_cases: bool = True,
) -> ReplicationResult:
    """Run every variant once on replication ``replication``'s random numbers.

    The step rows are large (several per case): with ``keep_steps`` False only their
    queue totals (`sim.run.reduce.queue_totals`) are kept; likewise, with
    ``keep_cases`` False, of the case rows only their figures
    (`sim.run.figures.replication_figures`).
    """
    simulate = engines.engine(engine).simulate

    seed_sequence = np.random.SeedSequence(seed).spawn(replication + 1)[replication]
    shared = SharedDraws(seed_sequence)  # an unchanged procedure's draws, made once
    parts = []
    # The rows of a run are freed (by reference counting) before the collector resumes,
    # which then has little to look at (`sim.engines.collector`).
    with collector_paused():
        for variant in variants:
            records = simulate(scenario.model(variant), seed_sequence, replication, shared)
            cases = case_frame(records, scenario.calendar)
            figures = replication_figures(cases, scenario)
            if not keep_cases:
                cases = pd.DataFrame()
            steps = step_frame(records, scenario.calendar) if keep_steps else pd.DataFrame()
            queue_rows = steps if keep_steps else records.queue_columns(scenario.calendar)
            busy = [
                (replication, variant, agency, days) for agency, days in records.agency_busy.items()
            ]
            del records  # before the queue totals, which need memory of their own
            release_freed_memory()
            queues = queue_totals(queue_rows, scenario.horizon, batches=replication == 0)
            del queue_rows
            release_freed_memory()
            parts.append(
                ReplicationResult(
                    replication=replication,
                    cases=cases,
                    steps=steps,
                    busy=pd.DataFrame(busy, columns=list(BUSY_COLUMNS)),
                    queues=queues,
                    figures=figures,
                )
            )
        return combine(parts)


def combine(parts: Sequence[ReplicationResult]) -> ReplicationResult:
    """One replication's results from those of its variants, in the order given."""
    return ReplicationResult(
        replication=parts[0].replication,
        cases=kept_rows([part.cases for part in parts]),
        steps=kept_rows([part.steps for part in parts]),
        busy=pd.concat([part.busy for part in parts], ignore_index=True),
        queues=pd.concat([part.queues for part in parts], ignore_index=True),
        figures=pd.concat([part.figures for part in parts], ignore_index=True),
    )


def kept_rows(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The rows of the frames that were kept, one frame (no columns if none was kept).

    A kept frame has its columns even when it has no rows; one not kept has none.
    """
    kept = [frame for frame in frames if len(frame.columns)]
    with_rows = [frame for frame in kept if len(frame)] or kept[:1]
    return pd.concat(with_rows, ignore_index=True) if with_rows else pd.DataFrame()


def scenario_digest(scenario: Scenario, seed: int, variants: Sequence[str], engine: str) -> str:
    """A run id: a hash of everything that determines the numbers."""
    digest = hashlib.sha256()
    for part in (
        scenario.name,
        repr(scenario.agencies),
        repr(tuple((d.procedure, d.arrivals_per_day) for d in scenario.demands)),
        repr(scenario.horizon),
        repr(scenario.counting),
        repr(scenario.variants),
        repr(tuple((v.name, [r.parameters for r in v.reforms]) for v in scenario.variants)),
        str(seed),
        ",".join(variants),
        engine,
    ):
        digest.update(part.encode("utf-8"))
    digest.update(scenario.calendar.workdays.tobytes())
    return digest.hexdigest()[:12]


# A task is a whole replication when there are at least this many a worker.
WHOLE_REPLICATIONS_PER_WORKER = 4


def run_experiment(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    variants: Iterable[str] | None = None,
    executor: str | Executor = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    engine: str = "des",
    cache: Path | str | bool | None = None,
    progress: Callable[[int, int], None] | None = None,
    steps: str = "first",
    cases: str = "all",
) -> RunResult:
    """Run ``replications`` replications of the chosen variants.

    Args:
        scenario: The scenario (`sim.load_scenario`; resolved here if it is not yet).
        replications: How many (default: the scenario's).
        seed: The root seed (default: the scenario's).
        variants: Variant names (default: baseline and every declared variant).
        executor: ``serial``, ``process``, ``dask`` or any `concurrent.futures.Executor`.
        workers: Worker count for the process pool or a local Dask cluster.
        scheduler: Address of an existing Dask scheduler (``tcp://host:port``).
        engine: Engine name.
        cache: Folder for finished replications (resume); None (or False) keeps nothing
            on disk.
        progress: Called with (finished, total) as replications finish.
        steps: Step rows to keep: ``first`` (replication 0's, the default: they are
            several per case), ``all``, or ``none`` (when nothing reads them: no report,
            no event log, no step table). Queue figures are kept for every replication.
        cases: Case rows to keep: ``all`` (the default) or ``first`` (replication 0's:
            the parent then does not grow with the replications). The figures the
            summary and comparison need are kept for every replication either way.

    Returns:
        The combined tables (`sim.analysis.summarize_run` adds the summary tables).
    """
    if not scenario.models:
        scenario = resolve(scenario)
    if cache is True:
        raise InputError("cache takes a folder (cache='results/demo/runs'), or False for none")
    cache = Path(cache) if cache not in (None, False) else None
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
    chosen = engines.engine(engine)
    if steps not in ("first", "all", "none"):
        raise InputError(f"steps takes 'first', 'all' or 'none', not '{steps}'")
    if cases not in ("first", "all"):
        raise InputError(f"cases takes 'first' or 'all', not '{cases}'")
    names = ("baseline", *(n for n in names if n != "baseline"))
    for name in names:
        chosen.check(scenario.model(name))
    check_scenario(scenario)
    running = planned_workers(executor, workers)
    check_run(scenario, names, replications, steps, cases=cases, running=running)
    run_id = scenario_digest(scenario, seed, names, engine)
    folder = cache / run_id if cache is not None else None
    kept, refused = load_finished(folder, replications, steps, run_id, cases)
    finished = {r: ReplicationResult(r, **tables) for r, tables in kept.items()}
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
            if len(missing) >= WHOLE_REPLICATIONS_PER_WORKER * worker_count(pool, workers):
                tasks = [(r, names) for r in missing]
            else:
                tasks = [(r, (name,)) for r in missing for name in names]

            def submit(task: tuple[int, tuple[str, ...]]) -> Future:
                r, some = task
                keep = keeps_steps(steps, r), keeps_cases(cases, r)
                return pool.submit(run_replication, scenario, r, seed, some, engine, *keep)

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
                    save_finished(folder, run_id, result.replication, vars(result))
                finished[result.replication] = result
                done += 1
                if progress:
                    progress(done, replications)
        except BaseException:
            close(abort=True)  # interrupted or failed: stop the workers now, keep what is saved
            raise
        close()
    ordered = [finished[r] for r in range(replications)]
    return RunResult(
        scenario=scenario,
        variants=names,
        replications=replications,
        seed=seed,
        run_id=run_id,
        cases=kept_rows([r.cases for r in ordered]),
        steps=kept_rows([r.steps for r in ordered]),
        busy=pd.concat([r.busy for r in ordered], ignore_index=True),
        queues=pd.concat([r.queues for r in ordered], ignore_index=True),
        figures=pd.concat([r.figures for r in ordered], ignore_index=True)
        if ordered
        else empty_figures(),
        computed=len(missing),
        notes=tuple(refused),
        engine=engine,
    )
