"""What every reform type is made of: checked parameters, a context, and a registry entry.

A reform type is a `ReformType`: its parameter model (a `Params` subclass, which also
says which procedures a reform names), how it builds, and how it is described when a
later reform asks for a step it removed. A reform of one procedure builds a pure
``Procedure -> Procedure`` transform (a picklable `functools.partial`, so that resolved
models travel to worker processes); one of the whole variant changes the variant being
built (`VariantState`). `Reform` carries what a transform needs to build steps and
report errors at the right line of the scenario file.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from sim.domain import distributions
from sim.domain.conditions import Condition
from sim.domain.errors import InputError
from sim.domain.model import Agency, Consequence, Demand, Material, Procedure, ReformMark, Step
from sim.domain.suggest import did_you_mean
from sim.inputs.schema import DistributionSpec, Identifier, Strict
from sim.inputs.yaml import field_path, line_of, read_yaml

Transform = Callable[[Procedure], Procedure]


# --------------------------------------------------------------------------- parameters


def _distinct(names: list[str]) -> list[str]:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"lists {', '.join(repeated)} more than once")
    return names


def _list_or_all(value: Any) -> Any:
    # Without this a typo like `steps: al` gives pydantic's two-branch union message.
    if isinstance(value, str) and value != "all":
        raise ValueError(f"give a list of step ids or `all`, not '{value}'")
    return value


Names = Annotated[list[Identifier], Field(min_length=1), AfterValidator(_distinct)]
Group = Annotated[list[Identifier], Field(min_length=2), AfterValidator(_distinct)]
NamesOrAll = Annotated[Union[Names, Literal["all"]], BeforeValidator(_list_or_all)]  # noqa: UP007
Scale = Annotated[float, Field(gt=0.0, le=10.0)]


class Params(Strict):
    """Base of the parameter models: unknown keys are errors, true/false is not a number."""

    def named_procedures(self) -> tuple[str, ...]:
        """The procedures the reform names (none for a reform of the whole variant)."""
        return ()

    def touches(self, procedure: str) -> bool:
        """Whether the reform may change the procedure's cases."""
        return procedure in self.named_procedures()


class ProcedureParams(Params):
    """A reform of one procedure, optionally only for the cases meeting ``when``."""

    procedure: Identifier
    when: str | None = None

    def named_procedures(self) -> tuple[str, ...]:
        """The reformed procedure."""
        return (self.procedure,)


class ConsequenceParams(Params):
    """What a failed commitment or post-check costs: a rework step or a revocation."""

    kind: Literal["rework", "revoke"]
    handling: DistributionSpec | None = None
    agency: Identifier | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> ConsequenceParams:
        if self.kind == "rework" and self.handling is None:
            raise ValueError("a rework needs `handling:` (how long the rework takes)")
        if self.kind == "revoke" and (self.handling is not None or self.agency is not None):
            raise ValueError("a revoke takes no `handling:` or `agency:`")
        return self


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class Location:
    """Where a reform is written, so that an error points at the file, line and key."""

    file: str
    variant: int
    position: int
    label: str
    line: int | None

    def error(self, message: str, *keys: str | int) -> InputError:
        """An InputError at ``variants[i].reforms[j].<keys>``, prefixed by the reform's label."""
        loc = ("variants", self.variant, "reforms", self.position, *keys)
        return InputError(
            f"reform '{self.label}': {message}",
            file=self.file,
            line=self._line(loc) if keys else self.line,
            field=field_path(loc),
        )

    def _line(self, loc: tuple[str | int, ...]) -> int | None:
        # The parsed YAML is cached by the reader; it is looked up again only on error.
        try:
            data = read_yaml(Path(self.file))
        except InputError:
            return self.line
        return line_of(data, loc) or self.line


@dataclass(frozen=True)
class Reform:
    """One reform being built: what its transforms need, and nothing mutable.

    Attributes:
        where: Where it is written.
        label: Its label (audit trail, follow-up streams).
        source: Its source, copied into the steps it creates.
        agencies: The scenario's agency ids.
        removed: Step id to how an earlier reform of the variant removed it.
    """

    where: Location
    label: str
    source: str
    agencies: frozenset[str]
    removed: Mapping[str, str] = field(default_factory=dict)

    def error(self, message: str, *keys: str | int) -> InputError:
        """An InputError pointing at this reform (see `Location.error`)."""
        return self.where.error(message, *keys)

    def distribution(self, spec: Any, *keys: str) -> distributions.Distribution:
        """A distribution from its spec, or an error naming the bad parameter."""
        try:
            return distributions.from_spec(spec)
        except distributions.DistributionSpecError as error:
            extra = tuple(error.field.split(".")) if error.field else ()
            raise self.error(error.message, *keys, *extra) from None

    def optional_distribution(self, spec: Any, *keys: str) -> distributions.Distribution | None:
        """`distribution`, or None when no spec is given."""
        return None if spec is None else self.distribution(spec, *keys)

    def agency(self, agency_id: str, *keys: str) -> str:
        """The agency id, checked against the scenario's agencies."""
        if agency_id not in self.agencies:
            raise self.error(
                f"unknown agency '{agency_id}'" + did_you_mean(agency_id, sorted(self.agencies)),
                *keys,
            )
        return agency_id

    def consequence(self, spec: ConsequenceParams, *keys: str) -> Consequence:
        """The consequence of a failed check."""
        return Consequence(
            kind=spec.kind,
            agency=self.agency(spec.agency, *keys, "agency") if spec.agency else None,
            handling=self.optional_distribution(spec.handling, *keys, "handling"),
        )

    def steps(self, procedure: Procedure, names: Sequence[str] | str) -> list[str]:
        """The named steps (or every step for ``all``), each checked to exist in this version."""
        if names == "all":
            return [step.id for step in procedure.steps]
        for position, name in enumerate(names):
            if name not in procedure.step_index:
                raise self.error(self._missing(procedure, name), "steps", position)
        return list(names)

    def _missing(self, procedure: Procedure, name: str) -> str:
        gone = self.removed.get(name)
        if gone:
            return f"step '{name}' of procedure '{procedure.id}' no longer exists: {gone}"
        return f"unknown step '{name}' in procedure '{procedure.id}'" + did_you_mean(
            name, sorted(procedure.step_index)
        )

    def mark(self, step: Step, when: Condition | None = None) -> Step:
        """The step marked as run differently because of this reform (the audit trail)."""
        found = ReformMark(self.label, when)
        if found in step.reformed_by:
            return step
        return replace(step, reformed_by=(*step.reformed_by, found))

    def finish(
        self,
        procedure: Procedure,
        steps: Iterable[Step],
        marks: tuple[ReformMark, ...] = (),
        **changes: Any,
    ) -> Procedure:
        """The changed copy, with the label in the audit trail, checked for cycles.

        Args:
            procedure: The version before the reform.
            steps: Its steps after the reform (those it changed marked with `mark`).
            marks: Marks of the whole version (cases it changes wherever they go).
            changes: Other fields of the procedure to change.
        """
        changed = replace(
            procedure,
            steps=tuple(steps),
            fired=added(procedure.fired, self.label),
            reformed_by=unique_marks(procedure.reformed_by + marks),
            **changes,
        )
        cycle = changed.cycle()
        if cycle:
            loop = " -> ".join((*cycle, cycle[0]))
            raise self.error(f"the steps of procedure '{procedure.id}' now wait in a cycle: {loop}")
        return changed


@dataclass
class VariantState:
    """The variant being built: demands by procedure id (in order), agencies, audit trail."""

    demands: dict[str, Demand]
    agencies: dict[str, Agency]
    fired: list[str] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    removed_steps: dict[str, dict[str, str]] = field(default_factory=dict)
    removed_procedures: dict[str, str] = field(default_factory=dict)

    def demand(self, procedure_id: str, reform: Reform, *keys: str | int) -> Demand:
        """The current demand of a procedure, or an error naming what became of it."""
        found = self.demands.get(procedure_id)
        if found is not None:
            return found
        gone = self.removed_procedures.get(procedure_id)
        if gone:
            raise reform.error(f"procedure '{procedure_id}' no longer exists: {gone}", *keys)
        raise reform.error(
            f"unknown procedure '{procedure_id}' (not in the scenario's `procedures:`)"
            + did_you_mean(procedure_id, sorted(self.demands)),
            *keys,
        )


# --------------------------------------------------------------------------- registry entry


@dataclass(frozen=True)
class ReformType:
    """A reform type of the catalogue (`docs/reforms.md`).

    Attributes:
        name: The ``type:`` written in a scenario.
        params: The model of its parameters.
        build: For a reform of one procedure, ``(params, reform) -> Transform``; for one
            of the whole variant, ``(params, reform, state) -> None``, changing the state.
        removes: For a type that removes the steps it names, how a later reform is told
            what became of them (``{id}`` is the new step's id); None otherwise.
    """

    name: str
    params: type[Params]
    build: Callable[..., Any]
    removes: str | None = None

    @property
    def of_procedure(self) -> bool:
        """Whether the type reforms one procedure (else the whole variant)."""
        return issubclass(self.params, ProcedureParams)


# --------------------------------------------------------------------------- helpers


def added(labels: tuple[str, ...], *more: str) -> tuple[str, ...]:
    """``labels`` with ``more`` appended, each once."""
    return tuple(dict.fromkeys((*labels, *more)))


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """The items in order, each once."""
    return tuple(dict.fromkeys(items))


def unique_marks(marks: Iterable[ReformMark]) -> tuple[ReformMark, ...]:
    """The marks in order, each once."""
    return tuple(dict.fromkeys(marks))


def materials_once(steps: Iterable[Step]) -> tuple[Material, ...]:
    """The steps' materials deduplicated by id (first occurrence kept).

    Each keeps the random key of the step it came from (`Material.stream`), so that it is
    as likely to be defective, case by case, as it was there.
    """
    kept: dict[str, Material] = {}
    for step in steps:
        for material in step.materials:
            if material.id not in kept:
                kept[material.id] = (
                    material if material.stream else replace(material, stream=step.random_key)
                )
    return tuple(kept.values())


def retimed(before: Step, after: Step) -> Step:
    """``after`` with its declared fixed time changed as the reform changed its time.

    The fixed time (the deterministic method's, `Step.fixed_days`) is scaled by the
    ratio of the typical times (handling plus waiting) after and before the change.
    """
    if before.fixed_days is None:
        return after
    old = before.handling.typical + before.waiting.typical
    new = after.handling.typical + after.waiting.typical
    if old <= 0:
        return after
    return replace(after, fixed_days=before.fixed_days * new / old)


def with_after(step: Step, after: tuple[str, ...]) -> Step:
    """The step waiting on ``after``; the same object when unchanged."""
    # Unchanged steps stay the same object, so the engine's per-step draws are reused.
    return step if after == step.after else replace(step, after=after)


def each_step(
    params: Any,
    reform: Reform,
    change: Callable[[Step], Step],
    pick: Callable[[Procedure, list[str]], list[str]] | None = None,
    mark: bool = True,
) -> Transform:
    """A transform changing each selected step (``pick`` narrows or checks the selection).

    A step the change leaves equal stays as it was; one it changes is marked (`Reform.mark`)
    unless ``mark`` is False (a reform whose effect on a case shows only when it fires).
    ``change`` and ``pick`` must be picklable (module-level functions or partials).
    """
    return partial(_change_each, params, reform, change, pick, mark)


def _change_each(params, reform: Reform, change, pick, mark, procedure: Procedure) -> Procedure:
    chosen = reform.steps(procedure, params.steps)
    chosen = set(pick(procedure, chosen) if pick else chosen)

    def changed(step: Step) -> Step:
        if step.id not in chosen:
            return step
        new = change(step)
        if new == step:
            return step  # the same object: its draws are reused
        return reform.mark(new) if mark else new

    return reform.finish(procedure, (changed(s) for s in procedure.steps))


def redirect(after: tuple[str, ...], members: set[str], to: tuple[str, ...]) -> tuple[str, ...]:
    """``after`` with each member replaced by ``to``."""
    return unique(
        itertools.chain.from_iterable(to if name in members else (name,) for name in after)
    )
