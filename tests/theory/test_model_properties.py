"""Properties of the whole model on random valid procedures and scenarios (hypothesis).

- Any valid procedure and scenario, with reforms, runs without an uncaught exception,
  and every arrival is accounted for exactly once in every variant (conservation).
- Deterministic = stochastic when every distribution is fixed: with no queue and no
  send-back, each case takes exactly the critical path of `sim.deterministic`; and a
  fixed time written as a degenerate distribution (``empirical [x]``, ``triangular x x
  x``, ``pert x x x``, ``{type: fixed}``) gives byte-identical results, queues and
  send-backs included.
- Adding staff never raises the mean wait in a single-agency procedure.
- Results do not depend on the executor or the number of workers.

(tests/theory/test_engine_properties.py checks conservation on random step graphs without
reforms; these add reforms, attributes, conditions and all distribution families.)
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import load_scenario
from sim.domain.model import Model
from sim.engines.compiled import simulate
from sim.engines.deterministic import schedule as critical_path
from sim.run.experiment import run_experiment
from tests.factories import agencies, scenario_text, write_case

PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

DISTRIBUTIONS = st.sampled_from(
    [
        "0.3",
        "{type: uniform, min: 0.1, max: 0.6}",
        "{type: triangular, min: 0.1, mode: 0.2, max: 0.8}",
        "{type: pert, min: 0.1, mode: 0.3, max: 0.9}",
        "{type: lognormal, median: 0.2, p90: 0.6}",
        "{type: exponential, mean: 0.3}",
        "{type: gamma, shape: 2, mean: 0.4}",
        "{type: empirical, values: [0.1, 0.2, 0.5]}",
        "{type: capped, base: {type: exponential, mean: 0.5}, cap: 1}",
    ]
)
WAITS = st.sampled_from(["0", "1", "{type: uniform, min: 0.5, max: 2}"])
CONDITIONS = st.sampled_from([None, "big", "not big", 'size == "large"', "score > 0.5"])
ATTRIBUTES = """attributes:
  - {id: big, kind: boolean, probability: 0.4, source: test}
  - {id: size, kind: categorical, shares: {small: 0.6, large: 0.4}, source: test}
  - {id: score, kind: numeric, distribution: {type: uniform, min: 0, max: 1}, source: test}
"""


@st.composite
def procedures(draw, agencies=("desk", "review")):
    """A random valid procedure: a DAG of 1-6 steps over the agencies, every family."""
    count = draw(st.integers(1, 6))
    lines = [
        "id: proc",
        "name: {zh: 随机, en: Random}",
        f"target: {{working_days: {draw(st.integers(1, 30))}, source: test}}",
        ATTRIBUTES.rstrip("\n"),
        "steps:",
    ]
    for index in range(count):
        after = draw(st.lists(st.integers(0, index - 1), unique=True, max_size=2)) if index else []
        main, minor = draw(st.sampled_from([0.0, 0.2, 0.5])), draw(st.sampled_from([0.0, 0.3]))
        when = draw(CONDITIONS)
        lines += [
            f"  - id: s{index}",
            "    name: {zh: 步, en: Step}",
            f"    agency: {draw(st.sampled_from(agencies))}",
            f"    handling: {draw(DISTRIBUTIONS)}",
            f"    waiting: {draw(WAITS)}",
            f"    waiting_on_clock: {draw(st.booleans())}".lower(),
            f"    online: {draw(st.booleans())}".lower(),
            f"    after: [{', '.join(f's{a}' for a in after)}]",
            "    materials:",
            f"      - {{id: form, name: 表, kind: main, probability_defective: {main}}}",
            f"      - {{id: copy, name: 复印件, kind: minor, probability_defective: {minor}}}",
            "    send_back: {response: {type: exponential, mean: 1}, "
            f"max_resubmissions: {draw(st.integers(0, 2))}}}",
            f"    trips: {draw(st.integers(0, 2))}",
            "    source: test",
        ]
        if when:
            lines.append(f"    when: '{when}'")
    return "\n".join(lines) + "\n"


def staff() -> st.SearchStrategy[str]:
    return st.sampled_from(["1", "2", "3", "unlimited"])


@st.composite
def scenarios(draw):
    """A scenario around `procedures()`: staff, arrivals, horizon and safe reforms."""
    reforms = draw(
        st.lists(
            st.sampled_from(
                [
                    "{type: time_limit, procedure: proc, steps: all, scale: 0.5, source: t}",
                    "{type: time_limit, procedure: proc, steps: all, cap: 0.2, source: t}",
                    "{type: online, procedure: proc, steps: all, source: t}",
                    "{type: add_staff, agency: desk, add: 1, source: t}",
                    "{type: add_staff, agency: review, set: 4, source: t}",
                    "{type: fast_lane, procedure: proc, when: big, source: t}",
                    "{type: fee_waiver, procedure: proc, steps: all, source: t}",
                ]
            ),
            max_size=3,
            unique=True,
        )
    )
    variants = ""
    if reforms:
        variants = "variants:\n  - name: reformed\n    reforms:\n" + "".join(
            f"      - {reform}\n" for reform in reforms
        )
    start = draw(st.sampled_from(["2024-01-02", "2024-09-25", "2025-01-20"]))
    days = draw(st.integers(3, 15))
    drain = draw(st.sampled_from([0, 5, 40]))
    rate = draw(st.sampled_from([0.3, 1, 3]))
    staffed = agencies(desk=draw(staff()), review=draw(staff()))
    return scenario_text(
        staffed, rate, start, days, drain, variants, seed=5, name="random", title="random scenario"
    )


# --------------------------------------------------------------------------- conservation


@settings(PROPERTY, max_examples=30)
@given(procedure=procedures(), scenario=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_random_models_run_and_every_arrival_is_accounted_for(
    tmp_path_factory, procedure, scenario, seed
):
    path = write_case(tmp_path_factory.mktemp("model"), procedure, scenario)
    loaded = load_scenario(path)
    result = run_experiment(loaded, replications=1, seed=seed, executor="serial")
    cases, steps = result.cases, result.steps
    counts = cases.groupby("variant").size().reindex(loaded.variant_names, fill_value=0)
    assert set(cases.variant) <= set(loaded.variant_names)
    assert counts.nunique() == 1, counts  # the same arrivals in every variant
    for _, frame in cases.groupby("variant"):
        assert frame.case_id.is_unique
    assert set(cases.status) <= {"completed", "withdrawn", "open", "revoked"}
    finished = cases[cases.status != "open"]
    assert (finished.end_day >= finished.arrival_day - 1e-9).all()
    assert (finished.elapsed_working_days >= -1e-9).all()
    assert cases[cases.status == "open"].end_day.isna().all()
    horizon = loaded.horizon
    assert (cases.arrival_day < horizon.arrival_days).all()
    assert (finished.end_day <= horizon.end + 1e-9).all()
    if len(steps):
        assert (steps.queue_days >= -1e-9).all()
        assert (steps.handling_days >= -1e-9).all()
        assert (steps.waiting_days.fillna(0) >= -1e-9).all()
        # Every step row belongs to a case of its variant.
        known = set(zip(cases.variant, cases.case_id, strict=True))
        assert set(zip(steps.variant, steps.case_id, strict=True)) <= known


# --------------------------------------------------------------------------- deterministic


@st.composite
def fixed_procedures(draw, defects: bool):
    """A random DAG with fixed times; returns (text with numbers, text with degenerate
    distributions of the same numbers)."""
    count = draw(st.integers(1, 6))
    head = [
        "id: proc",
        "name: {zh: 固定, en: Fixed}",
        "target: {working_days: 5, source: test}",
        "steps:",
    ]
    plain, degenerate = list(head), list(head)
    for index in range(count):
        after = draw(st.lists(st.integers(0, index - 1), unique=True, max_size=2)) if index else []
        handling = draw(st.sampled_from([0.05, 0.25, 0.5, 1.0, 1.5]))
        waiting = draw(st.sampled_from([0.0, 0.5, 2.0]))
        form = draw(
            st.sampled_from(
                [
                    "{{type: empirical, values: [{x}]}}",
                    "{{type: triangular, min: {x}, mode: {x}, max: {x}}}",
                    "{{type: pert, min: {x}, mode: {x}, max: {x}}}",
                    "{{type: fixed, value: {x}}}",
                ]
            )
        )
        common = [
            f"  - id: s{index}",
            "    name: {zh: 步, en: Step}",
            f"    agency: {draw(st.sampled_from(['desk', 'review']))}",
            f"    after: [{', '.join(f's{a}' for a in after)}]",
            "    source: test",
        ]
        if defects:
            common += [
                "    materials: [{id: form, name: 表, kind: main, probability_defective: 0.3}]",
                "    send_back: {response: 1, max_resubmissions: 2}",
            ]
        plain += [*common, f"    handling: {handling}", f"    waiting: {waiting}"]
        degenerate += [
            *common,
            f"    handling: {form.format(x=handling)}",
            f"    waiting: {form.format(x=waiting)}",
        ]
    return "\n".join(plain) + "\n", "\n".join(degenerate) + "\n"


def fixed_scenario(rate: float, desk: str, review: str) -> str:
    return scenario_text(
        agencies(desk, review), rate, days=10, drain=40, seed=3, name="fixed", title="fixed times"
    )


@settings(PROPERTY, max_examples=25)
@given(pair=fixed_procedures(defects=False), seed=st.integers(0, 2**32 - 1))
def test_fixed_times_without_queues_give_the_deterministic_critical_path(
    tmp_path_factory, pair, seed
):
    # Unlimited staff and no defects: nothing random is left, so every case takes the
    # critical path (the Doing Business method without its day-rounding rules).
    procedure, _ = pair
    text = fixed_scenario(rate=2, desk="unlimited", review="unlimited")
    path = write_case(tmp_path_factory.mktemp("fixed"), procedure, text)
    scenario = load_scenario(path)
    expected = critical_path(
        scenario.demands[0].procedure,
        minimum_one_day=False,
        online_half_day=False,
        consecutive_starts=False,
    ).total_working_days
    records = simulate(Model.baseline(scenario), np.random.SeedSequence(seed))
    cases, _ = records.frames(scenario.calendar)
    assert len(cases) and (cases.status == "completed").all()
    np.testing.assert_allclose(cases.elapsed_working_days, expected, atol=1e-9)


@settings(PROPERTY, max_examples=20)
@given(
    pair=fixed_procedures(defects=True),
    desk=staff(),
    review=staff(),
    seed=st.integers(0, 2**32 - 1),
)
def test_degenerate_distributions_equal_fixed_numbers(tmp_path_factory, pair, desk, review, seed):
    # Every family draws by inversion, one uniform a value, so a degenerate distribution
    # uses the random streams exactly as a fixed number does: identical results even with
    # queues for staff and random send-backs.
    plain, degenerate = pair
    text = fixed_scenario(rate=3, desk=desk, review=review)
    tables = []
    for procedure in (plain, degenerate):
        path = write_case(tmp_path_factory.mktemp("degenerate"), procedure, text)
        scenario = load_scenario(path)
        records = simulate(Model.baseline(scenario), np.random.SeedSequence(seed))
        cases, steps = records.frames(scenario.calendar)
        tables.append((cases.to_csv(index=False), steps.to_csv(index=False)))
    assert tables[0] == tables[1]


# --------------------------------------------------------------------------- staff


@st.composite
def single_agency_procedures(draw):
    """One step at one agency with a random handling distribution and send-backs."""
    defect = draw(st.sampled_from([0.0, 0.3]))
    return f"""
id: proc
name: {{zh: 单机构, en: One agency}}
target: {{working_days: 5, source: test}}
steps:
  - id: a
    name: {{zh: 甲, en: A}}
    agency: desk
    handling: {draw(DISTRIBUTIONS)}
    waiting: {draw(WAITS)}
    materials: [{{id: form, name: 表, kind: main, probability_defective: {defect}}}]
    send_back: {{response: {{type: exponential, mean: 1}}, max_resubmissions: 2}}
    source: test
"""


@settings(PROPERTY, max_examples=25)
@given(
    procedure=single_agency_procedures(),
    staff=st.integers(1, 3),
    more=st.integers(1, 3),
    rate=st.sampled_from([2.0, 5.0, 9.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_more_staff_never_raise_the_mean_wait(tmp_path_factory, procedure, staff, more, rate, seed):
    # One agency, first come first served, the same arrivals and handling times (common
    # random numbers): with more staff every case waits no longer, so the mean wait for
    # staff and the mean elapsed time cannot rise.
    waits, elapsed = [], []
    for count in (staff, staff + more):
        text = scenario_text(
            agencies(desk=count, review=None), rate, days=10, drain=60, seed=3, name="staffing",
            title="staffing",
        )
        path = write_case(tmp_path_factory.mktemp("staff"), procedure, text)
        scenario = load_scenario(path)
        records = simulate(Model.baseline(scenario), np.random.SeedSequence(seed))
        cases, steps = records.frames(scenario.calendar)
        assert (cases.status != "open").all()
        waits.append(steps.queue_days.mean() if len(steps) else 0.0)
        elapsed.append(cases.elapsed_working_days.mean() if len(cases) else 0.0)
    assert waits[1] <= waits[0] + 1e-9, waits
    if not math.isnan(elapsed[0]):
        assert elapsed[1] <= elapsed[0] + 1e-9, elapsed


# --------------------------------------------------------------------------- executors


@pytest.fixture(scope="module")
def pools():
    one, two = ProcessPoolExecutor(max_workers=1), ProcessPoolExecutor(max_workers=2)
    yield one, two
    one.shutdown(cancel_futures=True)
    two.shutdown(cancel_futures=True)


@settings(PROPERTY, max_examples=6)
@given(procedure=procedures(), scenario=scenarios(), replications=st.integers(1, 3))
def test_results_do_not_depend_on_executor_or_workers(
    tmp_path_factory, pools, procedure, scenario, replications
):
    path = write_case(tmp_path_factory.mktemp("executors"), procedure, scenario)
    loaded = load_scenario(path)
    outputs = []
    for executor in ("serial", *pools):
        result = run_experiment(loaded, replications=replications, seed=11, executor=executor)
        outputs.append(result.cases.to_csv(index=False) + result.steps.to_csv(index=False))
    assert outputs[0] == outputs[1] == outputs[2]
