"""The standard model as a bare heapq event loop: the practical ceiling of plain Python.

No framework, no objects per event: an event is a tuple (time, serial, kind, case, step)
on a `heapq`, staff are a free count and a FIFO queue per agency, a freed member goes
straight to the head of the queue (its handling is scheduled at once, no event of its
own), durations come from Python's `random` module. It records what the comparison needs
(arrival and end of each case) and nothing else: no calendar, no rules, no rows. The
parameters are `plain_simpy`'s (those of `standard_model.yaml` / `standard_scenario.yaml`).

Run alone: ``python benchmarks/heapq_loop.py 100000``.
"""

from __future__ import annotations

import random
from collections import deque
from heapq import heappop, heappush

import plain_simpy
from plain_simpy import (
    ARRIVALS_PER_DAY,
    MAX_RESUBMISSIONS,
    PARAMETERS,
    RESUBMISSION_MEAN,
    SEND_BACK_SHARE,
    STAFF,
)

# The steps in order, each with the steps it waits for (the flow of `plain_simpy.case`).
AFTER = {
    "intake": (),
    "review_planning": ("intake",),
    "review_environment": ("intake",),
    "review_fire": ("intake",),
    "joint_opinion": ("review_planning", "review_environment", "review_fire"),
    "technical_review": ("joint_opinion",),
    "site_survey": ("technical_review",),
    "fee_assessment": ("technical_review",),
    "consolidation": ("site_survey", "fee_assessment"),
    "permit_drafting": ("consolidation",),
    "legal_check": ("consolidation",),
    "issue": ("permit_drafting", "legal_check"),
}
REVIEWED = "technical_review"  # the step that sends files back
ARRIVAL, DONE, RESUBMIT = 0, 1, 2


def run(cases: int, seed: int = 1) -> list[tuple[float, float]]:
    """Simulate until ``cases`` cases have arrived and all have finished.

    Returns:
        (arrival, end) of each case, in working days.
    """
    rng = random.Random(seed)
    lognormal, exponential, uniform = rng.lognormvariate, rng.expovariate, rng.random
    names = list(AFTER)
    index = {name: position for position, name in enumerate(names)}
    waits = [len(AFTER[name]) for name in names]
    successors = [[index[s] for s in names if name in AFTER[s]] for name in names]
    agency_names = list(STAFF)
    agency_of = [agency_names.index(PARAMETERS[name][0]) for name in names]
    mu = [PARAMETERS[name][1] for name in names]
    sigma = [PARAMETERS[name][2] for name in names]
    reviewed, last = index[REVIEWED], len(names) - 1
    free = [STAFF[name] for name in agency_names]
    queues: list[deque] = [deque() for _ in agency_names]
    events: list[tuple] = []
    serial = 0
    done: list[tuple[float, float]] = []
    # A case is a list: [arrival, submissions of the reviewed step, waits per step...].

    def ready(now: float, case: list, step: int) -> None:
        nonlocal serial
        agency = agency_of[step]
        if free[agency]:
            free[agency] -= 1
            serial += 1
            heappush(events, (now + lognormal(mu[step], sigma[step]), serial, DONE, case, step))
        else:
            queues[agency].append((case, step))

    serial += 1
    heappush(events, (exponential(ARRIVALS_PER_DAY), serial, ARRIVAL, None, 0))
    arrived = 0
    while events:
        now, _, kind, case, step = heappop(events)
        if kind == ARRIVAL:
            arrived += 1
            if arrived < cases:
                serial += 1
                heappush(events, (now + exponential(ARRIVALS_PER_DAY), serial, ARRIVAL, None, 0))
            ready(now, [now, 0, *waits], 0)
            continue
        if kind == RESUBMIT:
            ready(now, case, step)
            continue
        agency = agency_of[step]
        waiting = queues[agency]
        if waiting:  # the freed member goes straight to the head of the queue
            other, other_step = waiting.popleft()
            serial += 1
            effort = lognormal(mu[other_step], sigma[other_step])
            heappush(events, (now + effort, serial, DONE, other, other_step))
        else:
            free[agency] += 1
        if step == reviewed and case[1] < MAX_RESUBMISSIONS and uniform() < SEND_BACK_SHARE:
            case[1] += 1
            serial += 1
            heappush(
                events, (now + exponential(1.0 / RESUBMISSION_MEAN), serial, RESUBMIT, case, step)
            )
            continue
        if step == last:
            done.append((case[0], now))
            continue
        for following in successors[step]:
            case[2 + following] -= 1
            if case[2 + following] == 0:
                ready(now, case, following)
    return done


def main() -> None:
    """Time one run and print cases/s, mean and P90 cycle time (as `plain_simpy.main`)."""
    plain_simpy.main(run, 100_000)


if __name__ == "__main__":
    main()
