"""Reforms that change which steps there are and what waits on what.

`parallel` (并联审批), `skip` with `regional_assessment` (区域评估) and `no_application`
(免申即享), `merge` (多评合一, 多测合一, 多图联审), `single_window` (一窗受理) and
`joint_acceptance` (联合验收). A step made from several gets a random stream of its own;
the others keep theirs (common random numbers).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from sim.domain import distributions
from sim.domain.conditions import Condition, ConditionError, compile_condition
from sim.domain.model import Name, Procedure, ReformMark, Step
from sim.inputs.schema import Count, DistributionSpec, Identifier, NameSpec
from sim.reforms.base import (
    Group,
    Names,
    ProcedureParams,
    Reform,
    ReformType,
    Transform,
    materials_once,
    redirect,
    unique,
    unique_marks,
    with_after,
)


class ParallelParams(ProcedureParams):
    """`parallel` (并联): the steps run side by side."""

    steps: Group


class SkipParams(ProcedureParams):
    """`skip`, `regional_assessment` (区域评估), `no_application` (免申即享)."""

    steps: Names


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


# --------------------------------------------------------------------------- graph helpers


def _outside_predecessors(procedure: Procedure, members: Sequence[str]) -> tuple[str, ...]:
    inside = set(members)
    before = (name for member in members for name in procedure.step(member).after)
    return unique(name for name in before if name not in inside)


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


def _check_no_detour(procedure: Procedure, members: Sequence[str], reform: Reform) -> None:
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


# --------------------------------------------------------------------------- parallel, skip


def parallel(params: ParallelParams, reform: Reform) -> Transform:
    """并联: the steps wait on the union of their outside predecessors; followers on all."""
    return partial(_parallel, params, reform)


def _parallel(params: ParallelParams, reform: Reform, procedure: Procedure) -> Procedure:
    members = reform.steps(procedure, params.steps)
    _check_no_detour(procedure, members, reform)
    before = _outside_predecessors(procedure, members)
    inside = set(members)
    steps = []
    for step in procedure.steps:
        new = with_after(
            step, before if step.id in inside else redirect(step.after, inside, tuple(members))
        )
        # A step now waiting on other steps runs differently.
        steps.append(step if new is step else reform.mark(new))
    return reform.finish(procedure, steps)


def skip(params: SkipParams, reform: Reform) -> Transform:
    """区域评估, 免申即享: the steps are dropped; their followers wait on their predecessors."""
    return partial(_skip, params, reform)


def _skip(params: SkipParams, reform: Reform, procedure: Procedure) -> Procedure:
    gone = set(reform.steps(procedure, params.steps))
    if len(gone) == len(procedure.steps):
        raise reform.error(f"would drop every step of procedure '{procedure.id}'", "steps")

    def expand(after: tuple[str, ...]) -> tuple[str, ...]:
        return unique(
            itertools.chain.from_iterable(
                expand(procedure.step(name).after) if name in gone else (name,) for name in after
            )
        )

    kept = (with_after(s, expand(s.after)) for s in procedure.steps if s.id not in gone)
    # The cases that needed a removed step (met its condition) go differently.
    removed = [procedure.step(name) for name in procedure.step_index if name in gone]
    whens = [None] if any(s.when is None for s in removed) else [s.when for s in removed]
    marks = tuple(ReformMark(reform.label, when) for when in dict.fromkeys(whens))
    return reform.finish(procedure, kept, marks)


# --------------------------------------------------------------------------- one step of several


def _combine(procedure: Procedure, members: list[str], new: Step, reform: Reform) -> Procedure:
    """Replace the members by ``new`` (at the first member's place); followers wait on it."""
    inside = set(members)
    clash = procedure.step_index.get(new.id)
    if clash is not None and new.id not in inside:
        raise reform.error(f"id '{new.id}' is already a step of procedure '{procedure.id}'", "id")
    _check_no_detour(procedure, members, reform)
    steps: list[Step] = []
    for step in procedure.steps:
        if step.id not in inside:
            steps.append(with_after(step, redirect(step.after, inside, (new.id,))))
        elif new not in steps:
            steps.append(new)
    return reform.finish(procedure, steps)


def _common_when(procedure: Procedure, parts: list[Step], reform: Reform) -> Condition | None:
    """The merged step is needed by every case that needed any of its parts."""
    if any(part.when is None for part in parts):
        return None
    conditions = unique(part.when.text for part in parts)
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
    reform: Reform,
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
    marks = (*(m for p in parts for m in p.reformed_by), ReformMark(reform.label))
    return Step(
        **core,
        waiting=waiting,
        after=_outside_predecessors(procedure, members),
        materials=materials_once(parts),
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
        reformed_by=unique_marks(marks),
    )


def _merge_like(params: MergeParams, reform: Reform, max_trips: float | None) -> Transform:
    return partial(
        _merge,
        params,
        reform,
        reform.agency(params.agency, "agency"),
        reform.distribution(params.handling, "handling"),
        reform.optional_distribution(params.waiting, "waiting"),
        max_trips,
    )


def _merge(
    params: MergeParams,
    reform: Reform,
    agency: str,
    handling: distributions.Distribution,
    waiting: distributions.Distribution | None,
    max_trips: float | None,
    procedure: Procedure,
) -> Procedure:
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


def merge(params: MergeParams, reform: Reform) -> Transform:
    """多评合一 etc.: the steps become one step of one agency."""
    return _merge_like(params, reform, max_trips=None)


def single_window(params: MergeParams, reform: Reform) -> Transform:
    """一窗受理: the intakes of several agencies become one, with at most one trip."""
    return _merge_like(params, reform, max_trips=1.0)


def joint_acceptance(params: JointParams, reform: Reform) -> Transform:
    """联合验收: one inspection holding a staff member of each of the steps' agencies."""
    return partial(
        _joint,
        params,
        reform,
        reform.distribution(params.handling, "handling"),
        reform.optional_distribution(params.waiting, "waiting"),
    )


def _joint(
    params: JointParams,
    reform: Reform,
    handling: distributions.Distribution,
    waiting: distributions.Distribution | None,
    procedure: Procedure,
) -> Procedure:
    members = reform.steps(procedure, params.steps)
    agencies = unique(a for m in members for a in procedure.step(m).agencies)
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


TYPES = (
    ReformType("parallel", ParallelParams, parallel),
    ReformType("merge", MergeParams, merge, removes="merged it into '{id}'"),
    ReformType("single_window", MergeParams, single_window, removes="merged it into '{id}'"),
    ReformType("joint_acceptance", JointParams, joint_acceptance, removes="joined it into '{id}'"),
    ReformType("skip", SkipParams, skip, removes="skipped it"),
    ReformType("regional_assessment", SkipParams, skip, removes="skipped it (regional assessment)"),
    ReformType("no_application", SkipParams, skip, removes="skipped it (no application needed)"),
)
