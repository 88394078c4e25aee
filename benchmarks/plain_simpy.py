"""The standard model as a plain, idiomatic SimPy script: the speed reference.

A process per case, a `simpy.Resource` per agency, a sub-process per parallel branch and
`AllOf` for the joins; durations from Python's `random` module. It records what the
comparison needs (arrival and end of each case) and nothing else. The parameters are
those of `standard_model.yaml` / `standard_scenario.yaml` (working days), written out
here by hand so that the script depends on nothing but SimPy.

Run alone: ``python benchmarks/plain_simpy.py 10000``.
"""

from __future__ import annotations

import math
import random
import sys
import time

import simpy

Z90 = 1.2815515655446004
ARRIVALS_PER_DAY = 50.0
RESUBMISSION_MEAN = 3.0
SEND_BACK_SHARE = 0.2
MAX_RESUBMISSIONS = 20
STAFF = {
    "window": 14,
    "planning": 26,
    "environment": 32,
    "fire": 24,
    "technical": 33,
    "survey": 25,
    "finance": 8,
    "legal": 20,
}
# step: (agency, median, p90) of the lognormal handling time
STEPS = {
    "intake": ("window", 0.05, 0.10),
    "review_planning": ("planning", 0.30, 0.80),
    "review_environment": ("environment", 0.40, 1.00),
    "review_fire": ("fire", 0.25, 0.60),
    "joint_opinion": ("window", 0.05, 0.10),
    "technical_review": ("technical", 0.20, 0.50),
    "site_survey": ("survey", 0.30, 0.70),
    "fee_assessment": ("finance", 0.10, 0.25),
    "consolidation": ("window", 0.05, 0.10),
    "permit_drafting": ("technical", 0.15, 0.40),
    "legal_check": ("legal", 0.20, 0.50),
    "issue": ("window", 0.05, 0.10),
}
PARAMETERS = {
    step: (agency, math.log(median), math.log(p90 / median) / Z90)
    for step, (agency, median, p90) in STEPS.items()
}


def run(cases: int, seed: int = 1) -> list[tuple[float, float]]:
    """Simulate until ``cases`` cases have arrived and all have finished.

    Returns:
        (arrival, end) of each case, in working days.
    """
    rng = random.Random(seed)
    env = simpy.Environment()
    staff = {agency: simpy.Resource(env, capacity) for agency, capacity in STAFF.items()}
    done: list[tuple[float, float]] = []

    def work(step):
        agency, mu, sigma = PARAMETERS[step]
        with staff[agency].request() as request:
            yield request
            yield env.timeout(rng.lognormvariate(mu, sigma))

    def reviewed(step):
        # A file sent back comes again after the applicant's correction.
        for _ in range(MAX_RESUBMISSIONS + 1):
            yield from work(step)
            if rng.random() >= SEND_BACK_SHARE:
                return
            yield env.timeout(rng.expovariate(1.0 / RESUBMISSION_MEAN))

    def parallel(*steps):
        return env.all_of([env.process(work(step)) for step in steps])

    def case():
        arrival = env.now
        yield from work("intake")
        yield parallel("review_planning", "review_environment", "review_fire")
        yield from work("joint_opinion")
        yield from reviewed("technical_review")
        yield parallel("site_survey", "fee_assessment")
        yield from work("consolidation")
        yield parallel("permit_drafting", "legal_check")
        yield from work("issue")
        done.append((arrival, env.now))

    def arrivals():
        for _ in range(cases):
            yield env.timeout(rng.expovariate(ARRIVALS_PER_DAY))
            env.process(case())

    env.process(arrivals())
    env.run()
    return done


def main(simulate=run, default_cases: int = 10_000) -> None:
    """Time one run of ``simulate`` and print cases/s, mean and P90 cycle time."""
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else default_cases
    started = time.perf_counter()
    done = simulate(cases)
    seconds = time.perf_counter() - started
    cycle = sorted(end - arrival for arrival, end in done)
    mean = sum(cycle) / len(cycle)
    p90 = cycle[int(0.9 * (len(cycle) - 1))]
    print(f"{len(done)} cases in {seconds:.2f} s: {len(done) / seconds:.0f} cases/s")
    print(f"cycle time: mean {mean:.3f}, P90 {p90:.3f} working days")


if __name__ == "__main__":
    main()
