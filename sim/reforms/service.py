"""Reforms of how a step is served: online, time limits, waived fees and certificates, priority.

`online` (一网通办), `time_limit` (压缩时限), `fee_waiver` (零收费), `certificate_waiver`
(减证明) and `fast_lane` (the cases go first in every agency queue).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from pydantic import Field, model_validator

from sim.domain import distributions
from sim.domain.model import Procedure, ReformMark, Step, TimeLimit
from sim.inputs.schema import Count
from sim.reforms.base import (
    NamesOrAll,
    ProcedureParams,
    Reform,
    ReformType,
    Scale,
    Transform,
    each_step,
    retimed,
)


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


def online(params: OnlineParams, reform: Reform) -> Transform:
    """一网通办: the steps are done online; trips set (default 0), handling optionally scaled."""
    return each_step(params, reform, partial(_online, params, reform))


def _online(params: OnlineParams, reform: Reform, step: Step) -> Step:
    changed = replace(step, trips=params.trips, online=True)
    if params.handling_scale is None:
        return changed
    try:
        scaled = changed.handling.scaled(params.handling_scale)
    except (ValueError, distributions.DistributionSpecError) as error:
        raise reform.error(f"step '{step.id}': {error}", "handling_scale") from None
    return retimed(step, replace(changed, handling=scaled))


def time_limit(params: TimeLimitParams, reform: Reform) -> Transform:
    """压缩时限: the agency's own time scaled by ``scale`` or capped at ``cap`` working days.

    The agency's own time is the handling and, unless ``waiting_on_clock: false``, the
    waiting that counts on the approval clock (an internal sign-off queue); waiting off
    the clock (public notice, expert review) is set by law or by the applicant, not by a
    promised time limit, and is left alone. A cap limits that time once, not each part:
    the handling is capped at ``cap``, and the waiting on the clock is cut to what the
    step's time on the clock so far leaves of it (`sim.domain.model.TimeLimit`).
    """
    return each_step(params, reform, partial(_limit, params, reform))


def _limit(params: TimeLimitParams, reform: Reform, step: Step) -> Step:
    key = "scale" if params.scale is not None else "cap"
    try:
        if params.scale is not None:
            changed = replace(step, handling=step.handling.scaled(params.scale))
            if params.waiting_on_clock and step.waiting_on_clock:
                changed = replace(changed, waiting=step.waiting.scaled(params.scale))
            return retimed(step, changed)
        cap = params.cap
        if step.time_limit is not None:
            cap = min(cap, step.time_limit.days)
        waiting = params.waiting_on_clock and step.waiting_on_clock
        if step.time_limit is not None and step.time_limit.waiting:
            waiting = True
        return replace(
            step,
            handling=distributions.Capped(step.handling, params.cap),
            time_limit=TimeLimit(cap, waiting),
        )
    except (ValueError, distributions.DistributionSpecError) as error:
        raise reform.error(str(error), key) from None


def fee_waiver(params: WaiverParams, reform: Reform) -> Transform:
    """零收费: the steps charge no fee (the government pays, e.g. for seals)."""
    return each_step(params, reform, _no_fee)


def _no_fee(step: Step) -> Step:
    return replace(step, fees_cny=0.0)


def certificate_waiver(params: WaiverParams, reform: Reform) -> Transform:
    """减证明: the certificates the steps asked for are no longer needed."""
    return each_step(params, reform, _no_certificates)


def _no_certificates(step: Step) -> Step:
    return replace(step, certificates=0)


def fast_lane(params: FastLaneParams, reform: Reform) -> Transform:
    """The cases go first in every agency queue."""
    return partial(_fast_lane, reform)


def _fast_lane(reform: Reform, procedure: Procedure) -> Procedure:
    return reform.finish(procedure, procedure.steps, (ReformMark(reform.label),), fast_lane=True)


TYPES = (
    ReformType("online", OnlineParams, online),
    ReformType("time_limit", TimeLimitParams, time_limit),
    ReformType("fee_waiver", WaiverParams, fee_waiver),
    ReformType("certificate_waiver", WaiverParams, certificate_waiver),
    ReformType("fast_lane", FastLaneParams, fast_lane),
)
