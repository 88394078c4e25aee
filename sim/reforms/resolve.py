"""Applying a scenario's variants: each becomes the `Model` an engine runs.

A variant is the baseline plus its reforms, applied in order. A reform of one procedure
becomes a `ConditionalReform` appended to that procedure's `Demand`, with its compiled
``when:`` condition, so that the engine runs, per case, the version of the procedure for
the conditions the case meets; a reform of the whole variant (``add_staff``,
``bundle``) changes the variant's agencies or demands directly. Every version of every
reformed procedure is built here, once, so that a conflict between reforms is a load
error naming the scenario file, the line and ``variants[i].reforms[j].<key>``.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from sim.domain.conditions import Condition, ConditionError, compile_condition, declared_values
from sim.domain.errors import InputError
from sim.domain.model import ConditionalReform, Model, Procedure, ReformSpec, Scenario
from sim.domain.suggest import did_you_mean
from sim.inputs.loader import read_scenario
from sim.inputs.validation import explain
from sim.reforms.base import Location, Params, ProcedureParams, Reform, ReformType, VariantState
from sim.reforms.registry import REGISTRY

# Conditional reforms make 2**k versions of a procedure; all are built at load up to this k.
MAX_EXHAUSTIVE_CONDITIONS = 6


def load_scenario(path: Path | str | None = None) -> Scenario:
    """Read a scenario file, validate it and resolve its variants: ready to run.

    Args:
        path: The scenario file; the bundled ``demo`` scenario when None.

    Raises:
        InputError: For any problem in the scenario, its procedure files or its reforms,
            naming the file, line and field.
    """
    return resolve(read_scenario(path))


def resolve(scenario: Scenario) -> Scenario:
    """The scenario with its models: the baseline, then each declared variant.

    Raises:
        InputError: A reform that is unknown, badly written or in conflict with the
            procedures or with an earlier reform of its variant.
    """
    return replace(
        scenario, models=tuple(resolve_variant(scenario, name) for name in scenario.variant_names)
    )


def resolve_variant(scenario: Scenario, variant: str) -> Model:
    """The model of one variant: the baseline, or the variant's reforms applied in order.

    Raises:
        InputError: An unknown variant, or a reform that does not apply (see `resolve`).
    """
    if variant == "baseline":
        return Model.baseline(scenario)
    names = [v.name for v in scenario.variants]
    if variant not in names:
        raise InputError(
            f"unknown variant '{variant}'" + did_you_mean(variant, ["baseline", *names]),
            file=scenario.file,
        )
    index = names.index(variant)
    declared = scenario.variants[index]
    state = VariantState(
        demands={d.procedure.id: d for d in scenario.demands},
        agencies={a.id: a for a in scenario.agencies},
    )
    for position, spec in enumerate(declared.reforms):
        _add_reform(state, scenario, index, position, spec)
    model = Model(
        variant=variant,
        title=declared.title,
        demands=tuple(state.demands.values()),
        agencies=tuple(state.agencies.values()),
        horizon=scenario.horizon,
        file=scenario.file,
        fired=tuple(state.fired),
        calendar=scenario.calendar,
        counting=scenario.counting,
    )
    _build_versions(model)
    return model


def _add_reform(
    state: VariantState, scenario: Scenario, index: int, position: int, spec: ReformSpec
) -> None:
    where = Location(str(scenario.file), index, position, spec.label, spec.line)
    entry = _entry(spec, where)
    if spec.label in state.labels:
        raise where.error(
            f"label '{spec.label}' is used by reform {state.labels[spec.label] + 1} too; "
            "give each reform its own label",
            "label",
        )
    state.labels[spec.label] = position
    params = _parameters(entry, spec, where)
    reform = Reform(where, spec.label, spec.source, frozenset(state.agencies))
    if isinstance(params, ProcedureParams):
        _add_procedure_reform(state, entry, params, reform)
    else:
        entry.build(params, reform, state)


def _entry(spec: ReformSpec, where: Location) -> ReformType:
    entry = REGISTRY.get(spec.type)
    if entry is None:
        known = ", ".join(sorted(REGISTRY))
        raise where.error(
            f"unknown reform type '{spec.type}'"
            f"{did_you_mean(spec.type, list(REGISTRY), listing=None)} (known types: {known})",
            "type",
        )
    return entry


def _parameters(entry: ReformType, spec: ReformSpec, where: Location) -> Params:
    data = dict(spec.parameters)
    try:
        return entry.params.model_validate(data)
    except ValidationError as error:
        message, loc = explain(error, entry.params, data)
        if loc == ["when"] and message.startswith("unknown field") and not entry.of_procedure:
            message = (
                f"`when:` is not allowed: {spec.type} changes the whole variant, not some cases"
            )
        raise where.error(message, *loc) from None


def _add_procedure_reform(
    state: VariantState, entry: ReformType, params: ProcedureParams, reform: Reform
) -> None:
    """Append the reform to its procedure's demand; note the steps it removes."""
    demand = state.demand(params.procedure, reform, "procedure")
    removed = state.removed_steps.setdefault(params.procedure, {})
    # The transform sees what earlier reforms removed, not what later ones will.
    reform = replace(reform, removed=dict(removed))
    condition = _condition(params.when, demand.procedure, reform)
    conditional = ConditionalReform(reform.label, condition, entry.build(params, reform))
    state.demands[params.procedure] = replace(demand, reforms=(*demand.reforms, conditional))
    if entry.removes:
        only = f" for the cases meeting '{condition.text}'" if condition else ""
        how = entry.removes.format(id=getattr(params, "id", ""))
        removed.update(dict.fromkeys(params.steps, f"reform '{reform.label}' {how}{only}"))


def _condition(text: str | None, procedure: Procedure, reform: Reform) -> Condition | None:
    if text is None:
        return None
    try:
        values = declared_values(procedure.attributes)
        return compile_condition(text, procedure.attribute_kinds, values)
    except ConditionError as error:
        raise reform.error(f"{error} (attributes of procedure '{procedure.id}')", "when") from None


def _build_versions(model: Model) -> None:
    """Build each demand's versions once, so that a conflict between reforms fails at load."""
    for demand in model.demands:
        for signature in _signatures(len(demand.conditions)):
            demand.version(signature)


def _signatures(count: int) -> list[tuple[bool, ...]]:
    if count <= MAX_EXHAUSTIVE_CONDITIONS:
        return list(itertools.product((True, False), repeat=count))
    # Too many to build them all: every condition alone on, and alone off.
    ones = [tuple(i == j for j in range(count)) for i in range(count)]
    return [(True,) * count, (False,) * count, *ones, *(tuple(not f for f in s) for s in ones)]
