"""The reform catalogue (`docs/reforms.md`): every reform type by the name a scenario uses.

A new reform type is a module with its parameter model, its builder and a ``TYPES``
tuple of `ReformType` entries, listed here; its docs go to `docs/reforms.md`.
"""

from __future__ import annotations

from sim.domain.model import ReformSpec
from sim.reforms import bundle, commitments, service, staff, structure
from sim.reforms.base import Params, ReformType

REGISTRY: dict[str, ReformType] = {
    entry.name: entry
    for module in (structure, commitments, service, staff, bundle)
    for entry in module.TYPES
}


def parameters(spec: ReformSpec) -> Params:
    """The checked parameters of a reform as written (it must have resolved)."""
    return REGISTRY[spec.type].params.model_validate(dict(spec.parameters))


def named_procedures(spec: ReformSpec) -> tuple[str, ...]:
    """The procedures a reform names (none for a reform of the whole variant)."""
    return parameters(spec).named_procedures()


def touches(spec: ReformSpec, procedure: str) -> bool:
    """Whether a reform may change a procedure's cases (it names it, or changes staff)."""
    return parameters(spec).touches(procedure)
