"""Round trip: simulate a known procedure, write its event log, fit it back.

For serial, parallel and send-back structures, with and without start events: the
discovered structure is the true one; every fitted parameter's 95% bootstrap interval
contains the true value (all parameters where the family found is the true one, else the
mean); the send-back share's interval contains the true share; and the refitted model's
cycle times are within W1 = 10% of the true mean cycle time of the original's. With end
times only the first step's duration is not in the records (nothing marks when a case
arrived), so cycle times run from the first recorded end on both sides.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim.analysis.calibration import timeline
from sim.analysis.calibration.calibrate import Settings, calibrate_records
from sim.analysis.calibration.evaluation import simulate, simulated_frame
from sim.analysis.calibration.fitting import parameters
from sim.analysis.calibration.period import open_cases
from sim.inputs.records import read_records
from sim.output.eventlog import write_eventlog

W1_TOLERANCE = 0.10  # of the true mean cycle time

STEPS = {
    "intake": "{id: intake, name: {zh: 受理, en: intake}, agency: desk, handling: {type: lognormal, median: 1, p90: 3}, source: t}",
    "review": "{id: review, name: {zh: 审查, en: review}, agency: review, after: [intake], handling: {type: gamma, shape: 2, mean: 2}, source: t}",
    "survey": "{id: survey, name: {zh: 勘验, en: survey}, agency: survey, after: [intake], handling: {type: gamma, shape: 3, mean: 3}, source: t}",
    "decision": "{id: decision, name: {zh: 决定, en: decision}, agency: desk, after: [AFTER], handling: {type: exponential, mean: 1.5}, source: t}",
    "review_sent_back": (
        "{id: review, name: {zh: 审查, en: review}, agency: review, after: [intake], "
        "handling: {type: gamma, shape: 2, mean: 2}, "
        "materials: [{id: m, name: 材料, kind: main, probability_defective: 0.3}], "
        "send_back: {response: {type: lognormal, median: 2, p90: 5}, max_resubmissions: 20}, source: t}"
    ),
}
STRUCTURES = {
    "serial": (["intake", "review", "decision"], "review"),
    "parallel": (["intake", "review", "survey", "decision"], "review, survey"),
    "send_back": (["intake", "review_sent_back", "decision"], "review"),
}
SCENARIO = """
name: truth
title: truth
seed: 11
calendar: {start: 2024-01-02}
horizon: {working_days: 300, drain_working_days: 80}
agencies:
  - {id: desk, name: {zh: 窗口, en: desk}, staff: unlimited, source: t}
  - {id: review, name: {zh: 审查, en: review}, staff: unlimited, source: t}
  - {id: survey, name: {zh: 勘验, en: survey}, staff: unlimited, source: t}
procedures:
  - {procedure: proc, arrivals_per_day: 2, source: t}
"""


def truth_files(folder, structure):
    steps, waits = STRUCTURES[structure]
    lines = "\n".join(f"  - {STEPS[s].replace('AFTER', waits)}" for s in steps)
    (folder / "proc.yaml").write_text(
        "id: proc\nname: {zh: 测试, en: test}\ntarget: {working_days: 10, source: t}\nsteps:\n"
        + lines
        + "\n",
        encoding="utf-8",
    )
    (folder / "truth.yaml").write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    return folder / "truth.yaml"


def covered(fit, truth) -> list[str]:
    """Names of the parameters whose interval misses the true value."""
    found, true = parameters(fit.distribution), parameters(truth)
    names = [n for n in found if n in true] if type(fit.distribution) is type(truth) else ["mean"]
    return [n for n in names if not fit.intervals[n][0] <= true[n] <= fit.intervals[n][1]]


def observable_cycles(frame, ends):
    cases = timeline.case_table(frame)
    return cases.loc[~open_cases(cases, ends), "cycle"].to_numpy(float)


@pytest.mark.parametrize("starts", [True, False], ids=["start_and_end", "end_only"])
@pytest.mark.parametrize("structure", list(STRUCTURES))
def test_round_trip(tmp_path, structure, starts):
    truth_path = truth_files(tmp_path, structure)
    truth = sim.load_scenario(truth_path)
    result = sim.run(truth, replications=1)
    log = write_eventlog(result, tmp_path / "log.csv", "csv", "en")
    if not starts:
        events = pd.read_csv(log)
        events[events["lifecycle:transition"] != "start"].to_csv(log, index=False)
    calibration = calibrate_records(
        read_records(log), Settings(resamples=100, replications=4), tmp_path
    )

    # The structure found is the true one.
    procedure = calibration.procedure
    true_procedure = truth.procedure_index["proc"]
    assert {s.id: set(s.after) for s in procedure.steps} == {
        s.id: set(s.after) for s in true_procedure.steps
    }

    # Every interval contains the true value.
    misses = {}
    for step in true_procedure.steps:
        fit = calibration.steps[step.id]
        if starts or step.after:  # end times only: the first step's duration is not recorded
            misses[(step.id, "handling")] = covered(fit.handling, step.handling)
        if step.send_back is not None:
            low, high = fit.send_back_interval
            assert low <= 0.3 <= high, (fit.send_back, low, high)
            misses[(step.id, "response")] = covered(fit.response, step.send_back.response)
        else:
            assert fit.send_back == 0
        if starts:
            assert fit.waiting.distribution.mean < 0.01  # no waiting in the truth
    assert not any(misses.values()), misses

    # The refitted model's cycle times are within the stated W1 of the original's.
    ends = calibration.end_steps
    original = observable_cycles(calibration.frame, ends)
    refitted = observable_cycles(simulated_frame(calibration, simulate(calibration)), ends)
    distance = stats.wasserstein_distance(original, refitted)
    assert distance <= W1_TOLERANCE * original.mean(), (distance, original.mean(), refitted.mean())
    assert len(refitted) > 0.5 * len(original)
    assert np.isfinite(refitted).all()
