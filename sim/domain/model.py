"""Plain, frozen model objects: procedures, steps, agencies, scenarios.

They are built once by the loader (which validates everything) and never mutated: a
reform returns a changed copy with `dataclasses.replace`. Durations are in working days,
unless a field's unit says calendar days (a target, a step's waiting or fixed time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sim.domain.calendar import WorkingCalendar
    from sim.domain.conditions import Condition
    from sim.domain.distributions import Distribution

# The unit of a duration: working days (the clock's), or calendar days, which run through
# weekends and holidays.
Unit = Literal["working_days", "calendar_days"]
WORKING_DAYS: Unit = "working_days"
CALENDAR_DAYS: Unit = "calendar_days"


@dataclass(frozen=True)
class Name:
    """A name in Chinese and English."""

    zh: str
    en: str

    def label(self, lang: str = "zh") -> str:
        """The name in ``lang`` (``zh`` or ``en``), falling back to the other."""
        return (self.zh or self.en) if lang == "zh" else (self.en or self.zh)


@dataclass(frozen=True)
class Material:
    """A document the applicant hands in; ``main`` ones are essential, ``minor`` ones not.

    A send-back lists every defect at once (一次性告知, Administrative Licensing Law art.
    32), and the resubmission is checked for the materials it listed only: a material
    accepted once stays accepted; one sent back is wrong again with its own chance.

    Attributes:
        probability_defective: Chance it is missing or faulty when first handed in.
        probability_still_defective: Chance it is still wrong when handed in again after
            a send-back listed it; None: ``probability_defective`` (the default, an
            assumption: a corrected document is as likely to be wrong as a first one).
        stream: Key of its random numbers: the step it was declared in, kept when
            reforms merge steps, so that it draws the same numbers wherever it is
            checked; empty: the key of the step that checks it.
    """

    id: str
    name: str
    kind: Literal["main", "minor"]
    probability_defective: float
    probability_still_defective: float | None = None
    stream: str = ""

    @property
    def probability_again(self) -> float:
        """The chance it is still wrong when handed in again after a send-back."""
        if self.probability_still_defective is None:
            return self.probability_defective
        return self.probability_still_defective


@dataclass(frozen=True)
class SendBack:
    """What happens on a defect (补正): the applicant corrects and resubmits, up to a cap."""

    response: Distribution
    max_resubmissions: int


@dataclass(frozen=True)
class Consequence:
    """What a failed commitment or a failed post-check costs the case."""

    kind: Literal["rework", "revoke"]
    agency: str | None = None
    handling: Distribution | None = None


@dataclass(frozen=True)
class FollowUp:
    """A check made after the step (容缺 commitments, 告知承诺 post-checks).

    Attributes:
        reform: The label of the reform that created it (for the audit trail).
        kind: ``commitment`` (fires only when minor materials were tolerated) or
            ``post_check`` (fires on every case that passes the step).
        delay: Working days from the step's end to the check; for a commitment that
            ``holds`` the step, from its handling's end to the material's arrival.
        failure_share: Probability that the check fails.
        consequence: What a failure costs.
        holds: A commitment on which the step is accepted but not decided (容缺受理 read
            as "accept first, decide once the missing material is in"): the step ends
            when its own waiting is over and the material has arrived, and the check is
            made then. False: the step is decided on the written commitment (容缺办理,
            承诺备案) and the check comes ``delay`` after, off the case's path.
    """

    reform: str
    kind: Literal["commitment", "post_check"]
    delay: Distribution
    failure_share: float
    consequence: Consequence
    holds: bool = False


@dataclass(frozen=True)
class TimeLimit:
    """A promised time limit on a step (压缩时限 with a cap).

    Attributes:
        days: The most working days the step takes on the approval clock, once: its
            queue and handling (if they count on the clock) and its waiting (if it counts
            and ``waiting`` is set) together. The handling itself is capped at ``days``
            too; the waiting is cut to what is left. Time off the clock is not limited.
        waiting: Whether the waiting on the clock is limited with the handling.
    """

    days: float
    waiting: bool = True

    def waiting_left(self, waiting: float, on_clock_before: float) -> float:
        """The step's waiting, cut to what the limit leaves after ``on_clock_before``."""
        if not self.waiting:
            return waiting
        return min(waiting, max(0.0, self.days - on_clock_before))


@dataclass(frozen=True)
class ReformMark:
    """A reform that changed how a step runs (or every case of a procedure version).

    A case lists the reform in its audit trail (``reforms_fired``) when it runs the step
    (for a mark of the whole version: from its start), if it meets ``when``.

    Attributes:
        label: The reform's label.
        when: Only for the cases meeting this condition (a step a reform removed applied
            to them); None: every case.
    """

    label: str
    when: Condition | None = None


@dataclass(frozen=True)
class Step:
    """A step (环节) of a procedure, handled by one agency (or several at once).

    Attributes:
        id: Identifier, unique in the procedure.
        name: Display name.
        agency: The agency whose staff handle it.
        handling: Staff effort in working days; holds one staff member.
        waiting: Elapsed time that holds no staff (public notice, expert review, the
            applicant's own works, site survey), in ``waiting_unit``.
        after: Steps that must finish first (several = a join).
        materials: Documents checked at the step.
        send_back: Defect policy; None when nothing can be defective.
        trips: Applicant trips per submission (跑动).
        fees_cny: Fees charged.
        certificates: Certificates or proofs the applicant must bring (证明).
        handling_on_clock: Whether queueing and handling count on the legal approval clock.
        waiting_on_clock: Whether the waiting counts. Hearings, testing, inspection and
            expert review do not (Administrative Licensing Law art. 45); public notice and
            the applicant's own works are kept off the clock too, by this model's convention.
        online: Whether the step is done fully online.
        when: The step applies only to cases meeting this condition.
        joint_agencies: Further agencies whose staff must be held at the same moment
            (a joint inspection).
        tolerance: Label of the reform under which minor defects are accepted on a
            written commitment (容缺受理); None: they are sent back.
        follow_ups: Checks made after the step.
        stream: Key of the step's random numbers; kept across reforms so that a step
            draws the same numbers in every variant (common random numbers).
        source: Where the numbers come from.
        fixed_days: The step's fixed time for the deterministic methods, in
            ``fixed_unit``, when declared; otherwise they take the typical handling plus
            waiting.
        reformed_by: The reforms that changed how the step runs (the audit trail of the
            cases that run it).
        time_limit: A promised limit on the step's time on the approval clock.
        waiting_unit: The unit of the waiting: calendar days run through weekends and
            holidays (converted at the moment the waiting starts).
        fixed_unit: The unit of ``fixed_days``.
        counted: Whether the step is a procedure as Doing Business counts them (a step
            marked ``not_a_procedure`` takes no time and is not counted there).
    """

    id: str
    name: Name
    agency: str
    handling: Distribution
    waiting: Distribution
    after: tuple[str, ...] = ()
    materials: tuple[Material, ...] = ()
    send_back: SendBack | None = None
    trips: float = 0.0
    fees_cny: float = 0.0
    certificates: int = 0
    handling_on_clock: bool = True
    waiting_on_clock: bool = False
    online: bool = False
    when: Condition | None = None
    joint_agencies: tuple[str, ...] = ()
    tolerance: str | None = None
    follow_ups: tuple[FollowUp, ...] = ()
    stream: str = ""
    source: str = ""
    fixed_days: float | None = None
    reformed_by: tuple[ReformMark, ...] = ()
    time_limit: TimeLimit | None = None
    waiting_unit: Unit = WORKING_DAYS
    fixed_unit: Unit = WORKING_DAYS
    counted: bool = True

    @property
    def agencies(self) -> tuple[str, ...]:
        """Every agency whose staff the step holds."""
        return (self.agency, *self.joint_agencies)

    @property
    def random_key(self) -> str:
        """The key of the step's random-number stream."""
        return self.stream or self.id


@dataclass(frozen=True)
class Attribute:
    """A case attribute sampled per case.

    Attributes:
        id: Identifier used in conditions.
        kind: ``categorical`` (values with shares), ``boolean`` (a probability) or
            ``numeric`` (a distribution).
        values: Categorical values.
        shares: Categorical shares, summing to 1.
        probability: Probability of ``true`` for a boolean.
        distribution: Distribution of a numeric attribute.
        source: Where the numbers come from.
    """

    id: str
    kind: Literal["categorical", "boolean", "numeric"]
    values: tuple[str, ...] = ()
    shares: tuple[float, ...] = ()
    probability: float = 0.0
    distribution: Distribution | None = None
    source: str = ""


@dataclass(frozen=True)
class Procedure:
    """A procedure (事项): attributes, steps and a target.

    Attributes:
        id: Identifier.
        name: Display name.
        target_days: Published target, in ``target_unit``.
        target_source: Where the target is published.
        steps: The steps, in file order.
        attributes: Attributes sampled per case.
        fast_lane: Whether its cases go first in every agency queue.
        fired: Labels of the reforms applied to this version, in order; a case's audit
            trail lists the reforms that changed its path in this order.
        reformed_by: Reforms that change every case of this version (a fast lane, a
            bundle, a removed step), beside those marking its steps.
        file: The file it was read from.
        target_unit: The unit of the target (a Doing Business figure or a utility's
            service standard may be in calendar days).
    """

    id: str
    name: Name
    target_days: float
    target_source: str
    steps: tuple[Step, ...]
    attributes: tuple[Attribute, ...] = ()
    fast_lane: bool = False
    fired: tuple[str, ...] = ()
    reformed_by: tuple[ReformMark, ...] = ()
    file: str = ""
    target_unit: Unit = WORKING_DAYS

    @cached_property
    def step_index(self) -> dict[str, Step]:
        """Steps by id."""
        return {step.id: step for step in self.steps}

    @cached_property
    def attribute_kinds(self) -> dict[str, str]:
        """Attribute id to kind, the typed context of conditions."""
        return {attribute.id: attribute.kind for attribute in self.attributes}

    def step(self, step_id: str) -> Step:
        """The step with this id."""
        return self.step_index[step_id]

    def successors(self) -> dict[str, tuple[str, ...]]:
        """Step id to the steps that wait on it."""
        following: dict[str, list[str]] = {step.id: [] for step in self.steps}
        for step in self.steps:
            for before in step.after:
                following[before].append(step.id)
        return {key: tuple(value) for key, value in following.items()}

    def cycle(self) -> list[str]:
        """Step ids that wait on each other in a cycle (``after:``), or an empty list."""
        after = {step.id: step.after for step in self.steps}
        state: dict[str, int] = {}
        trail: list[str] = []

        def visit(node: str) -> list[str]:
            state[node] = 1
            trail.append(node)
            for before in after.get(node, ()):
                if state.get(before) == 1:
                    return trail[trail.index(before) :]
                if before not in state:
                    found = visit(before)
                    if found:
                        return found
            state[node] = 2
            trail.pop()
            return []

        for step_id in after:
            if step_id not in state:
                found = visit(step_id)
                if found:
                    return list(reversed(found))
        return []

    def topological_order(self) -> tuple[str, ...]:
        """Step ids so that every step comes after its predecessors (file order on ties)."""
        remaining = {step.id: set(step.after) for step in self.steps}
        order: list[str] = []
        while remaining:
            ready = [step.id for step in self.steps if remaining.get(step.id) == set()]
            if not ready:
                raise ValueError(f"steps {sorted(remaining)} form a cycle")
            for step_id in ready:
                del remaining[step_id]
                for waiting in remaining.values():
                    waiting.discard(step_id)
            order.extend(ready)
        return tuple(order)


@dataclass(frozen=True)
class Agency:
    """An agency (部门) with its staff, shared by every procedure of a scenario."""

    id: str
    name: Name
    staff: int | None
    source: str = ""

    @property
    def unlimited(self) -> bool:
        """Whether the agency has no staff limit (``staff: unlimited``)."""
        return self.staff is None


@dataclass(frozen=True)
class ConditionalReform:
    """One reform of a variant as a pure function, applied to the cases meeting a condition.

    Attributes:
        label: The reform's label (for the audit trail).
        condition: The cases it applies to; None: every case.
        apply: Procedure -> changed copy.
    """

    label: str
    condition: Condition | None
    apply: Callable[[Procedure], Procedure] = field(compare=False)


@dataclass(frozen=True, eq=False)
class Demand:
    """A procedure, how many cases arrive per working day (Poisson), and its reforms.

    Reforms are applied in order; one with a condition only for the cases meeting it, so
    a case's procedure is the version for its *signature* (which conditions it meets).
    """

    procedure: Procedure
    arrivals_per_day: float
    source: str = ""
    reforms: tuple[ConditionalReform, ...] = ()

    @cached_property
    def conditions(self) -> tuple[Condition, ...]:
        """The conditions of the conditional reforms, in order."""
        return tuple(r.condition for r in self.reforms if r.condition is not None)

    def version(self, signature: tuple[bool, ...] = ()) -> Procedure:
        """The procedure for cases meeting the conditions flagged in ``signature``."""
        cache = self.__dict__.setdefault("_versions", {})
        if signature not in cache:
            flags = iter(signature)
            procedure = self.procedure
            for reform in self.reforms:
                if reform.condition is None or next(flags, True):
                    procedure = reform.apply(procedure)
            cache[signature] = procedure
        return cache[signature]

    def versions(self) -> tuple[Procedure, ...]:
        """The versions built so far (`sim.reforms.resolve` builds them all at load)."""
        return tuple(self.__dict__.get("_versions", {}).values())


@dataclass(frozen=True)
class ReformSpec:
    """A reform as written in a scenario: its type, label and validated parameters."""

    type: str
    label: str
    parameters: dict[str, Any] = field(hash=False, compare=False)
    line: int | None = None
    source: str = ""


@dataclass(frozen=True)
class Variant:
    """A named variant: the baseline plus an ordered list of reforms.

    Its title is in both languages (the name when none is given).
    """

    name: str
    title: Name
    reforms: tuple[ReformSpec, ...] = ()


# Doing Business indicators whose rules differ (`Counting`).
INDICATORS = (
    "starting_a_business",
    "dealing_with_construction_permits",
    "getting_electricity",
    "registering_property",
)
# The first Doing Business edition that records a procedure done fully online as half a day.
HALF_DAY_EDITION = 2015


@dataclass(frozen=True)
class Rules:
    """The rules the deterministic engine counts a procedure's time by (`Counting.rules`).

    Attributes:
        method: ``cn`` (working days) or ``db`` (calendar days).
        minimum_one_day: A step takes at least one day.
        online_half_day: A step done fully online takes at least half a day, not one.
        consecutive_starts: Steps that could start together start on consecutive days
            (steps done online excepted).
        include_conditional: Steps with a ``when:`` condition are included.
    """

    method: Literal["cn", "db"]
    minimum_one_day: bool
    online_half_day: bool
    consecutive_starts: bool
    include_conditional: bool = True

    @property
    def unit(self) -> Unit:
        """The unit the method counts in."""
        return CALENDAR_DAYS if self.method == "db" else WORKING_DAYS


@dataclass(frozen=True)
class Counting:
    """How the deterministic engine counts a procedure's time, as the scenario asks.

    ``cn``: the Chinese process maps' committed times (承诺时限): each step's working
    days, half and zero days allowed, steps side by side start the same day, the total
    is the longest path. ``db``: the World Bank's Doing Business rules: calendar days, a
    step at least one day, a step done fully online half a day, steps that could start
    together on consecutive days, a step marked ``not_a_procedure`` none. Doing Business
    recorded online procedures as half a day from its 2015 edition on (``edition``), and
    never for getting electricity (``indicator``). Any rule may be set explicitly.

    Attributes:
        method: ``cn``, ``db``, or None: by the unit of the procedure's target (calendar
            days: ``db``; working days: ``cn``).
        edition: The Doing Business edition (year) whose rules to follow.
        indicator: The Doing Business indicator (`INDICATORS`).
        minimum_one_day, online_half_day, consecutive_starts: A rule set explicitly
            (None: the method's).
        include_conditional: Whether steps with a ``when:`` condition are included.
    """

    method: Literal["cn", "db"] | None = None
    edition: int | None = None
    indicator: str | None = None
    minimum_one_day: bool | None = None
    online_half_day: bool | None = None
    consecutive_starts: bool | None = None
    include_conditional: bool = True

    def rules(self, procedure: Procedure) -> Rules:
        """The rules for a procedure."""
        method = self.method or ("db" if procedure.target_unit == CALENDAR_DAYS else "cn")
        db = method == "db"
        half_day = (
            db
            and (self.edition is None or self.edition >= HALF_DAY_EDITION)
            and self.indicator != "getting_electricity"
        )
        return Rules(
            method=method,
            minimum_one_day=_chosen(self.minimum_one_day, db),
            online_half_day=_chosen(self.online_half_day, half_day),
            consecutive_starts=_chosen(self.consecutive_starts, db),
            include_conditional=self.include_conditional,
        )


def _chosen(explicit: bool | None, default: bool) -> bool:
    return default if explicit is None else explicit


@dataclass(frozen=True)
class Horizon:
    """How long cases arrive, how long the run goes on, and what is dropped as warm-up.

    Attributes:
        arrival_days: Working days during which cases arrive.
        drain_days: Further working days the run goes on so that cases can finish.
        warmup_days: Cases arriving before this are dropped from the statistics.
    """

    arrival_days: float
    drain_days: float
    warmup_days: float = 0.0

    @property
    def end(self) -> float:
        """The working-day clock at which the run stops."""
        return self.arrival_days + self.drain_days


@dataclass(frozen=True, eq=False)
class Scenario:
    """A scenario: procedures with arrivals, agencies, horizon, calendar, seed, variants.

    Attributes:
        models: What the engines run, one model a variant (``baseline`` first), each
            with its reforms applied; filled in once when the scenario is loaded
            (`sim.reforms.resolve`), empty before.
    """

    name: str
    title: str
    file: str
    seed: int
    replications: int
    start: date
    horizon: Horizon
    calendar: WorkingCalendar
    agencies: tuple[Agency, ...]
    demands: tuple[Demand, ...]
    variants: tuple[Variant, ...] = ()
    models: tuple[Model, ...] = ()
    counting: Counting = Counting()

    @cached_property
    def agency_index(self) -> dict[str, Agency]:
        """Agencies by id."""
        return {agency.id: agency for agency in self.agencies}

    @cached_property
    def procedure_index(self) -> dict[str, Procedure]:
        """Procedures by id."""
        return {demand.procedure.id: demand.procedure for demand in self.demands}

    @property
    def variant_names(self) -> tuple[str, ...]:
        """``baseline`` followed by the declared variants."""
        return ("baseline", *(variant.name for variant in self.variants))

    @cached_property
    def model_index(self) -> dict[str, Model]:
        """The resolved models by variant name."""
        return {model.variant: model for model in self.models}

    def model(self, variant: str) -> Model:
        """The resolved model of a variant (``baseline`` or a declared variant's name)."""
        return self.model_index[variant]

    def with_counting(self, counting: Counting) -> Scenario:
        """The scenario (and its models) counting by ``counting`` (`Counting`)."""
        models = tuple(replace(model, counting=counting) for model in self.models)
        return replace(self, counting=counting, models=models)


@dataclass(frozen=True, eq=False)
class Model:
    """What an engine runs: one variant of a scenario, its reforms applied.

    Attributes:
        variant: The variant's name (``baseline`` for none).
        title: The variant's title in both languages.
        demands: Procedures (reformed) with their arrivals.
        agencies: Agencies (with reformed staff).
        horizon: The scenario's horizon.
        file: The scenario's file, for messages.
        fired: Reforms that changed the whole variant (e.g. added staff), for the audit trail.
        calendar: The scenario's working-day calendar (durations in calendar days need
            it); None for a model made without one.
        counting: How the deterministic engine counts (the scenario's).
    """

    variant: str
    title: Name
    demands: tuple[Demand, ...]
    agencies: tuple[Agency, ...]
    horizon: Horizon
    file: str = ""
    fired: tuple[str, ...] = ()
    calendar: WorkingCalendar | None = None
    counting: Counting = Counting()

    @classmethod
    def baseline(cls, scenario: Scenario) -> Model:
        """The scenario without reforms."""
        return cls(
            "baseline",
            Name("基线", "baseline"),
            scenario.demands,
            scenario.agencies,
            scenario.horizon,
            scenario.file,
            calendar=scenario.calendar,
            counting=scenario.counting,
        )

    def calendar_needed(self) -> WorkingCalendar:
        """The calendar, for a duration in calendar days (an error if there is none)."""
        if self.calendar is None:
            raise ValueError(
                f"variant '{self.variant}' has a duration in calendar days but no calendar"
            )
        return self.calendar

    @cached_property
    def procedure_index(self) -> dict[str, Procedure]:
        """The variant's procedures by id (a bundle's included), unreformed by conditions."""
        return {demand.procedure.id: demand.procedure for demand in self.demands}
