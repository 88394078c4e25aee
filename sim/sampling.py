"""Everything random about a replication, drawn up front in numpy arrays.

Engines take no randomness of their own: they read these arrays. Each array comes from a
stream keyed by procedure, step (its `random_key`), purpose and resubmission round, so a
case draws the same numbers for the same step in every variant (common random numbers),
and a reform that rescales a duration maps the same uniforms through its new quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.model import Attribute, Procedure, Step
from sim.streams import Streams


@dataclass
class StepDraws:
    """Per-case draws of one step; index ``[round][case]`` for per-round arrays."""

    handling: list[np.ndarray]
    waiting: np.ndarray
    response: list[np.ndarray]
    defective: list[dict[str, np.ndarray]]
    follow_up_delay: list[np.ndarray]
    follow_up_failed: list[np.ndarray]
    follow_up_handling: list[np.ndarray]


@dataclass
class ProcedureDraws:
    """The cases of one procedure in one replication: arrivals, attributes, step draws.

    Step draws are made on first use, for every case at once, and kept per step
    definition: a reformed step with the same random key maps the same uniforms.
    """

    procedure: Procedure
    arrivals: np.ndarray
    attribute_columns: dict[str, np.ndarray]
    streams: Streams | None = None
    _steps: dict[int, tuple[Step, StepDraws]] = field(default_factory=dict)
    _attributes: list[dict[str, Any]] | None = None
    _conditions: dict[str, np.ndarray] = field(default_factory=dict)

    def step(self, step: Step) -> StepDraws:
        """The draws of a step (of any version of the procedure) for every case."""
        found = self._steps.get(id(step))
        if found is None:
            assert self.streams is not None
            found = (step, sample_step(self.streams, self.procedure.id, step, self.cases))
            self._steps[id(step)] = found
        return found[1]

    @property
    def cases(self) -> int:
        """How many cases arrive."""
        return len(self.arrivals)

    def attributes(self, case: int) -> dict[str, Any]:
        """The attribute values of one case, as Python values."""
        if self._attributes is None:
            columns = {name: column.tolist() for name, column in self.attribute_columns.items()}
            self._attributes = [
                {name: values[index] for name, values in columns.items()}
                for index in range(self.cases)
            ]
        return self._attributes[case]

    def meets(self, condition: Any, case: int) -> bool:
        """Whether a case meets a condition (None: always), evaluated once per case."""
        if condition is None:
            return True
        mask = self._conditions.get(condition.text)
        if mask is None:
            mask = np.array(
                [condition.evaluate(self.attributes(index)) for index in range(self.cases)],
                dtype=bool,
            )
            self._conditions[condition.text] = mask
        return bool(mask[case])


def arrival_times(streams: Streams, procedure_id: str, rate: float, days: float) -> np.ndarray:
    """Poisson arrivals on the working-day clock over ``[0, days)``, sorted."""
    generator = streams.generator(procedure_id, "arrivals")
    count = generator.poisson(rate * days) if rate > 0 else 0
    return np.sort(generator.random(count) * days)


def sample_attribute(streams: Streams, procedure_id: str, attribute: Attribute, n: int):
    """Per-case values of one attribute."""
    uniforms = streams.uniforms(procedure_id, "attribute", attribute.id, shape=n)
    if attribute.kind == "boolean":
        return uniforms < attribute.probability
    if attribute.kind == "categorical":
        edges = np.cumsum(attribute.shares)
        edges[-1] = 1.0
        indices = np.searchsorted(edges, uniforms, side="right")
        return np.asarray(attribute.values, dtype=object)[np.minimum(indices, len(edges) - 1)]
    assert attribute.distribution is not None
    return attribute.distribution.quantile(uniforms)


def sample_step(streams: Streams, procedure_id: str, step: Step, n: int) -> StepDraws:
    """Per-case draws of one step, keyed by the step's random key."""
    key = step.random_key
    rounds = 1 + (step.send_back.max_resubmissions if step.send_back else 0)

    def uniforms(*purpose: str | int) -> np.ndarray:
        return streams.uniforms(procedure_id, key, *purpose, shape=n)

    handling = [step.handling.quantile(uniforms("handling", r)) for r in range(rounds)]
    response = (
        [step.send_back.response.quantile(uniforms("response", r)) for r in range(rounds)]
        if step.send_back
        else []
    )
    defective = [
        {
            m.id: uniforms("material", m.id, r) < m.probability_defective
            for m in step.materials
            if m.probability_defective > 0
        }
        for r in range(rounds)
    ]
    follow_up_delay, follow_up_failed, follow_up_handling = [], [], []
    for follow_up in step.follow_ups:
        tag = follow_up.reform
        follow_up_delay.append(follow_up.delay.quantile(uniforms("follow_up", tag, "delay")))
        follow_up_failed.append(uniforms("follow_up", tag, "fails") < follow_up.failure_share)
        rework = follow_up.consequence.handling
        follow_up_handling.append(
            rework.quantile(uniforms("follow_up", tag, "handling"))
            if rework is not None
            else np.zeros(n)
        )
    return StepDraws(
        handling=handling,
        waiting=step.waiting.quantile(uniforms("waiting")),
        response=response,
        defective=defective,
        follow_up_delay=follow_up_delay,
        follow_up_failed=follow_up_failed,
        follow_up_handling=follow_up_handling,
    )


def sample_procedure(
    streams: Streams, procedure: Procedure, rate: float, days: float
) -> ProcedureDraws:
    """Arrivals and attributes of one procedure for one replication (steps on demand)."""
    arrivals = arrival_times(streams, procedure.id, rate, days)
    n = len(arrivals)
    columns = {a.id: sample_attribute(streams, procedure.id, a, n) for a in procedure.attributes}
    return ProcedureDraws(procedure, arrivals, columns, streams)
