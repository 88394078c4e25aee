"""The numbers of each step, fitted from its executions on the working-day clock.

With start times recorded, an execution's start-to-end time is handling (it holds one
staff member), the gap before its first execution less any queue is the step's waiting,
and the gap before a repeat less any queue is the applicant's response to a send-back.
With end times only, queueing, handling and waiting cannot be told apart: the gap before
a step's first execution is taken as its handling at an agency without a staff limit (so
no queue is added on top), and the response to a send-back is the gap before a repeat
less the step's handling, by the method of moments (`fitting.moments_gamma`).

A repeat is a send-back (补正): the share of executions followed by another of the same
step in the case is the send-back probability, with a Clopper-Pearson interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.calibration.fitting import CONFIDENCE, Fit, fit_values, moments_gamma

MAX_RESUBMISSIONS = 20


@dataclass(frozen=True)
class StepFit:
    """What the records say about one step.

    Attributes:
        step: The step id.
        name: The name in the records.
        cases: Cases that ran the step.
        executions: Its executions (repeats included).
        handling: Handling fit.
        waiting: Waiting fit (None with end times only: no waiting is modelled).
        response: The applicant's response time after a send-back (None: no repeat).
        send_back: Probability that a submission is sent back.
        send_back_interval: Its Clopper-Pearson interval.
        most_rounds: The most executions of the step in one case.
        deviations: First executions that began before a step they wait on ended.
    """

    step: str
    name: str
    cases: int
    executions: int
    handling: Fit
    waiting: Fit | None
    response: Fit | None
    send_back: float
    send_back_interval: tuple[float, float]
    most_rounds: int
    deviations: int = 0

    @property
    def max_resubmissions(self) -> int:
        """Resubmissions allowed: two more than the most seen, so that cases rarely give up."""
        return min(MAX_RESUBMISSIONS, self.most_rounds + 1)


def send_back_rate(repeats: int, firsts: int) -> tuple[float, float, float]:
    """Send-back probability of repeats among all submissions, with its exact interval."""
    trials = repeats + firsts
    if trials == 0:
        return float("nan"), float("nan"), float("nan")
    tail = (1 - CONFIDENCE) / 2
    low = float(stats.beta.ppf(tail, repeats, firsts + 1)) if repeats > 0 else 0.0
    high = float(stats.beta.ppf(1 - tail, repeats + 1, firsts)) if firsts > 0 else 1.0
    return repeats / trials, low, high


def fit_steps(
    frame: pd.DataFrame,
    ready: pd.Series,
    queue: pd.Series,
    names: Mapping[str, str],
    deviations: Mapping[str, int],
    seed: int,
    criterion: str = "aic",
    resamples: int = 200,
) -> dict[str, StepFit]:
    """Fit every step that has executions (module doc).

    Args:
        frame: Prepared training executions (step ids).
        ready: Their ready clocks.
        queue: Their queue parts.
        names: Step id to record name.
        deviations: Order deviations by step.
        seed: Root seed of the bootstrap (each step gets its own stream).
        criterion: ``aic`` or ``bic``.
        resamples: Bootstrap resamples.

    Returns:
        Step id to its fit.
    """
    timed = bool(frame["start"].notna().any())
    gap = np.maximum(frame["begin"] - ready - queue, 0.0)
    fits = {}
    for position, (step, part) in enumerate(frame.groupby("step", sort=False)):
        rng = np.random.default_rng([seed, position])
        firsts = part["attempt"] == 1
        repeats = ~firsts
        if timed:
            handling = fit_values(part["end"] - part["start"], rng, criterion, resamples=resamples)
            waiting = fit_values(gap[part.index][firsts], rng, criterion, resamples=resamples)
            response = (
                fit_values(gap[part.index][repeats], rng, criterion, resamples=resamples)
                if repeats.any()
                else None
            )
        else:
            handling = fit_values(gap[part.index][firsts], rng, criterion, resamples=resamples)
            waiting = None
            response = (
                moments_gamma(gap[part.index][repeats], handling.distribution, rng, resamples)
                if repeats.any()
                else None
            )
        rate, low, high = send_back_rate(int(repeats.sum()), int(firsts.sum()))
        fits[str(step)] = StepFit(
            step=str(step),
            name=names.get(str(step), str(step)),
            cases=int(firsts.sum()),
            executions=len(part),
            handling=handling,
            waiting=waiting,
            response=response,
            send_back=rate,
            send_back_interval=(low, high),
            most_rounds=int(part["attempt"].max()),
            deviations=int(deviations.get(str(step), 0)),
        )
    return fits
