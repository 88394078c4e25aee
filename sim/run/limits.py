"""Limits a run must keep, checked on the resolved variants before anything runs.

Every source of arrivals counts against a sanity limit on the cases of a replication (a
unit mistake; a `bundle` reform brings arrivals of its own), staff after reforms against
the staff cap, and the memory a run needs (the replications running at once and the
tables it keeps) against the machine's: `run_memory` estimates it, in one place, so
that there is no fixed cap on the cases a replication may have.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from sim.domain.errors import InputError
from sim.domain.model import Model, Scenario
from sim.inputs.loader import MAX_CASES
from sim.inputs.schema import MAX_REPLICATIONS, MAX_STAFF

# Bytes a row of a kept table takes in memory (pandas, measured on the demo scenario and
# the standard model: 240 B a case row, 215-234 B a step row), with a margin; the kept
# tables are copied once when the replications are put together.
CASE_ROW_BYTES = 280
STEP_ROW_BYTES = 250
COPIES = 2
# Bytes a case takes while its replication runs, beside the rows it keeps (the engine's
# columns and draws, its case table and queue totals being made): a 1M-case replication
# through the command line, no step rows made, peaked at 1,288 MiB resident, 1,155 B a
# case above the process's 133 MiB at start, its case table included.
RUNNING_CASE_BYTES = 1_300
# Share of the machine's memory a run may plan to use.
MEMORY_SHARE = 0.8


def expected_cases(model: Model) -> float:
    """Cases a replication of this variant expects: every procedure's arrivals."""
    return sum(d.arrivals_per_day for d in model.demands) * model.horizon.arrival_days


def check_scenario(scenario: Scenario) -> None:
    """Each variant's cases and staff within the limits, or an `InputError` at its reform.

    Raises:
        InputError: A variant expects more than `MAX_CASES` cases a replication (a
            `bundle` adds its own arrivals) or gives an agency more than `MAX_STAFF`.
    """
    for model in scenario.models:
        cases = expected_cases(model)
        if cases > MAX_CASES:
            raise _at_reform(
                scenario,
                model.variant,
                "bundle",
                "arrivals_per_day",
                f"variant '{model.variant}' has about {cases:,.0f} cases a replication (every "
                f"procedure's and bundle's arrivals a day times {model.horizon.arrival_days:g} "
                f"arrival days), more than the sanity limit of {MAX_CASES:,} (no machine "
                "holds such a run): check the unit of `arrivals_per_day:`",
            )
        for agency in model.agencies:
            if agency.staff is not None and agency.staff > MAX_STAFF:
                raise _at_reform(
                    scenario,
                    model.variant,
                    "add_staff",
                    "add",
                    f"variant '{model.variant}' gives agency '{agency.id}' {agency.staff:,} "
                    f"staff, more than the limit of {MAX_STAFF:,}",
                )


def _at_reform(scenario: Scenario, variant: str, kind: str, key: str, message: str) -> InputError:
    """The error, at the variant's last reform of ``kind`` (or at the variant)."""
    for index, spec in enumerate(scenario.variants):
        if spec.name != variant:
            continue
        for position in reversed(range(len(spec.reforms))):
            reform = spec.reforms[position]
            if reform.type == kind:
                field = f"variants[{index}].reforms[{position}].{key}"
                return InputError(message, file=scenario.file, line=reform.line, field=field)
        return InputError(message, file=scenario.file, field=f"variants[{index}]")
    return InputError(message, file=scenario.file)


def run_memory(
    scenario: Scenario,
    variants: Sequence[str],
    replications: int,
    steps: str,
    cases: str = "all",
    running: int = 1,
) -> int:
    """Bytes a run needs in memory at its peak (an estimate, made before it runs).

    The replications running at once (each: its cases in the engine, and its step rows
    if every replication keeps them), and the tables the run keeps: case rows of the
    replications that keep them (the first, or all), step rows likewise, copied when
    put together. Measured against it (benchmarks/README.md, "Scale"): one replication
    of 1M cases of the standard model without step rows, estimated 1.9 GB, peaked at
    1.35 GB (1,288 MiB).

    Args:
        scenario: The resolved scenario.
        variants: The variants to run.
        replications: How many replications.
        steps: Which replications keep their step rows: ``first``, ``all`` or ``none``.
        cases: Which replications keep their case rows: ``first`` or ``all``.
        running: Replications running at once (workers).
    """
    case_rows = step_rows = 0.0
    for name in variants:
        model = scenario.model(name)
        case_rows += expected_cases(model)
        step_rows += sum(
            d.arrivals_per_day * model.horizon.arrival_days * len(d.procedure.steps)
            for d in model.demands
        )
    running = max(1, min(running, replications))
    # A running replication's step rows count apart only when every replication keeps
    # them (with ``first``, replication 0's are the kept ones, counted below).
    one_running = case_rows * RUNNING_CASE_BYTES
    if steps == "all":
        one_running += step_rows * STEP_ROW_BYTES
    kept_cases = replications if cases == "all" else 1
    kept_steps = {"all": replications, "first": 1}.get(steps, 0)
    kept = case_rows * kept_cases * CASE_ROW_BYTES + step_rows * kept_steps * STEP_ROW_BYTES
    return int(running * one_running + kept * COPIES)


def machine_memory() -> int | None:
    """The machine's memory in bytes, where the platform says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_run(
    scenario: Scenario,
    variants: Sequence[str],
    replications: int,
    steps: str,
    memory: int | None = None,
    cases: str = "all",
    running: int = 1,
) -> None:
    """A run within the replication limit and the machine's memory, or an `InputError`.

    There is no fixed limit on the cases of a replication (beyond the loader's sanity
    limit for unit mistakes): a run is refused only when `run_memory` says it would not
    fit in `MEMORY_SHARE` of the machine's memory.

    Args:
        scenario: The resolved scenario.
        variants: The variants to run.
        replications: How many replications.
        steps: ``first``, ``all`` or ``none`` (which replications keep their step rows).
        memory: Bytes the machine has (default: `machine_memory`).
        cases: ``first`` or ``all`` (which replications keep their case rows).
        running: Replications running at once (workers).
    """
    if replications > MAX_REPLICATIONS:
        raise InputError(
            f"{replications:,} replications are more than the limit of {MAX_REPLICATIONS:,}",
            field="--replications",
        )
    memory = machine_memory() if memory is None else memory
    needed = run_memory(scenario, variants, replications, steps, cases, running)
    if memory is None or needed <= MEMORY_SHARE * memory:
        return
    largest = max(expected_cases(scenario.model(v)) for v in variants)
    changes = []
    if steps == "all" and replications > 1:
        changes.append("keep the step rows of the first replication only (--steps first)")
    if cases == "all" and replications > 1:
        changes.append("keep the case rows of the first replication only (no --keep cases)")
    if running > 1:
        changes.append("run fewer replications at once (--workers 1, or --executor serial)")
    if len(variants) > 1:
        changes.append("run fewer variants (--variant)")
    changes.append(
        "shorten the horizon (`horizon: working_days:`) or lower `arrivals_per_day:` in "
        f"{os.path.basename(scenario.file) or 'the scenario file'}"
    )
    raise InputError(
        f"this run would need about {needed / 1e9:,.1f} GB of memory ({len(variants)} "
        f"variant(s) of about {largest:,.0f} cases a replication, {running} replication(s) "
        f"running at once, {replications:,} replication(s)); this machine has "
        f"{memory / 1e9:,.1f} GB, of which a run may plan to use "
        f"{MEMORY_SHARE:.0%}: " + "; or ".join(changes),
        file=scenario.file,
    )
