"""Limits a run must keep, checked on the resolved variants before anything runs.

Every source of arrivals counts against the cases a replication may have (a `bundle`
reform brings arrivals of its own), staff after reforms against the staff cap, and the
tables a run keeps in memory against the machine's memory: `run_memory` estimates
them, in one place, so that a run that streams its results can change the estimate.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from sim.domain.errors import InputError
from sim.domain.model import Model, Scenario
from sim.inputs.loader import MAX_CASES
from sim.inputs.schema import MAX_REPLICATIONS, MAX_STAFF

# Bytes a row takes in memory (pandas, measured on the demo scenario: 535 and 527 bytes),
# with a margin; tables are copied once when replications are put together.
CASE_ROW_BYTES = 600
STEP_ROW_BYTES = 600
COPIES = 2
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
                f"arrival days), more than the limit of {MAX_CASES:,}: check the unit of "
                "`arrivals_per_day:`, or shorten the horizon",
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


def run_memory(scenario: Scenario, variants: Sequence[str], replications: int, steps: str) -> int:
    """Bytes of tables a run keeps in memory (an estimate, made before it runs).

    Case rows of every replication and variant, step rows of the replications that keep
    them (the first, or all), copied once when the replications are put together.
    """
    case_rows = step_rows = 0.0
    for name in variants:
        model = scenario.model(name)
        case_rows += expected_cases(model)
        step_rows += sum(
            d.arrivals_per_day * model.horizon.arrival_days * len(d.procedure.steps)
            for d in model.demands
        )
    kept = replications if steps == "all" else 1
    total = case_rows * replications * CASE_ROW_BYTES + step_rows * kept * STEP_ROW_BYTES
    return int(total * COPIES)


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
) -> None:
    """A run within the replication limit and the machine's memory, or an `InputError`.

    Args:
        scenario: The resolved scenario.
        variants: The variants to run.
        replications: How many replications.
        steps: ``first`` or ``all`` (which replications keep their step rows).
        memory: Bytes the machine has (default: `machine_memory`).
    """
    if replications > MAX_REPLICATIONS:
        raise InputError(
            f"{replications:,} replications are more than the limit of {MAX_REPLICATIONS:,}",
            field="--replications",
        )
    memory = machine_memory() if memory is None else memory
    needed = run_memory(scenario, variants, replications, steps)
    if memory is not None and needed > MEMORY_SHARE * memory:
        kept = "every replication's" if steps == "all" else "the first replication's"
        raise InputError(
            f"this run would keep about {needed / 1e9:,.1f} GB of tables in memory "
            f"({len(variants)} variant(s) x {replications:,} replication(s) of about "
            f"{max(expected_cases(scenario.model(v)) for v in variants):,.0f} cases, and "
            f"{kept} step rows); this machine has {memory / 1e9:,.1f} GB: run fewer "
            "replications or variants (--replications, --variant), or keep the step rows "
            "of the first replication only (--steps first)",
            file=scenario.file,
        )
