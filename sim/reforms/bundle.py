"""`bundle` (一件事一次办): several procedures become one, started by a shared intake.

The bundle's steps are its parts' steps, prefixed ``<procedure>__``; the parts' first
steps wait on the intake and need no trip of their own. Reforms of a part declared
before the bundle are carried into it (`_Layout.lift`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

from pydantic import Field

from sim.domain.model import (
    Attribute,
    ConditionalReform,
    Demand,
    Material,
    Name,
    Procedure,
    ReformMark,
    Step,
)
from sim.inputs.schema import Count, DistributionSpec, Identifier, NameSpec, TargetSpec
from sim.reforms.base import Group, Params, Reform, ReformType, VariantState, added, unique_marks


class IntakeParams(Params):
    """The shared intake of a bundle."""

    id: Identifier
    name: NameSpec
    agency: Identifier
    handling: DistributionSpec
    waiting: DistributionSpec = 0.0
    trips: Count = 1.0


class BundleParams(Params):
    """`bundle` (一件事一次办): several procedures started by one application."""

    procedures: Group
    id: Identifier
    name: NameSpec
    target: TargetSpec
    arrivals_per_day: float = Field(ge=0.0, le=100000.0)
    intake: IntakeParams

    def named_procedures(self) -> tuple[str, ...]:
        """The bundled procedures and the bundle."""
        return (*self.procedures, self.id)


@dataclass(frozen=True)
class _Layout:
    """How a bundle is laid out: its parts (baseline procedures) and its intake's id."""

    parts: tuple[Procedure, ...]
    intake: str

    @staticmethod
    def head(part: str) -> str:
        """The prefix of the part's step ids in the bundle."""
        return f"{part}__"

    def join(self, bundle: Procedure, parts: Mapping[str, Procedure]) -> tuple[Step, ...]:
        """The bundle's steps: the intake, then each part's steps, prefixed."""
        intake = bundle.step(self.intake)
        seen = {m.id for m in intake.materials}
        steps = [intake]
        for part in self.parts:
            steps.extend(self._embed(part.id, s, seen) for s in parts[part.id].steps)
        return tuple(steps)

    def _embed(self, part: str, step: Step, seen: set[str]) -> Step:
        head = self.head(part)
        embedded = replace(
            step,
            id=head + step.id,
            after=tuple(head + name for name in step.after),
            stream=head + step.random_key,
            materials=tuple(_keyed(m, head + m.stream) if m.stream else m for m in step.materials),
        )
        if step.after:
            return embedded
        # A first step is now handed in at the shared intake: no trip, materials once.
        materials = tuple(m for m in embedded.materials if m.id not in seen)
        seen.update(m.id for m in materials)
        return replace(embedded, after=(self.intake,), trips=0.0, materials=materials)

    def split(self, bundle: Procedure) -> dict[str, Procedure]:
        """Each part as a procedure of its own (ids unprefixed, no audit trail)."""
        parts = {}
        for part in self.parts:
            head = self.head(part.id)
            steps = tuple(self._unembed(s, head) for s in bundle.steps if s.id.startswith(head))
            parts[part.id] = replace(part, steps=steps, fired=(), reformed_by=(), fast_lane=False)
        return parts

    def _unembed(self, step: Step, head: str) -> Step:
        return replace(
            step,
            id=step.id.removeprefix(head),
            after=tuple(n.removeprefix(head) for n in step.after if n != self.intake),
            stream=step.random_key.removeprefix(head),
            materials=tuple(_keyed(m, m.stream.removeprefix(head)) for m in step.materials),
        )

    def lift(self, part: str, reform: ConditionalReform) -> ConditionalReform:
        """A part's reform as a reform of the bundle (it changes that part only)."""
        lifted = partial(_lifted, self, part, reform)
        return ConditionalReform(reform.label, reform.condition, lifted)


def _keyed(material: Material, stream: str) -> Material:
    """The material with this random key (the same object when unchanged)."""
    return material if material.stream == stream else replace(material, stream=stream)


def _lifted(layout: _Layout, part: str, reform: ConditionalReform, bundle: Procedure) -> Procedure:
    parts = layout.split(bundle)
    changed = reform.apply(parts[part])
    parts[part] = changed
    return replace(
        bundle,
        steps=layout.join(bundle, parts),
        fired=added(bundle.fired, *changed.fired),
        reformed_by=unique_marks(bundle.reformed_by + changed.reformed_by),
        fast_lane=bundle.fast_lane or changed.fast_lane,
    )


def _bundle_attributes(parts: Sequence[Procedure], reform: Reform) -> tuple[Attribute, ...]:
    merged: dict[str, Attribute] = {}
    for part in parts:
        for attribute in part.attributes:
            if merged.setdefault(attribute.id, attribute) != attribute:
                raise reform.error(
                    f"attribute '{attribute.id}' is declared differently by the bundled "
                    "procedures; give them the same declaration or different ids",
                    "procedures",
                )
    return tuple(merged.values())


def _check_bundle_ids(params: BundleParams, reform: Reform, state: VariantState) -> None:
    if params.id in state.demands or params.id in state.removed_procedures:
        raise reform.error(f"'{params.id}' is already a procedure of the scenario", "id")
    for position, part in enumerate(params.procedures):
        for other in params.procedures:
            if other != part and part.startswith(_Layout.head(other)):
                raise reform.error(
                    f"procedure ids '{other}' and '{part}' cannot be told apart in the bundle's "
                    "step ids",
                    "procedures",
                    position,
                )
    if "__" in params.intake.id:
        raise reform.error(
            "the intake's id may not contain '__' (kept for bundled steps)", "intake", "id"
        )


def bundle(params: BundleParams, reform: Reform, state: VariantState) -> None:
    """一件事一次办: the procedures become one, started by a shared intake."""
    _check_bundle_ids(params, reform, state)
    demands = [state.demand(p, reform, "procedures", i) for i, p in enumerate(params.procedures)]
    parts = tuple(d.procedure for d in demands)
    layout = _Layout(parts, params.intake.id)
    intake = Step(
        id=params.intake.id,
        name=Name(params.intake.name.zh, params.intake.name.en),
        agency=reform.agency(params.intake.agency, "intake", "agency"),
        handling=reform.distribution(params.intake.handling, "intake", "handling"),
        waiting=reform.distribution(params.intake.waiting, "intake", "waiting"),
        trips=params.intake.trips,
        stream=params.intake.id,
        source=reform.source,
    )
    shell = Procedure(
        id=params.id,
        name=Name(params.name.zh, params.name.en),
        target_days=params.target.days,
        target_unit=params.target.unit,
        target_source=params.target.source,
        steps=(intake,),
        attributes=_bundle_attributes(parts, reform),
        fired=(reform.label,),
        reformed_by=(ReformMark(reform.label),),
        file=reform.where.file,
    )
    base = replace(shell, steps=layout.join(shell, {p.id: p for p in parts}))
    lifted = tuple(layout.lift(d.procedure.id, r) for d in demands for r in d.reforms)
    combined = Demand(base, params.arrivals_per_day, reform.source, lifted)
    _replace_demands(state, [p.id for p in parts], combined)
    for part in parts:
        state.removed_procedures[part.id] = (
            f"reform '{reform.label}' bundled it into '{params.id}' "
            f"(its steps are now '{_Layout.head(part.id)}<step>' there)"
        )


def _replace_demands(state: VariantState, old: list[str], new: Demand) -> None:
    # The bundle takes the place of its first part, so the demand order stays readable.
    demands: dict[str, Demand] = {}
    for procedure_id, demand in state.demands.items():
        if procedure_id == old[0]:
            demands[new.procedure.id] = new
        elif procedure_id not in old:
            demands[procedure_id] = demand
    state.demands = demands


TYPES = (ReformType("bundle", BundleParams, bundle),)
