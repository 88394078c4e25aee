"""Reforms that accept a file on a written commitment checked later.

`tolerated_deficiency` (容缺受理): minor materials missing are accepted on a commitment
that may fail; `notification_commitment` (告知承诺制): the review becomes a short
commitment with a post-check (事中事后监管). A failed check costs a rework or revokes
the approval (`sim.domain.model.Consequence`).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Literal

from sim.domain import distributions
from sim.domain.model import FollowUp, Procedure, Step
from sim.inputs.schema import DistributionSpec, Probability
from sim.reforms.base import (
    ConsequenceParams,
    Names,
    NamesOrAll,
    Params,
    ProcedureParams,
    Reform,
    ReformType,
    Transform,
    each_step,
)


class ToleratedParams(ProcedureParams):
    """`tolerated_deficiency` (容缺受理).

    ``decide``: ``on_commitment`` (容缺办理, 承诺备案: the step is decided on the written
    commitment, the missing material is checked later, off the case's path; the default)
    or ``after_material`` (容缺受理 read as "accept first": the file is accepted and
    handled, but the decision waits until the material arrives by the committed date).
    """

    steps: NamesOrAll
    commitment_delay: DistributionSpec
    failure_share: Probability
    on_failure: ConsequenceParams
    decide: Literal["on_commitment", "after_material"] = "on_commitment"


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


def tolerated_deficiency(params: ToleratedParams, reform: Reform) -> Transform:
    """容缺受理: minor defects are accepted on a written commitment that may fail later."""
    follow_up = FollowUp(
        reform=reform.label,
        kind="commitment",
        delay=reform.distribution(params.commitment_delay, "commitment_delay"),
        failure_share=params.failure_share,
        consequence=reform.consequence(params.on_failure, "on_failure"),
        holds=params.decide == "after_material",
    )
    change = partial(_tolerate, reform.label, follow_up)
    # A case's path changes only when a missing minor material is tolerated: its
    # commitment then fires, and lists the reform.
    return each_step(params, reform, change, partial(_with_minor, params, reform), mark=False)


def _with_minor(
    params: ToleratedParams, reform: Reform, procedure: Procedure, chosen: list[str]
) -> list[str]:
    """The chosen steps that have minor materials (all of them, when steps are named)."""
    with_minor = [s for s in chosen if any(m.kind == "minor" for m in procedure.step(s).materials)]
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
        raise reform.error(f"no step of procedure '{procedure.id}' has minor materials", "steps")
    return with_minor


def _tolerate(label: str, follow_up: FollowUp, step: Step) -> Step:
    return replace(step, tolerance=label, follow_ups=(*step.follow_ups, follow_up))


def notification_commitment(params: NotificationParams, reform: Reform) -> Transform:
    """告知承诺制: a short commitment instead of the review, checked afterwards."""
    check = params.post_check
    follow_up = FollowUp(
        reform=reform.label,
        kind="post_check",
        delay=reform.distribution(check.delay, "post_check", "delay"),
        failure_share=check.failure_share,
        consequence=reform.consequence(check.consequence, "post_check", "consequence"),
    )
    handling = reform.distribution(params.handling, "handling")
    return each_step(params, reform, partial(_commit, handling, follow_up))


def _commit(handling: distributions.Distribution, follow_up: FollowUp, step: Step) -> Step:
    # Materials are still handed in, but defects are the post-check's business; the
    # commitment replaces the certificates (证明事项告知承诺制), and the review's declared
    # fixed time no longer applies.
    return replace(
        step,
        handling=handling,
        waiting=distributions.Fixed(0.0),
        send_back=None,
        materials=tuple(replace(m, probability_defective=0.0) for m in step.materials),
        certificates=0,
        follow_ups=(*step.follow_ups, follow_up),
        fixed_days=None,
        time_limit=None,
    )


TYPES = (
    ReformType("tolerated_deficiency", ToleratedParams, tolerated_deficiency),
    ReformType("notification_commitment", NotificationParams, notification_commitment),
)
