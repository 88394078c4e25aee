"""Everything random about a replication, drawn up front in numpy arrays.

Engines take no randomness of their own: they read these arrays. Each array comes from a
stream keyed by procedure, step (its `random_key`), purpose and resubmission round, so a
case draws the same numbers for the same step in every variant (common random numbers),
and a reform that rescales a duration maps the same uniforms through its new quantiles.
A material's draws are keyed by the material and the step it was declared in
(`Material.stream`), so that it draws the same numbers in a step that merges several.

A material is defective in the first round with its ``probability_defective``; in a
resubmission it is checked again only if the send-back listed it (defective in the
round before), and is still wrong with its ``probability_again`` (一次性告知).

Draws are made on first use, for every case at once. The per-round draws of a step
(handling, response, defects) are made round by round, so a step that allows twenty
resubmissions costs only the rounds some case reaches; the numbers are the same whichever
order they are asked for in, since each comes from its own keyed stream. A fixed
distribution draws nothing (its quantile does not depend on the uniform).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from sim.domain.conditions import evaluate_columns, factorize
from sim.domain.distributions import Distribution, Fixed
from sim.domain.model import Attribute, Material, Procedure, Step
from sim.engines.streams import Streams

_MISSING = object()


class _Rounds(Sequence):
    """A list of per-round arrays computed on first access of each round."""

    def __init__(self, rounds: int, make: Callable[[int], Any]):
        self._make = make
        self._items: list[Any] = [None] * rounds

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):  # noqa: D105
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._items)))]
        item = self._items[index]
        if item is None:
            if index < 0:
                index += len(self._items)
            if not 0 <= index < len(self._items):
                raise IndexError(index)
            item = self._items[index] = self._make(index)
        return item


# What the materials of a submission lead to (`StepDraws.verdicts`).
ACCEPTED, TOLERATED, SENT_BACK = 0, 1, 2


@dataclass(frozen=True)
class Resubmissions:
    """The draws of one resubmission round for the cases that can reach it.

    Attributes:
        cases: The cases, in order (those sent back in every round before).
        handling: Their handling effort (None: fixed, `StepDraws.fixed`).
        verdicts: Their verdicts on the materials (`StepDraws.verdicts`; None: none can
            be defective).
        response: The applicant's time before the round (None: fixed).
        defective: Per material that can be defective, whether it is (for the next round).
    """

    cases: np.ndarray
    handling: np.ndarray | None
    verdicts: np.ndarray | None
    response: np.ndarray | None
    defective: dict[str, np.ndarray]


class StepDraws:
    """Per-case draws of one step; index ``[round][case]`` for per-round arrays.

    Attributes:
        handling: Handling effort of each submission round (lazy, one array a round).
        waiting: Elapsed waiting after acceptance.
        response: The applicant's correction time after a send-back in each round.
        defective: Per round, material id to a boolean array (defective or not), for the
            materials that can be defective.
        follow_up_delay: Per follow-up, the delay from the step's end to the check.
        follow_up_failed: Per follow-up, whether the check fails.
        follow_up_handling: Per follow-up, the rework effort (zeros for a revoke).
    """

    def __init__(self, streams: Streams, procedure_id: str, step: Step, n: int):
        self.step = step
        self.cases = n
        self._streams = streams
        self._procedure_id = procedure_id
        rounds = 1 + (step.send_back.max_resubmissions if step.send_back else 0)
        self._uniform_cache: dict[tuple, np.ndarray] = {}
        self.handling = _Rounds(rounds, lambda r: self._quantile(step.handling, "handling", r))
        send_back = step.send_back
        self.response = (
            _Rounds(rounds, lambda r: self._quantile(send_back.response, "response", r))
            if send_back is not None
            else []
        )
        self.defective = _Rounds(rounds, self._defective)
        self._defects = _Rounds(rounds, self._combined_defects)
        self.follow_up_delay: list[np.ndarray] = []
        self.follow_up_failed: list[np.ndarray] = []
        self.follow_up_handling: list[np.ndarray] = []
        for follow_up in step.follow_ups:
            tag = follow_up.reform
            self.follow_up_delay.append(self._quantile(follow_up.delay, "follow_up", tag, "delay"))
            self.follow_up_failed.append(
                self._draw("follow_up", tag, "fails") < follow_up.failure_share
            )
            rework = follow_up.consequence.handling
            self.follow_up_handling.append(
                self._quantile(rework, "follow_up", tag, "handling")
                if rework is not None
                else np.zeros(n)
            )
        self._views: dict[tuple, Any] = {}
        self._resubmissions: dict[int, Resubmissions] = {}

    @cached_property
    def waiting(self) -> np.ndarray:
        """Elapsed waiting after acceptance, for every case (made on first use)."""
        return self._quantile(self.step.waiting, "waiting")

    def uniforms(self, *purpose: str | int) -> np.ndarray:
        """The step's uniforms for one purpose, for every case (kept once asked for)."""
        found = self._uniform_cache.get(purpose)
        if found is None:
            found = self._uniform_cache[purpose] = self._draw(*purpose)
        return found

    def _draw(self, *purpose: str | int) -> np.ndarray:
        return self._streams.uniforms(
            self._procedure_id, self.step.random_key, *purpose, shape=self.cases
        )

    def _quantile(self, distribution: Distribution, *purpose: str | int) -> np.ndarray:
        if type(distribution) is Fixed:
            # The quantile of a fixed value ignores its uniform: drawing it changes nothing.
            return np.full(self.cases, distribution.value)
        found = self._uniform_cache.get(purpose)
        return distribution.quantile(found if found is not None else self._draw(*purpose))

    def material_uniforms(self, material: Material, round_: int) -> np.ndarray:
        """A material's uniforms in a round, for every case.

        Kept until used: a helper thread may draw them before they are needed.
        """
        key = ("material", material.id, round_)
        found = self._uniform_cache.get(key)
        if found is None:
            found = self._uniform_cache[key] = self._material_draw(material, round_)
        return found

    def _material_draw(self, material: Material, round_: int) -> np.ndarray:
        """A material's uniforms in a round: the kept ones (no longer kept), or drawn."""
        key = ("material", material.id, round_)
        found = self._uniform_cache.pop(key, None)
        if found is None:
            found = self._streams.uniforms(
                self._procedure_id, material.stream or self.step.random_key, *key, shape=self.cases
            )
        return found

    def _defective(self, round_: int) -> dict[str, np.ndarray]:
        """Per material that can be defective: whether it is, in a round, for every case.

        Round 0 checks every material; a resubmission only those the send-back listed.
        """
        found = {}
        for material in self.step.materials:
            if material.probability_defective <= 0:
                continue
            uniforms = self._material_draw(material, round_)
            if round_ == 0:
                found[material.id] = uniforms < material.probability_defective
            else:
                listed = self.defective[round_ - 1][material.id]
                found[material.id] = listed & (uniforms < material.probability_again)
        return found

    def _combined_defects(self, round_: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        return self._combined(self.defective[round_])

    def _combined(self, defective: dict[str, np.ndarray]) -> tuple[Any, Any]:
        """Any main and any minor material defective, from the materials' flags."""
        main = minor = None
        for material in self.step.materials:
            flags = defective.get(material.id)
            if flags is None:
                continue
            if material.kind == "main":
                main = flags if main is None else main | flags
            else:
                minor = flags if minor is None else minor | flags
        return main, minor

    def resubmissions(self, round_: int) -> Resubmissions:
        """The draws of resubmission round ``round_`` (1 and up) for the cases reaching it.

        Those are the cases sent back in every round before (which the draws alone decide).

        The same numbers as ``handling[round_][cases]``, ``verdicts(round_)[cases]`` and
        ``response[round_ - 1][cases]``, for a few cases, without keeping arrays of every
        case for each round (the uniforms are drawn whole, as the streams give them, and
        let go).
        """
        found = self._resubmissions.get(round_)
        if found is not None:
            return found
        if round_ == 1:
            verdicts = self.verdicts(0)
            sent = np.zeros(self.cases, bool) if verdicts is None else verdicts == SENT_BACK
            cases = np.flatnonzero(sent)
            listed = {name: flags[cases] for name, flags in self.defective[0].items()}
        else:
            previous = self.resubmissions(round_ - 1)
            sent = (
                np.zeros(len(previous.cases), bool)
                if previous.verdicts is None
                else previous.verdicts == SENT_BACK
            )
            cases = previous.cases[sent]
            listed = {name: flags[sent] for name, flags in previous.defective.items()}
        defective = {}
        for material in self.step.materials:
            if material.probability_defective > 0:
                uniforms = self._material_draw(material, round_)[cases]
                defective[material.id] = listed[material.id] & (
                    uniforms < material.probability_again
                )
        step = self.step
        found = self._resubmissions[round_] = Resubmissions(
            cases=cases,
            handling=self._quantile_at(step.handling, cases, "handling", round_),
            verdicts=self._verdicts_of(*self._combined(defective), len(cases)),
            response=self._quantile_at(step.send_back.response, cases, "response", round_ - 1),
            defective=defective,
        )
        return found

    def _quantile_at(self, distribution: Distribution, cases: np.ndarray, *purpose) -> Any:
        """A distribution's draws for some cases (None if fixed), its uniforms let go."""
        if type(distribution) is Fixed:
            return None
        found = self._uniform_cache.get(purpose)
        return distribution.quantile((found if found is not None else self._draw(*purpose))[cases])

    def defects(self, round_: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Whether any main, and any minor, material is defective in a round (None: never)."""
        return self._defects[round_]

    def at(self, name: str, round_: int, cases: np.ndarray | None) -> np.ndarray:
        """``handling`` or ``response`` draws of a round for some cases (None: all).

        The same numbers as ``handling[round_][cases]``, without mapping the uniforms
        of cases that do not reach the round.
        """
        rounds = self.handling if name == "handling" else self.response
        full = rounds._items[round_]
        if full is not None or cases is None:
            full = rounds[round_]
            return full if cases is None else full[cases]
        step = self.step
        distribution = step.handling if name == "handling" else step.send_back.response
        if type(distribution) is Fixed:
            return np.full(len(cases), distribution.value)
        return distribution.quantile(self.uniforms(name, round_)[cases])

    def defects_at(
        self, round_: int, cases: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Any main and any minor material defective in a round, for some cases (None: all)."""
        main, minor = self._defects[round_]
        if cases is None:
            return main, minor
        return (
            None if main is None else main[cases],
            None if minor is None else minor[cases],
        )

    def fixed(self, name: str) -> float | None:
        """The value of ``handling``, ``response`` or ``waiting`` if fixed (the same for all)."""
        step = self.step
        distribution = (
            step.handling
            if name == "handling"
            else step.waiting
            if name == "waiting"
            else step.send_back.response
        )
        return distribution.value if type(distribution) is Fixed else None

    def verdicts(self, round_: int) -> np.ndarray | None:
        """What each case's materials lead to in a round (None: none can be defective).

        0 accepted, 1 accepted on a commitment (a minor defect where a tolerance applies),
        2 sent back (a main defect, or a minor one where none applies).
        """
        return self._verdicts_of(*self.defects(round_), self.cases)

    def _verdicts_of(self, main: Any, minor: Any, n: int) -> np.ndarray | None:
        if main is None and minor is None:
            return None
        minor = np.zeros(n, bool) if minor is None else minor
        refused = minor & (self.step.tolerance is None)
        main = refused if main is None else main | refused
        return np.where(main, SENT_BACK, np.where(minor, TOLERATED, ACCEPTED)).astype(np.int8)

    def view(self, name: str, round_: int = 0) -> Any:
        """A per-case array as a typed view (`view`), made once; None where there is none.

        Args:
            name: ``handling``, ``response``, ``waiting`` or ``verdicts``.
            round_: The submission round.
        """
        key = (name, round_)
        found = self._views.get(key, _MISSING)
        if found is _MISSING:
            if name == "verdicts":
                array = self.verdicts(round_)
            elif name == "waiting":
                array = self.waiting
            else:
                array = (self.handling if name == "handling" else self.response)[round_]
            found = self._views[key] = None if array is None else view(array)
        return found


def view(array: np.ndarray) -> memoryview:
    """A 1-d array as a memoryview, whose items read as Python floats, ints or bools.

    An engine reads one item a case from it: 8 bytes a float where a list of Python
    floats took 40, and no NumPy scalar made on each read.
    """
    return memoryview(np.ascontiguousarray(array))


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
    # Categorical columns as (codes, values): ``values[codes]`` is the column.
    categories: dict[str, tuple[np.ndarray, list]] = field(default_factory=dict)
    _steps: dict[int, tuple[Step, StepDraws]] = field(default_factory=dict)
    _attributes: list[dict[str, Any]] | None = None
    _conditions: dict[str, np.ndarray] = field(default_factory=dict)
    _condition_views: dict[str, memoryview] = field(default_factory=dict)
    _json: list[str] | None = None
    _texts: tuple[np.ndarray, np.ndarray] | None = None

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

    def mask(self, condition: Any) -> np.ndarray:
        """Whether each case meets a condition, as a boolean array (evaluated once)."""
        found = self._conditions.get(condition.text)
        if found is None:
            found = evaluate_columns(condition, self.attribute_columns, self.cases, self.categories)
            self._conditions[condition.text] = found
        return found

    def meets_view(self, condition: Any) -> memoryview:
        """Whether each case meets a condition, as a typed view of booleans (`view`)."""
        found = self._condition_views.get(condition.text)
        if found is None:
            found = self._condition_views[condition.text] = view(self.mask(condition))
        return found

    def meets(self, condition: Any, case: int) -> bool:
        """Whether a case meets a condition (None: always), evaluated once per case."""
        if condition is None:
            return True
        return self.meets_view(condition)[case]

    def attribute_json(self) -> list[str]:
        """Each case's attributes as JSON text (``json.dumps(..., ensure_ascii=False)``)."""
        if self._json is None:
            codes, texts = self.attribute_texts()
            self._json = texts[codes].tolist()
        return self._json

    def attribute_texts(self) -> tuple[np.ndarray, np.ndarray]:
        """The JSON texts of the cases' attributes as codes into texts (see `attribute_texts`)."""
        if self._texts is None:
            self._texts = attribute_texts(self.attribute_columns, self.cases, self.categories)
        return self._texts


def attribute_json(
    columns: dict[str, np.ndarray],
    n: int,
    categories: dict[str, tuple[np.ndarray, list]] | None = None,
) -> list[str]:
    """Per-case JSON objects of attribute columns, text-identical to ``json.dumps``.

    Args:
        columns: Attribute id to its column.
        n: How many cases.
        categories: For categorical columns, their codes and values, if known (saves
            finding the distinct values again).
    """
    codes, texts = attribute_texts(columns, n, categories)
    return texts[codes].tolist()


def attribute_texts(
    columns: dict[str, np.ndarray],
    n: int,
    categories: dict[str, tuple[np.ndarray, list]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-case JSON objects of attribute columns as codes into texts (``texts[codes]``).

    Text-identical to ``json.dumps``. Columns of few values (categorical, boolean) are
    written once per distinct combination; numeric values are formatted as `json`
    formats floats (one text a case).

    Args:
        columns: Attribute id to its column.
        n: How many cases.
        categories: For categorical columns, their codes and values, if known.
    """
    if not columns:
        return np.zeros(n, dtype=np.intp), np.array(["{}"], dtype=object)
    categories = categories or {}

    def distinct_of(name: str) -> tuple[np.ndarray, list]:
        found = categories.get(name)
        return found if found is not None else factorize(columns[name])

    names = list(columns)
    if all(columns[name].dtype.kind != "f" for name in names):
        codes = np.zeros(n, dtype=np.int64)
        distincts = []
        for name in names:
            inverse, distinct = distinct_of(name)
            codes = codes * len(distinct) + inverse
            distincts.append(distinct)
        combinations = math.prod(len(distinct) for distinct in distincts)
        if combinations <= 4 * n:
            # Few combinations: a table by code, each text written from its digits.
            table = np.empty(combinations, dtype=object)
            for code in np.flatnonzero(np.bincount(codes, minlength=combinations)).tolist():
                values, rest = {}, code
                for name, distinct in zip(reversed(names), reversed(distincts), strict=True):
                    rest, digit = divmod(rest, len(distinct))
                    values[name] = distinct[digit]
                table[code] = json.dumps({name: values[name] for name in names}, ensure_ascii=False)
            return codes, table
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        texts = np.array(
            [
                json.dumps(
                    {name: columns[name][[index]].tolist()[0] for name in names},
                    ensure_ascii=False,
                )
                for index in first.tolist()
            ],
            dtype=object,
        )
        return inverse.reshape(-1), texts
    pieces = []
    for position, name in enumerate(names):
        key = json.dumps(name, ensure_ascii=False)
        pieces.append(("{" if position == 0 else ", ") + key + ": ")
        column = columns[name]
        if column.dtype.kind == "f":
            values = [
                float.__repr__(v) if math.isfinite(v) else json.dumps(v) for v in column.tolist()
            ]
        else:
            inverse, distinct = distinct_of(name)
            texts = np.array([json.dumps(v, ensure_ascii=False) for v in distinct], dtype=object)
            values = texts[inverse].tolist()
        pieces.append(values)
    prefixes = pieces[0::2]
    columns_text = pieces[1::2]
    texts = [
        "".join(part for pair in zip(prefixes, row, strict=True) for part in pair) + "}"
        for row in zip(*columns_text, strict=True)
    ]
    return np.arange(n), np.array(texts, dtype=object)


def arrival_times(streams: Streams, procedure_id: str, rate: float, days: float) -> np.ndarray:
    """Poisson arrivals on the working-day clock over ``[0, days)``, sorted."""
    generator = streams.generator(procedure_id, "arrivals")
    count = generator.poisson(rate * days) if rate > 0 else 0
    return np.sort(generator.random(count) * days)


def sample_attribute(
    streams: Streams, procedure_id: str, attribute: Attribute, n: int
) -> tuple[np.ndarray, tuple[np.ndarray, list] | None]:
    """Per-case values of one attribute and, if categorical, their codes and values."""
    uniforms = streams.uniforms(procedure_id, "attribute", attribute.id, shape=n)
    if attribute.kind == "boolean":
        return uniforms < attribute.probability, None
    if attribute.kind == "categorical":
        edges = np.cumsum(attribute.shares)
        edges[-1] = 1.0
        codes = np.minimum(np.searchsorted(edges, uniforms, side="right"), len(edges) - 1)
        values = list(attribute.values)
        return np.asarray(values, dtype=object)[codes], (codes, values)
    assert attribute.distribution is not None
    return attribute.distribution.quantile(uniforms), None


def sample_step(streams: Streams, procedure_id: str, step: Step, n: int) -> StepDraws:
    """Per-case draws of one step, keyed by the step's random key."""
    return StepDraws(streams, procedure_id, step, n)


class SharedDraws:
    """The draws of one replication, made once for all the variants run on it.

    Variants of a replication see the same cases with the same luck (common random
    numbers), so a procedure that a variant leaves unchanged has the same arrivals,
    attributes and step draws in every variant: they are made for the first variant
    that needs them and read by the others. A changed procedure (not equal to one seen)
    gets draws of its own; a changed step of an unchanged procedure's version, too (step
    draws are kept per step object).
    """

    def __init__(self, seed_sequence: np.random.SeedSequence):
        self.seed_sequence = seed_sequence
        self.streams = Streams(seed_sequence)
        self._found: dict[tuple, ProcedureDraws] = {}

    def draws(self, procedure: Procedure, rate: float, days: float) -> ProcedureDraws:
        """`sample_procedure` of this replication, made once for equal arguments."""
        key = (procedure, rate, days)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = sample_procedure(self.streams, procedure, rate, days)
        return found


def shared_draws(shared: SharedDraws | None, seed_sequence: np.random.SeedSequence) -> SharedDraws:
    """``shared`` if given (it must be of ``seed_sequence``), else new shared draws."""
    if shared is None:
        return SharedDraws(seed_sequence)
    mine, theirs = shared.seed_sequence, seed_sequence
    if (mine.entropy, mine.spawn_key) != (theirs.entropy, theirs.spawn_key):
        raise ValueError("shared draws of another seed sequence (another replication)")
    return shared


def sample_procedure(
    streams: Streams, procedure: Procedure, rate: float, days: float
) -> ProcedureDraws:
    """Arrivals and attributes of one procedure for one replication (steps on demand)."""
    arrivals = arrival_times(streams, procedure.id, rate, days)
    n = len(arrivals)
    columns = {}
    categories = {}
    for attribute in procedure.attributes:
        column, coded = sample_attribute(streams, procedure.id, attribute, n)
        columns[attribute.id] = column
        if coded is not None:
            categories[attribute.id] = coded
    return ProcedureDraws(procedure, arrivals, columns, streams, categories)
