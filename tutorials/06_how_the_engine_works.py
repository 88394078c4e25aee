# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. How the engine works: the model in SimPy, and the fast engine beside it
#
# An approval procedure is a queueing system. Applications (cases) arrive at random; each
# goes through steps (环节) in an order with branches and joins; a step needs a staff
# member of an agency (部门), who may be busy with other files; a file with missing
# materials is sent back for correction (补正) and comes again; some steps end with an
# elapsed wait nobody works on (public notice 公示, expert review 专家评审); reforms add
# commitments checked later (容缺受理, 告知承诺制) and fast lanes. A **discrete-event
# simulation** follows such a system from event to event: the clock jumps to the next
# moment something happens (a case arrives, a member is free, a correction comes back).
#
# `approvalsim` has this model twice:
#
# * `des`, the engine every run uses: written for speed and compiled to C with mypyc;
# * `simpy`, the **reference model** (`sim/engines/reference.py`): the same model written
#   the way [SimPy](https://simpy.readthedocs.io) is meant to be used, to be read.
#
# Both read the same random numbers and write the same records, and a test requires their
# tables to be identical, case by case. This notebook reads the model in the reference
# code, runs a scenario through both engines, and explains what the fast engine does
# differently and why the numbers are still the same.

# %%
import dataclasses
import inspect
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim import load_scenario
from sim.engines import compiled, reference
from sim.inputs.loader import PROJECT_ROOT
from sim.reforms import resolve

pd.set_option("display.width", 170)
pd.set_option("display.max_columns", 20)

folder = Path(tempfile.mkdtemp(prefix="approvalsim_tutorial06_"))


def show(function) -> None:
    """Print a function's source code."""
    print(inspect.getsource(function))


# %% [markdown]
# ## SimPy in three sentences
#
# A SimPy **process** is a generator function: it `yield`s an event it waits for and
# resumes when the event happens. `env.timeout(d)` is the event "`d` from now" (here `d` is
# in working days), `resource.request()` the event "a unit of the resource is mine". The
# environment keeps the events in a queue ordered by time and, at the same time, by the
# order they were scheduled, and runs until a given time.
#
# ## The run: staff, arrivals, the horizon
#
# `ReferenceModel.run` makes the environment, one `simpy.PriorityResource` per agency with
# a staff limit (capacity = staff members; agencies with `staff: unlimited` have none),
# and one arrival process per procedure. It runs until the horizon's end; cases still
# running then are written as `open`. The random numbers come from `sim.engines.draws`:
# neither engine draws anything itself.

# %%
show(reference.ReferenceModel.run)

# %% [markdown]
# The arrival process waits until each drawn arrival time (a Poisson stream per
# procedure) and starts a case process there.

# %%
show(reference.ReferenceModel.arrivals)

# %% [markdown]
# ## A case
#
# A case runs the **version** of its procedure for the reforms' conditions it meets (a
# reform may apply only to, say, projects under 5,000 m²). It gets one process per step
# that applies to it (a step's `when:` condition), then the steps that wait on nothing
# start. The case process then waits for its `ended` event.

# %%
show(reference.ReferenceModel.case)

# %% [markdown]
# ## A step
#
# The heart of the model. A step waits until it is `ready` (its predecessors are done),
# then, round after round: it books a member of each of its agencies, holds them for the
# handling effort (`env.timeout(effort)`), releases them, and the materials are judged
# (`verdict`). A send-back lists every defect at once (一次性告知), and the resubmission is
# checked for those only, each still wrong with its own chance; a file sent back costs
# the applicant a response time and comes again, until the step's cap withdraws the
# case. An accepted file waits out the step's elapsed waiting holding no one. Then the
# step's row is written, its follow-ups fire, and the steps waiting for it may start. A
# case that stops (withdrawn, or open when the run ends) cuts short the work it still has
# under way (`stop`): its staff are freed, and what it started writes a row ending then.
#
# Queueing and handling count on the legal approval clock (`case.clock`) unless the step
# says otherwise; waiting counts only where marked `waiting_on_clock` (Administrative
# Licensing Law art. 45 leaves expert review, testing and hearings out).

# %%
show(reference.ReferenceModel.step)
show(reference.ReferenceModel.stop)

# %% [markdown]
# Booking staff: the request's priority is the fast lane (0 goes before 1); among equal
# priorities SimPy serves requests in the order they were made. A joint step (a joint
# inspection, 联合验收) holds a member of every agency at once; it books them one agency
# after the other in sorted order, so two joint steps can never hold one agency each and
# wait for each other forever.

# %%
show(reference.book)
show(reference.verdict)

# %% [markdown]
# ## Joins: a count per step
#
# When a step is done, each step after it counts one predecessor less; the one whose count
# reaches zero is ready. A step that does not apply to the case is done at once.

# %%
show(reference.ReferenceModel.ready)
show(reference.ReferenceModel.finish)

# %% [markdown]
# SimPy also has `env.all_of(events)` for joins, and a version of this model that waits
# with `all_of` on its predecessors' processes is shorter. It is not used because it gives
# other numbers, not because it is wrong: at one instant many things happen (a step frees
# its staff, a waiting case gets a freed member, the next steps start), and who gets the
# last free member then depends on their order. `all_of` starts the next step two events
# later than the fast engine does; the `ready` event starts it one event later, which is
# exactly after SimPy has handed the freed members to the cases that waited, as the fast
# engine does. The module's docstring lists the three such choices; a hand-checked test
# pins each of them.
#
# ## Follow-ups
#
# Under a tolerated-deficiency reform a file with a minor defect is accepted on a written
# commitment; under a notification-commitment reform the approval comes first and a check
# later. Such a check fails with a given share: it then costs a rework step (after a
# delay; it queues for staff like any step) or revokes the approval.

# %%
show(reference.ReferenceModel.follow_ups)
show(reference.ReferenceModel.rework)

# %% [markdown]
# ## Both engines on one scenario
#
# The Xinxiang high-tech zone's 2021 plan (company setup, construction permits, utility
# connections and property registration), with ten working days of arrivals instead of a
# year so that this runs in seconds. The models
# carry the horizon, so the scenario is resolved again after the change. Both engines run
# the baseline and the 2021 package, two replications each, keeping every step row.

# %%
scenario = load_scenario(PROJECT_ROOT / "scenarios" / "xinxiang_2021.yaml")
horizon = dataclasses.replace(scenario.horizon, arrival_days=10)
scenario = resolve(dataclasses.replace(scenario, horizon=horizon, models=()))

runs = {
    engine: sim.run(scenario, replications=2, variants=["package_2021"], engine=engine, steps="all")
    for engine in ("des", "simpy")
}
fast, slow = runs["des"], runs["simpy"]
print(f"{len(fast.cases)} case rows and {len(fast.steps)} step rows from each engine")
print("case tables identical:", fast.cases.equals(slow.cases))
print("step tables identical:", fast.steps.equals(slow.steps))
print("staff-days identical: ", fast.busy.equals(slow.busy))
print("summaries identical:  ", fast.summary.equals(slow.summary))

# %% [markdown]
# Not just close: the same rows in the same order, to the last bit of every time. Here
# is a case that was sent back, step by step.

# %%
sent_back = fast.steps[fast.steps.outcome == "sent_back"].iloc[0]
columns = ["variant", "step", "agency", "attempt", "outcome", "ready_day", "start_day",
           "handled_day", "end_day"]  # fmt: skip


def trace(result):
    steps = result.steps
    chosen = (
        (steps.replication == sent_back.replication)
        & (steps.variant == sent_back.variant)
        & (steps.case_id == sent_back.case_id)
    )
    return steps.loc[chosen, columns].reset_index(drop=True)


print(sent_back.case_id, "as the fast engine wrote it:")
print(trace(fast).to_string())
print("the reference model's rows are the same:", trace(fast).equals(trace(slow)))
trace(slow).to_csv(folder / "one_case_simpy.csv", index=False)

# %% [markdown]
# ## What the fast engine does differently
#
# The reference model is clear, and several times slower. The fast engine
# (`sim/engines/des.py` on the event kernel `sim/engines/kernel.py`) keeps the model and
# changes how it is carried out:
#
# * **One event object per step, with an action code.** In SimPy a step is a generator,
#   and each wait makes event objects: a request, a timeout, a release, the process's
#   own resumption, each with a list of callbacks. In the fast engine a step of a case is
#   one object, `_StepRun`, which is itself the event on the queue: its `action` says what
#   it does when it fires next (`GRANTED`: staff are free; `RELEASE`: handling is done;
#   `RESUBMIT`: the correction is back; `FINISH`: the waiting is over), and the same
#   object is put back on the queue with the next action.
# * **A deque per agency instead of request events.** An agency's staff are a count and
#   two FIFO queues (fast lane, normal): a free member with nobody waiting is taken at
#   once, with no event at all, and a freed member goes straight to the head of the queue.
#   SimPy's resource keeps a sorted list of request events and hands a member over in an
#   event of its own.
# * **The draws as typed views.** The per-case draws of a step are read from typed views
#   of their NumPy arrays (`sim.engines.draws.view`), and each procedure version's steps
#   become plans shared by its cases, so a case does no lookups that another already did.
# * **Rows and the event queue as typed columns.** Each field of the step and case rows
#   is a typed column (`librt.vecs.vec`, mypyc's typed arrays), moved into compact NumPy
#   arrays every few thousand rows; the queue of future events is a heap kept as columns
#   of times and serial numbers beside the events, four children a node. A finished
#   step's object is reused by the next step to start.
# * **Typed and compiled.** Every attribute is declared with its type (`__slots__`,
#   annotations), and mypyc compiles the engine and the kernel to C at install: attribute
#   access and method calls become C struct and function accesses.

# %%
source = compiled.python_core()  # the engine's Python source (what mypyc compiles)
show(source._Staff)
show(source._StepRun.fire)

# %% [markdown]
# How much faster? The engines alone (no tables, no statistics) on the package variant,
# best of three runs each. `benchmarks/README.md` has the careful measurements.

# %%
model = scenario.model("package_2021")


def best_of_three(simulate) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        simulate(model, np.random.SeedSequence(1))
        times.append(time.perf_counter() - started)
    return min(times)


fast_seconds = best_of_three(compiled.simulate)
reference_seconds = best_of_three(reference.simulate)
print(f"fast engine ({compiled.implementation()}): {1000 * fast_seconds:.0f} ms")
print(f"reference model (SimPy): {1000 * reference_seconds:.0f} ms")
print(f"the fast engine takes 1/{reference_seconds / fast_seconds:.1f} of the time")

# %% [markdown]
# ## Why the numbers are the same
#
# * **The same random numbers.** All randomness is drawn up front in `sim.engines.draws`,
#   from streams keyed by procedure, step, purpose and round, and both engines read the
#   same arrays at the same indices: case 17's handling in its second round is the same
#   number whichever engine asks, and whenever it asks.
# * **The same arithmetic.** A time is always the current time plus a duration, in the
#   same order, so every float is the same to the last bit.
# * **The same order.** The fast engine's kernel orders events as SimPy does: by time,
#   then by the order they were scheduled. And the reference model takes its three
#   same-instant choices so that, at one instant, staff are given out in the fast engine's
#   order.
#
# What is left are two **tie rules**. Here a readied step starts, and a freed member goes to
# the head of its queue, a little later in the instant than in the fast engine: after the
# other events already due at that instant. That changes something only when other events
# fall due at exactly that instant (`sim/engines/reference.py` says what), which needs two
# times to coincide exactly: it happens with fixed durations (the hand-checked tests build
# such ties on purpose) and has probability zero with the continuous distributions of
# real procedure files. So the test suite compares the two engines row by row on every
# bundled scenario and variant and on random models with fast lanes, joint steps, skipped
# steps, send-backs and follow-ups (`tests/conformance/test_reference_model.py`). The
# reference model is the specification that the fast engine's tricks are checked against.

# %%
print(f"written: {folder / 'one_case_simpy.csv'}")
