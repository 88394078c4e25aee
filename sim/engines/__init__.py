"""The engines: each runs one resolved variant (`sim.domain.model.Model`) once.

Every engine has the same interface, `simulate`, and writes the same records
(`sim.engines.records`); none draws random numbers of its own: all come from
`sim.engines.draws`, keyed so that variants share their luck.

- ``des``: the discrete-event engine, cases queueing for limited staff (compiled);
- ``numpy``: every case at once, for scenarios whose agencies have unlimited staff;
- ``deterministic``: the fixed-time critical path of the Doing Business method;
- ``simpy``: the reference model, ``des``'s model written plainly with SimPy (slow; loaded
  on first use, so that ``import sim`` does not import SimPy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.domain.errors import InputError
from sim.domain.model import Model
from sim.engines import compiled, deterministic, vectorised
from sim.engines.draws import SharedDraws
from sim.engines.records import Records


def _accepts_any(model: Model) -> None:
    """Every model can run."""


def _reference(
    model: Model,
    seed_sequence: np.random.SeedSequence,
    replication: int = 0,
    shared: SharedDraws | None = None,
) -> Records:
    """Run one variant once with the SimPy reference model (`sim.engines.reference`)."""
    from sim.engines import reference  # imports SimPy, which the other engines do without

    return reference.simulate(model, seed_sequence, replication, shared)


@dataclass(frozen=True)
class Engine:
    """An engine: how it runs a model, and what it checks before a run starts.

    ``random``: whether its numbers are random (a fixed-time method's have no interval).
    """

    name: str
    simulate: Callable[..., Records]
    check: Callable[[Model], None] = _accepts_any
    random: bool = True


ENGINES: dict[str, Engine] = {
    engine.name: engine
    for engine in (
        Engine("des", compiled.simulate),
        Engine("numpy", vectorised.simulate, vectorised.check_unlimited),
        Engine("deterministic", deterministic.simulate, random=False),
        Engine("simpy", _reference),
    )
}


def engine(name: str) -> Engine:
    """The engine of a name, or an `InputError` listing the engines."""
    found = ENGINES.get(name)
    if found is None:
        raise InputError(f"unknown engine '{name}'; use one of {', '.join(ENGINES)}")
    return found


def simulate(
    model: Model,
    seed_sequence: np.random.SeedSequence,
    replication: int = 0,
    shared: SharedDraws | None = None,
    engine_name: str = "des",
) -> Records:
    """Run one variant once.

    Args:
        model: The resolved variant.
        seed_sequence: The replication's seed sequence (all randomness derives from it).
        replication: The replication's number, written into the records.
        shared: The replication's draws shared by its variants (`SharedDraws` of
            ``seed_sequence``), or None to make them here.
        engine_name: ``des``, ``numpy``, ``deterministic`` or ``simpy``.

    Returns:
        The case and step rows of the run.
    """
    return engine(engine_name).simulate(model, seed_sequence, replication, shared)
