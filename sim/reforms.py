"""The reform catalogue (docs/reforms.md): each type as checked parameters and a pure function.

A variant is the baseline plus its reforms, applied in order. A reform of one procedure
becomes a `ConditionalReform` appended to that procedure's `Demand`: a pure function
``Procedure -> Procedure`` (it returns changed copies and never mutates) with the
compiled ``when:`` condition, so the engine builds, per case, the version of the procedure
for the conditions the case meets. Reforms of the whole variant (``add_staff``,
``bundle``) change the model's agencies or demands directly.

Every surviving step keeps its random stream (`Step.random_key`), and a step made from
several gets a stream of its own, so that variants draw the same numbers for the same
step (common random numbers). Every problem is an `InputError` naming the scenario file,
the line and ``variants[i].reforms[j].<key>``; `resolve` builds every version of every
reformed procedure once, so that a conflict between reforms is a load error.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    model_validator,
)

from sim import distributions
from sim.conditions import Condition, ConditionError, compile_condition
from sim.errors import InputError
from sim.loader import field_path, find_cycle, line_of, read_yaml
from sim.model import (
    Agency,
    Attribute,
    ConditionalReform,
    Consequence,
    Demand,
    FollowUp,
    Material,
    Model,
    Name,
    Procedure,
    ReformSpec,
    Scenario,
    Step,
)
from sim.schema import (
    Count,
    DistributionSpec,
    Identifier,
    NameSpec,
    Probability,
    Strict,
    TargetSpec,
)

__all__ = ["REGISTRY", "Entry", "resolve"]

Transform = Callable[[Procedure], Procedure]

# Conditional reforms make 2**k versions of a procedure; all are built at load up to this k.
MAX_EXHAUSTIVE_CONDITIONS = 6


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


class ProcedureParams(Params):
    """A reform of one procedure, optionally only for the cases meeting ``when``."""

    procedure: Identifier
    when: str | None = None


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


class ParallelParams(ProcedureParams):
    """`parallel` (并联): the steps run side by side."""

    steps: Group


class MergeParams(ProcedureParams):
    """`merge` (多评合一, 多测合一, 多图联审) and `single_window` (一窗受理)."""

    steps: Group
    id: Identifier
    name: NameSpec
    agency: Identifier
    handling: DistributionSpec
    waiting: DistributionSpec | None = None


class JointParams(ProcedureParams):
    """`joint_acceptance` (联合验收): one inspection holding a staff member of each agency."""

    steps: Group
    id: Identifier
    name: NameSpec
    handling: DistributionSpec
    waiting: DistributionSpec | None = None
    trips: Count | None = None


class SkipParams(ProcedureParams):
    """`skip`, `regional_assessment` (区域评估), `no_application` (免申即享)."""

    steps: Names


class ToleratedParams(ProcedureParams):
    """`tolerated_deficiency` (容缺受理)."""

    steps: NamesOrAll
    commitment_delay: DistributionSpec
    failure_share: Probability
    on_failure: ConsequenceParams


class PostCheckParams(Params):
    """The post-check (事中事后监管) of a notification-commitment."""

    delay: DistributionSpec
    failure_share: Probability
    consequence: ConsequenceParams


class NotificationParams(ProcedureParams):
    """`notification_commitment` (告知承诺制)."""

    steps: Names
    handling: DistributionSpec
    post_check: PostCheckParams


class OnlineParams(ProcedureParams):
    """`online` (一网通办)."""

    steps: NamesOrAll
    trips: Count = 0.0
    handling_scale: Scale | None = None


class TimeLimitParams(ProcedureParams):
    """`time_limit` (压缩时限): ``scale`` or ``cap``, on the agency's own time."""

    steps: NamesOrAll
    scale: Scale | None = None
    cap: float | None = Field(default=None, ge=0.0, le=distributions.MAX_WORKING_DAYS)
    waiting_on_clock: bool = True

    @model_validator(mode="after")
    def _one_of(self) -> TimeLimitParams:
        if (self.scale is None) == (self.cap is None):
            raise ValueError("give either `scale:` or `cap:` (working days)")
        return self


class WaiverParams(ProcedureParams):
    """`fee_waiver` (零收费) and `certificate_waiver` (减证明)."""

    steps: NamesOrAll


class FastLaneParams(ProcedureParams):
    """`fast_lane`: the cases go first in every agency queue."""


class AddStaffParams(Params):
    """`add_staff`: ``add`` to an agency's staff or ``set`` it."""

    agency: Identifier
    add: int | None = Field(default=None, ge=1, le=100000)
    set_to: int | None = Field(default=None, alias="set", ge=1, le=100000)

    @model_validator(mode="after")
    def _one_of(self) -> AddStaffParams:
        if (self.add is None) == (self.set_to is None):
            raise ValueError("give either `add:` or `set:` (staff members)")
        return self


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


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Where:
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
        # The parsed YAML is not kept after loading; reading it again happens only on error.
        try:
            data = read_yaml(Path(self.file))
        except InputError:
            return self.line
        return line_of(data, loc) or self.line


@dataclass(frozen=True)
class _Reform:
    """One reform being built: what its transforms need, and nothing mutable.

    Attributes:
        where: Where it is written.
        label: Its label (audit trail, follow-up streams).
        source: Its source, copied into the steps it creates.
        agencies: The scenario's agency ids.
        removed: Step id to how an earlier reform of the variant removed it.
    """

    where: _Where
    label: str
    source: str
    agencies: frozenset[str]
    removed: Mapping[str, str] = field(default_factory=dict)

    def error(self, message: str, *keys: str | int) -> InputError:
        """An InputError pointing at this reform (see `_Where.error`)."""
        return self.where.error(message, *keys)

    def distribution(self, spec: Any, *keys: str) -> distributions.Distribution:
        """A distribution from its spec, or an error naming the bad parameter."""
        try:
            return distributions.from_spec(spec)
        except distributions.DistributionSpecError as error:
            extra = tuple(error.field.split(".")) if error.field else ()
            raise self.error(error.message, *keys, *extra) from None

    def agency(self, agency_id: str, *keys: str) -> str:
        """The agency id, checked against the scenario's agencies."""
        if agency_id not in self.agencies:
            raise self.error(
                f"unknown agency '{agency_id}'" + _closest(agency_id, self.agencies), *keys
            )
        return agency_id

    def consequence(self, spec: ConsequenceParams, *keys: str) -> Consequence:
        """The consequence of a failed check."""
        return Consequence(
            kind=spec.kind,
            agency=self.agency(spec.agency, *keys, "agency") if spec.agency else None,
            handling=(
                self.distribution(spec.handling, *keys, "handling")
                if spec.handling is not None
                else None
            ),
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
        return f"unknown step '{name}' in procedure '{procedure.id}'" + _closest(
            name, procedure.step_index
        )

    def finish(self, procedure: Procedure, steps: Iterable[Step], **changes: Any) -> Procedure:
        """The changed copy, with the label in the audit trail, checked for cycles."""
        changed = replace(
            procedure, steps=tuple(steps), fired=_added(procedure.fired, self.label), **changes
        )
        cycle = find_cycle(changed)
        if cycle:
            loop = " -> ".join((*cycle, cycle[0]))
            raise self.error(f"the steps of procedure '{procedure.id}' now wait in a cycle: {loop}")
        return changed


def _closest(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; known: {', '.join(known)}" if known else ""


def _added(labels: tuple[str, ...], *more: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*labels, *more)))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# --------------------------------------------------------------------------- graph helpers


def _with_after(step: Step, after: tuple[str, ...]) -> Step:
    # Unchanged steps stay the same object, so the engine's per-step draws are reused.
    return step if after == step.after else replace(step, after=after)


def _outside_predecessors(procedure: Procedure, members: Sequence[str]) -> tuple[str, ...]:
    inside = set(members)
    before = (name for member in members for name in procedure.step(member).after)
    return _unique(name for name in before if name not in inside)


def _redirect(after: tuple[str, ...], members: set[str], to: tuple[str, ...]) -> tuple[str, ...]:
    return _unique(
        itertools.chain.from_iterable(to if name in members else (name,) for name in after)
    )


def _descendants(procedure: Procedure, start: str) -> set[str]:
    following = procedure.successors()
    seen: set[str] = set()
    todo = list(following[start])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(following[name])
    return seen


def _check_no_detour(procedure: Procedure, members: Sequence[str], reform: _Reform) -> None:
    """Reject a group where one member waits on another through a step outside the group.

    Such a pair cannot run side by side (or become one step): the outside step would
    have to come both after and before the group.
    """
    inside = set(members)
    for member in members:
        for outside in sorted(_descendants(procedure, member) - inside):
            later = sorted(_descendants(procedure, outside) & inside)
            if later:
                raise reform.error(
                    f"step '{later[0]}' waits on '{member}' through '{outside}', which is not "
                    f"listed: add '{outside}' to `steps:` or leave one of them out",
                    "steps",
                )


# --------------------------------------------------------------------------- step reforms


def parallel(params: ParallelParams, reform: _Reform) -> Transform:
    """并联: the steps wait on the union of their outside predecessors; followers on all."""

    def apply(procedure: Procedure) -> Procedure:
        members = reform.steps(procedure, params.steps)
        _check_no_detour(procedure, members, reform)
        before = _outside_predecessors(procedure, members)
        inside = set(members)
        steps = (
            _with_after(s, before if s.id in inside else _redirect(s.after, inside, tuple(members)))
            for s in procedure.steps
        )
        return reform.finish(procedure, steps)

    return apply


def skip(params: SkipParams, reform: _Reform) -> Transform:
    """区域评估, 免申即享: the steps are dropped; their followers wait on their predecessors."""

    def apply(procedure: Procedure) -> Procedure:
        gone = set(reform.steps(procedure, params.steps))
        if len(gone) == len(procedure.steps):
            raise reform.error(f"would drop every step of procedure '{procedure.id}'", "steps")

        def expand(after: tuple[str, ...]) -> tuple[str, ...]:
            return _unique(
                itertools.chain.from_iterable(
                    expand(procedure.step(name).after) if name in gone else (name,)
                    for name in after
                )
            )

        kept = (_with_after(s, expand(s.after)) for s in procedure.steps if s.id not in gone)
        return reform.finish(procedure, kept)

    return apply


def _combine(procedure: Procedure, members: list[str], new: Step, reform: _Reform) -> Procedure:
    """Replace the members by ``new`` (at the first member's place); followers wait on it."""
    inside = set(members)
    clash = procedure.step_index.get(new.id)
    if clash is not None and new.id not in inside:
        raise reform.error(f"id '{new.id}' is already a step of procedure '{procedure.id}'", "id")
    _check_no_detour(procedure, members, reform)
    steps: list[Step] = []
    for step in procedure.steps:
        if step.id not in inside:
            steps.append(_with_after(step, _redirect(step.after, inside, (new.id,))))
        elif new not in steps:
            steps.append(new)
    return reform.finish(procedure, steps)


def _common_when(procedure: Procedure, parts: list[Step], reform: _Reform) -> Condition | None:
    """The merged step is needed by every case that needed any of its parts."""
    if any(part.when is None for part in parts):
        return None
    conditions = _unique(part.when.text for part in parts)
    if len(conditions) == 1:
        return parts[0].when
    text = " or ".join(f"({condition})" for condition in conditions)
    try:
        return compile_condition(text, procedure.attribute_kinds)
    except ConditionError as error:  # each part compiled alone, so this is not expected
        raise reform.error(f"the steps' conditions cannot be combined: {error}", "steps") from None


def _grouped_step(
    procedure: Procedure,
    members: list[str],
    reform: _Reform,
    *,
    waiting: distributions.Distribution | None,
    trips: float | None,
    **core: Any,
) -> Step:
    """A step made of several: sums, deduplicated materials, union of predecessors.

    ``core`` gives id, name, agency, handling (and joint agencies); ``waiting`` None means
    the longest member's, ``trips`` None the largest. The new step gets its own random
    stream (its id).
    """
    parts = [procedure.step(member) for member in members]
    longest = max(parts, key=lambda part: part.waiting.mean)
    waiting = longest.waiting if waiting is None else waiting
    return Step(
        **core,
        waiting=waiting,
        after=_outside_predecessors(procedure, members),
        materials=_materials_once(m for p in parts for m in p.materials),
        send_back=next((p.send_back for p in parts if p.send_back is not None), None),
        trips=max(p.trips for p in parts) if trips is None else trips,
        fees_cny=sum(p.fees_cny for p in parts),
        certificates=sum(p.certificates for p in parts),
        handling_on_clock=any(p.handling_on_clock for p in parts),
        waiting_on_clock=longest.waiting_on_clock if waiting is longest.waiting else False,
        online=all(p.online for p in parts),
        when=_common_when(procedure, parts, reform),
        tolerance=next((p.tolerance for p in parts if p.tolerance), None),
        follow_ups=tuple(f for p in parts for f in p.follow_ups),
        stream=core["id"],
        source=reform.source,
    )


def _merge_like(params: MergeParams, reform: _Reform, max_trips: float | None) -> Transform:
    agency = reform.agency(params.agency, "agency")
    handling = reform.distribution(params.handling, "handling")
    waiting = reform.distribution(params.waiting, "waiting") if params.waiting is not None else None

    def apply(procedure: Procedure) -> Procedure:
        members = reform.steps(procedure, params.steps)
        new = _grouped_step(
            procedure,
            members,
            reform,
            id=params.id,
            name=Name(params.name.zh, params.name.en),
            agency=agency,
            handling=handling,
            waiting=waiting,
            trips=None,
        )
        if max_trips is not None:
            new = replace(new, trips=min(new.trips, max_trips))
        return _combine(procedure, members, new, reform)

    return apply


def merge(params: MergeParams, reform: _Reform) -> Transform:
    """多评合一 etc.: the steps become one step of one agency."""
    return _merge_like(params, reform, max_trips=None)


def single_window(params: MergeParams, reform: _Reform) -> Transform:
    """一窗受理: the intakes of several agencies become one, with at most one trip."""
    return _merge_like(params, reform, max_trips=1.0)


def joint_acceptance(params: JointParams, reform: _Reform) -> Transform:
    """联合验收: one inspection holding a staff member of each of the steps' agencies."""
    handling = reform.distribution(params.handling, "handling")
    waiting = reform.distribution(params.waiting, "waiting") if params.waiting is not None else None

    def apply(procedure: Procedure) -> Procedure:
        members = reform.steps(procedure, params.steps)
        agencies = _unique(a for m in members for a in procedure.step(m).agencies)
        new = _grouped_step(
            procedure,
            members,
            reform,
            id=params.id,
            name=Name(params.name.zh, params.name.en),
            agency=agencies[0],
            joint_agencies=agencies[1:],
            handling=handling,
            waiting=waiting,
            trips=params.trips,
        )
        return _combine(procedure, members, new, reform)

    return apply


def _each_step(
    params: Any, reform: _Reform, change: Callable[[Step], Step], pick=None
) -> Transform:
    """A transform changing each selected step (``pick`` narrows or checks the selection)."""

    def apply(procedure: Procedure) -> Procedure:
        chosen = reform.steps(procedure, params.steps)
        chosen = set(pick(procedure, chosen) if pick else chosen)
        return reform.finish(
            procedure, (change(s) if s.id in chosen else s for s in procedure.steps)
        )

    return apply


def tolerated_deficiency(params: ToleratedParams, reform: _Reform) -> Transform:
    """容缺受理: minor defects are accepted on a written commitment that may fail later."""
    follow_up = FollowUp(
        reform=reform.label,
        kind="commitment",
        delay=reform.distribution(params.commitment_delay, "commitment_delay"),
        failure_share=params.failure_share,
        consequence=reform.consequence(params.on_failure, "on_failure"),
    )

    def pick(procedure: Procedure, chosen: list[str]) -> list[str]:
        with_minor = [
            s for s in chosen if any(m.kind == "minor" for m in procedure.step(s).materials)
        ]
        if params.steps != "all":
            for position, name in enumerate(chosen):
                if name not in with_minor:
                    raise reform.error(
                        f"step '{name}' has no minor materials, so tolerating their absence "
                        "changes nothing",
                        "steps",
                        position,
                    )
        if not with_minor:
            raise reform.error(
                f"no step of procedure '{procedure.id}' has minor materials", "steps"
            )
        return with_minor

    def change(step: Step) -> Step:
        return replace(step, tolerance=reform.label, follow_ups=(*step.follow_ups, follow_up))

    return _each_step(params, reform, change, pick)


def notification_commitment(params: NotificationParams, reform: _Reform) -> Transform:
    """告知承诺制: a short commitment instead of the review, checked afterwards."""
    handling = reform.distribution(params.handling, "handling")
    check = params.post_check
    follow_up = FollowUp(
        reform=reform.label,
        kind="post_check",
        delay=reform.distribution(check.delay, "post_check", "delay"),
        failure_share=check.failure_share,
        consequence=reform.consequence(check.consequence, "post_check", "consequence"),
    )
    no_wait = distributions.Fixed(0.0)

    def change(step: Step) -> Step:
        # Materials are still handed in, but defects are the post-check's business.
        return replace(
            step,
            handling=handling,
            waiting=no_wait,
            send_back=None,
            materials=tuple(replace(m, probability_defective=0.0) for m in step.materials),
            follow_ups=(*step.follow_ups, follow_up),
        )

    return _each_step(params, reform, change)


def _rescaled(step: Step, scale: float, reform: _Reform, key: str) -> Step:
    try:
        return replace(step, handling=step.handling.scaled(scale))
    except (ValueError, distributions.DistributionSpecError) as error:
        raise reform.error(f"step '{step.id}': {error}", key) from None


def online(params: OnlineParams, reform: _Reform) -> Transform:
    """一网通办: the steps are done online; trips set (default 0), handling optionally scaled."""

    def change(step: Step) -> Step:
        step = replace(step, trips=params.trips, online=True)
        if params.handling_scale is None:
            return step
        return _rescaled(step, params.handling_scale, reform, "handling_scale")

    return _each_step(params, reform, change)


def time_limit(params: TimeLimitParams, reform: _Reform) -> Transform:
    """压缩时限: the agency's own time scaled by ``scale`` or capped at ``cap`` working days.

    The agency's own time is the handling and, unless ``waiting_on_clock: false``, the
    waiting that counts on the approval clock (an internal sign-off queue); waiting off
    the clock (public notice, expert review) is set by law or by the applicant, not by a
    promised time limit, and is left alone.
    """

    def cut(duration: distributions.Distribution, key: str) -> distributions.Distribution:
        try:
            if params.scale is not None:
                return duration.scaled(params.scale)
            return distributions.Capped(duration, params.cap)
        except (ValueError, distributions.DistributionSpecError) as error:
            raise reform.error(str(error), key) from None

    def change(step: Step) -> Step:
        key = "scale" if params.scale is not None else "cap"
        step = replace(step, handling=cut(step.handling, key))
        if params.waiting_on_clock and step.waiting_on_clock:
            step = replace(step, waiting=cut(step.waiting, key))
        return step

    return _each_step(params, reform, change)


def fee_waiver(params: WaiverParams, reform: _Reform) -> Transform:
    """零收费: the steps charge no fee (the government pays, e.g. for seals)."""
    return _each_step(params, reform, lambda step: replace(step, fees_cny=0.0))


def certificate_waiver(params: WaiverParams, reform: _Reform) -> Transform:
    """减证明: the certificates the steps asked for are no longer needed."""
    return _each_step(params, reform, lambda step: replace(step, certificates=0))


def fast_lane(params: FastLaneParams, reform: _Reform) -> Transform:
    """The cases go first in every agency queue."""

    def apply(procedure: Procedure) -> Procedure:
        return reform.finish(procedure, procedure.steps, fast_lane=True)

    return apply


# --------------------------------------------------------------------------- variant reforms


@dataclass
class _State:
    """The variant being built: demands by procedure id (in order), agencies, audit trail."""

    demands: dict[str, Demand]
    agencies: dict[str, Agency]
    fired: list[str] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    removed_steps: dict[str, dict[str, str]] = field(default_factory=dict)
    removed_procedures: dict[str, str] = field(default_factory=dict)

    def demand(self, procedure_id: str, reform: _Reform, *keys: str | int) -> Demand:
        """The current demand of a procedure, or an error naming what became of it."""
        found = self.demands.get(procedure_id)
        if found is not None:
            return found
        gone = self.removed_procedures.get(procedure_id)
        if gone:
            raise reform.error(f"procedure '{procedure_id}' no longer exists: {gone}", *keys)
        raise reform.error(
            f"unknown procedure '{procedure_id}' (not in the scenario's `procedures:`)"
            + _closest(procedure_id, self.demands),
            *keys,
        )


def add_staff(params: AddStaffParams, reform: _Reform, state: _State) -> None:
    """Staff of an agency increased by ``add`` or set to ``set`` (unlimited stays unlimited)."""
    agency = state.agencies[reform.agency(params.agency, "agency")]
    if params.set_to is not None:
        staff: int | None = params.set_to
    else:
        staff = None if agency.unlimited else agency.staff + params.add
    state.agencies[agency.id] = replace(agency, staff=staff)
    state.fired.append(reform.label)


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
        )
        if step.after:
            return embedded
        # A first step is now handed in at the shared intake: no trip, materials once.
        materials = tuple(m for m in step.materials if m.id not in seen)
        seen.update(m.id for m in materials)
        return replace(embedded, after=(self.intake,), trips=0.0, materials=materials)

    def split(self, bundle: Procedure) -> dict[str, Procedure]:
        """Each part as a procedure of its own (ids unprefixed, no audit trail)."""
        parts = {}
        for part in self.parts:
            head = self.head(part.id)
            steps = tuple(self._unembed(s, head) for s in bundle.steps if s.id.startswith(head))
            parts[part.id] = replace(part, steps=steps, fired=(), fast_lane=False)
        return parts

    def _unembed(self, step: Step, head: str) -> Step:
        return replace(
            step,
            id=step.id.removeprefix(head),
            after=tuple(n.removeprefix(head) for n in step.after if n != self.intake),
            stream=step.random_key.removeprefix(head),
        )

    def lift(self, part: str, reform: ConditionalReform) -> ConditionalReform:
        """A part's reform as a reform of the bundle (it changes that part only)."""

        def apply(bundle: Procedure) -> Procedure:
            parts = self.split(bundle)
            changed = reform.apply(parts[part])
            parts[part] = changed
            return replace(
                bundle,
                steps=self.join(bundle, parts),
                fired=_added(bundle.fired, *changed.fired),
                fast_lane=bundle.fast_lane or changed.fast_lane,
            )

        return ConditionalReform(reform.label, reform.condition, apply)


def _bundle_attributes(parts: Sequence[Procedure], reform: _Reform) -> tuple[Attribute, ...]:
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


def _check_bundle_ids(params: BundleParams, reform: _Reform, state: _State) -> None:
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


def bundle(params: BundleParams, reform: _Reform, state: _State) -> None:
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
        target_days=params.target.working_days,
        target_source=params.target.source,
        steps=(intake,),
        attributes=_bundle_attributes(parts, reform),
        fired=(reform.label,),
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


def _replace_demands(state: _State, old: list[str], new: Demand) -> None:
    # The bundle takes the place of its first part, so the demand order stays readable.
    demands: dict[str, Demand] = {}
    for procedure_id, demand in state.demands.items():
        if procedure_id == old[0]:
            demands[new.procedure.id] = new
        elif procedure_id not in old:
            demands[procedure_id] = demand
    state.demands = demands


# --------------------------------------------------------------------------- registry


class Entry(NamedTuple):
    """A reform type: its parameter model and its builder.

    A builder of a procedure reform takes ``(params, reform)`` and returns the pure
    ``Procedure -> Procedure`` function; one of a variant reform takes
    ``(params, reform, state)`` and changes the variant being built.
    """

    params: type[Params]
    build: Callable[..., Any]


REGISTRY: dict[str, Entry] = {
    "parallel": Entry(ParallelParams, parallel),
    "tolerated_deficiency": Entry(ToleratedParams, tolerated_deficiency),
    "joint_acceptance": Entry(JointParams, joint_acceptance),
    "notification_commitment": Entry(NotificationParams, notification_commitment),
    "merge": Entry(MergeParams, merge),
    "skip": Entry(SkipParams, skip),
    "regional_assessment": Entry(SkipParams, skip),
    "no_application": Entry(SkipParams, skip),
    "online": Entry(OnlineParams, online),
    "single_window": Entry(MergeParams, single_window),
    "bundle": Entry(BundleParams, bundle),
    "time_limit": Entry(TimeLimitParams, time_limit),
    "fee_waiver": Entry(WaiverParams, fee_waiver),
    "certificate_waiver": Entry(WaiverParams, certificate_waiver),
    "add_staff": Entry(AddStaffParams, add_staff),
    "fast_lane": Entry(FastLaneParams, fast_lane),
}

# How a reform that removes steps is named when a later reform asks for one of them.
_REMOVES = {
    "merge": "merged it into '{id}'",
    "single_window": "merged it into '{id}'",
    "joint_acceptance": "joined it into '{id}'",
    "skip": "skipped it",
    "regional_assessment": "skipped it (regional assessment)",
    "no_application": "skipped it (no application needed)",
}


# --------------------------------------------------------------------------- resolve


def resolve(scenario: Scenario, variant: str) -> Model:
    """The Model of a variant: the baseline, or the variant's reforms applied in order.

    Args:
        scenario: The loaded scenario.
        variant: ``baseline`` or the name of one of its variants.

    Returns:
        The model the engine runs. Every version of every reformed procedure (for the
        conditions of its conditional reforms) has been built once.

    Raises:
        InputError: An unknown variant, or a reform that is unknown, badly written or in
            conflict with the procedures or with an earlier reform of the variant.
    """
    if variant == "baseline":
        return Model.baseline(scenario)
    names = [v.name for v in scenario.variants]
    if variant not in names:
        raise InputError(
            f"unknown variant '{variant}'" + _closest(variant, ["baseline", *names]),
            file=scenario.file,
        )
    index = names.index(variant)
    state = _State(
        demands={d.procedure.id: d for d in scenario.demands},
        agencies={a.id: a for a in scenario.agencies},
    )
    for position, spec in enumerate(scenario.variants[index].reforms):
        _add_reform(state, scenario, index, position, spec)
    model = Model(
        scenario,
        variant,
        tuple(state.demands.values()),
        tuple(state.agencies.values()),
        tuple(state.fired),
    )
    _build_versions(model)
    return model


def _add_reform(state: _State, scenario: Scenario, index: int, position: int, spec: ReformSpec):
    where = _Where(str(scenario.file), index, position, spec.label, spec.line)
    entry = _entry(spec, where)
    if spec.label in state.labels:
        raise where.error(
            f"label '{spec.label}' is used by reform {state.labels[spec.label] + 1} too; "
            "give each reform its own label",
            "label",
        )
    state.labels[spec.label] = position
    params = _parameters(entry.params, spec, where)
    reform = _Reform(where, spec.label, spec.source, frozenset(state.agencies))
    if isinstance(params, ProcedureParams):
        _add_procedure_reform(state, entry, params, reform, spec.type)
    else:
        entry.build(params, reform, state)


def _entry(spec: ReformSpec, where: _Where) -> Entry:
    entry = REGISTRY.get(spec.type)
    if entry is None:
        known = ", ".join(sorted(REGISTRY))
        hint = difflib.get_close_matches(spec.type, list(REGISTRY), n=1)
        guess = f"; did you mean '{hint[0]}'?" if hint else ""
        raise where.error(
            f"unknown reform type '{spec.type}'{guess} (known types: {known})", "type"
        )
    return entry


def _add_procedure_reform(
    state: _State, entry: Entry, params: ProcedureParams, reform: _Reform, kind: str
) -> None:
    """Append the reform to its procedure's demand; note the steps it removes."""
    demand = state.demand(params.procedure, reform, "procedure")
    removed = state.removed_steps.setdefault(params.procedure, {})
    # The transform sees what earlier reforms removed, not what later ones will.
    reform = replace(reform, removed=dict(removed))
    condition = _condition(params.when, demand.procedure, reform)
    conditional = ConditionalReform(reform.label, condition, entry.build(params, reform))
    state.demands[params.procedure] = replace(demand, reforms=(*demand.reforms, conditional))
    how = _REMOVES.get(kind)
    if how:
        only = f" for the cases meeting '{condition.text}'" if condition else ""
        text = f"reform '{reform.label}' {how.format(id=getattr(params, 'id', ''))}{only}"
        removed.update(dict.fromkeys(params.steps, text))


def _condition(text: str | None, procedure: Procedure, reform: _Reform) -> Condition | None:
    if text is None:
        return None
    try:
        return compile_condition(text, procedure.attribute_kinds)
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


# --------------------------------------------------------------------------- pydantic errors


def _parameters(model: type[Params], spec: ReformSpec, where: _Where) -> Params:
    try:
        return model.model_validate(dict(spec.parameters))
    except ValidationError as error:
        raise _parameter_error(error, model, spec.type, where) from None


def _parameter_error(error: ValidationError, model: type[Params], kind: str, where: _Where):
    # A misspelt key also makes the right one missing: report the misspelling first.
    problems = error.errors()
    first = next((e for e in problems if e["type"] == "extra_forbidden"), problems[0])
    loc = tuple(part for part in first["loc"] if not _is_union_tag(part))
    name = str(loc[-1]) if loc else ""
    if first["type"] == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        if name == "when" and owner is model and not issubclass(model, ProcedureParams):
            message = f"`when:` is not allowed: {kind} changes the whole variant, not some cases"
        else:
            parent = [key for key in loc[:-1] if isinstance(key, str)]
            inside = f"`{parent[-1]}:` of {kind}" if parent else kind
            message = f"unknown key '{name}' in {inside}" + _hint(name, _keys(owner))
    elif first["type"] == "missing":
        message = f"{kind} needs `{name}:`"
    elif first["type"] == "too_short":
        message = f"`{name}:` needs at least {first['ctx']['min_length']} entries"
    elif first["type"] == "string_pattern_mismatch":
        message = "must be lower-case letters, digits and underscores, starting with a letter"
    else:
        message = str(first["msg"]).removeprefix("Value error, ")
    return where.error(message, *loc)


def _hint(name: str, keys: list[str]) -> str:
    close = difflib.get_close_matches(name, keys, n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(keys)}"


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the union member's type to `loc` (e.g. 'float', "literal['all']").
    return isinstance(part, str) and (
        "[" in part or part in {"int", "float", "str", "bool", "list", "dict"}
    )


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or key for key, info in model.model_fields.items()]


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel]:
    """The parameter model that holds the key at ``loc`` (for did-you-mean hints)."""
    for key in loc:
        if isinstance(key, int):
            continue
        info = next(
            (i for k, i in model.model_fields.items() if key in (k, i.alias)),
            None,
        )
        candidates = (info.annotation, *get_args(info.annotation)) if info else ()
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            break
        model = nested[0]
    return model


def _materials_once(materials: Iterable[Material]) -> tuple[Material, ...]:
    """Materials deduplicated by id (first occurrence kept)."""
    kept: dict[str, Material] = {}
    for material in materials:
        kept.setdefault(material.id, material)
    return tuple(kept.values())
