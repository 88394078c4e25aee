"""Conservation and determinism on random procedures and scenarios."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engines.draws import arrival_times
from sim.engines.streams import Streams
from tests.factories import agencies, run, scenario_text, write_case


@st.composite
def procedures(draw):
    """A random valid DAG procedure over two agencies, with defects and waits."""
    count = draw(st.integers(1, 6))
    lines = [
        "id: proc",
        "name: {zh: 随机, en: Random}",
        f"target: {{working_days: {draw(st.integers(1, 30))}, source: test}}",
        "steps:",
    ]
    for index in range(count):
        after = draw(st.lists(st.integers(0, index - 1), unique=True, max_size=2)) if index else []
        mean = draw(st.floats(0.05, 1.0))
        defect = draw(st.sampled_from([0.0, 0.2, 0.6]))
        lines += [
            f"  - id: s{index}",
            "    name: {zh: 步, en: Step}",
            f"    agency: {draw(st.sampled_from(['desk', 'review']))}",
            f"    handling: {{type: exponential, mean: {mean:.3f}}}",
            f"    waiting: {draw(st.sampled_from([0, 0.5, 2]))}",
            f"    after: [{', '.join(f's{a}' for a in after)}]",
            f"    materials: [{{id: m, name: 表, kind: main, probability_defective: {defect}}}]",
            "    send_back: {response: {type: exponential, mean: 1.5}, max_resubmissions: 1}",
            "    source: test",
        ]
    return "\n".join(lines) + "\n"


STAFFED = agencies(desk=2, review=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(procedure=procedures(), rate=st.floats(0.2, 3.0), drain=st.sampled_from([0, 3, 40]))
def test_every_arrival_ends_completed_withdrawn_or_open(tmp_path_factory, procedure, rate, drain):
    folder = tmp_path_factory.mktemp("conservation")
    path = write_case(folder, procedure, scenario_text(agencies=STAFFED, rate=rate, days=15, drain=drain))
    scenario, cases, steps = run(path, seed=3)
    arrived = arrival_times(Streams(np.random.SeedSequence(3)), "proc", rate, 15)
    assert len(cases) == len(arrived)
    assert set(cases.status) <= {"completed", "withdrawn", "open"}
    assert cases.case_id.is_unique
    done = cases[cases.status != "open"]
    assert (done.end_day >= done.arrival_day).all()
    assert (cases[cases.status == "open"].end_day.isna()).all()
    # A completed case has one accepted row per step it ran.
    accepted = steps[steps.outcome.isin(["accepted", "tolerated"])].groupby("case_id").size()
    completed = cases[cases.status == "completed"].set_index("case_id")
    assert (accepted.reindex(completed.index, fill_value=0) == completed.steps).all()


def test_same_seed_same_bytes(tmp_path):
    procedure = """
    id: proc
    name: {zh: 测试, en: Test}
    target: {working_days: 3, source: "test"}
    attributes:
      - {id: size, kind: categorical, shares: {small: 0.7, large: 0.3}, source: "test"}
    steps:
      - id: a
        name: {zh: 甲, en: A}
        agency: desk
        handling: {type: lognormal, median: 0.4, p90: 1.2}
        materials: [{id: f, name: 表, kind: main, probability_defective: 0.3}]
        send_back: {response: {type: triangular, min: 1, mode: 2, max: 5}, max_resubmissions: 2}
        source: "test"
      - {id: b, name: {zh: 乙, en: B}, agency: review, handling: {type: gamma, shape: 2, mean: 0.5}, after: [a], source: "test"}
    """
    path = write_case(tmp_path, procedure, scenario_text(agencies=STAFFED, rate=2, days=40))
    first = run(path, seed=11)[1].to_csv(index=False).encode()
    second = run(path, seed=11)[1].to_csv(index=False).encode()
    other = run(path, seed=12)[1].to_csv(index=False).encode()
    assert first == second
    assert first != other
