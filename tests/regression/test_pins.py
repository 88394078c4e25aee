"""Labelled regression pins: figures of fixed runs of the bundled files, written down.

Unlike the traces and the statistical tests, these do not say the numbers are right:
they say they have not changed. A failure after a change that should not move any
number (a refactoring, an optimisation) is a bug. After a change that should (a new
rule in the engine, new data in a bundled file, new library versions that change a
random stream), check the new figures, then update the pin and say why in the commit.

Pins set on 2026-11-22 (the engine booking free staff without an event); the demo's
pins set again on 2026-12-07 for the bundled data checked against the documents (issue
17, data): the company-setup baseline calibrated to the published 20 working days, the
social-investment construction baseline to "200多个工作日", the property registrations'
baselines of about 10 and 5 working days, and the package's reforms as the documents
describe them. The NumPy engine's pin uses the benchmark's model, not bundled data.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from sim import load_scenario
from sim.domain.model import Model
from sim.engines import compiled as engine
from sim.engines import vectorised as engine_numpy
from sim.engines.deterministic import representative
from sim.engines.deterministic import schedule as critical_path
from sim.reforms import resolve_variant
from tests.factories import PROJECT_ROOT

RELATIVE = 1e-9  # room for floating-point differences between machines, nothing else

# The demo scenario, replication 0 of its own seed, discrete-event engine:
# (variant, procedure): (cases, completed, mean elapsed working days of completed cases);
# (variant, "step rows"): (step rows,).
DES_DEMO = {
    ("baseline", "property_mortgage"): (3614, 3611, 5.301868470636681),
    ("baseline", "gas_no_external"): (678, 676, 6.795246459173566),
    ("baseline", "water_connection"): (968, 960, 16.560923998079875),
    ("baseline", "power_low_voltage"): (2462, 2445, 17.442624680871432),
    ("baseline", "property_general"): (6064, 6049, 9.68421791916483),
    ("baseline", "company_setup"): (4768, 4753, 20.629344516095294),
    ("baseline", "gas_small_external"): (391, 383, 28.196924364520047),
    ("baseline", "construction_small"): (239, 239, 49.27898645358362),
    ("baseline", "construction_social"): (267, 265, 205.78057669563074),
    ("baseline", "construction_government"): (90, 88, 221.05097905855737),
    ("baseline", "step rows"): (125369,),
    ("full_package", "property_mortgage"): (3614, 3611, 5.301407610298445),
    ("full_package", "gas_no_external"): (678, 676, 6.786045881078996),
    ("full_package", "water_connection"): (968, 960, 13.646162497942319),
    ("full_package", "property_general"): (6064, 6049, 8.435085013957648),
    ("full_package", "power_low_voltage"): (2462, 2445, 13.020667868907926),
    ("full_package", "company_setup"): (4768, 4753, 11.646673170222556),
    ("full_package", "gas_small_external"): (391, 386, 18.55871637644708),
    ("full_package", "construction_small"): (239, 239, 43.188565939326274),
    ("full_package", "construction_social"): (267, 265, 102.6984460879171),
    ("full_package", "construction_government"): (90, 90, 154.31370176275686),
    ("full_package", "step rows"): (104487,),
}
# The benchmark's standard model with unlimited staff, about 2,000 cases, seed 7, NumPy
# engine: (cases, completed, mean and 90th percentile of elapsed working days, step rows,
# staff-days of the technical agency).
NUMPY_STANDARD_MODEL = (2025, 2025, 2.8721130654083433, 5.4475122176484, 24865, 1106.3500515571977)

# The demo's procedures by the two fixed-time methods (default options), as a case
# meeting no condition gets them: (method, variant, procedure): (total in the method's
# unit, working days, calendar days from the calendar start, steps on the critical path).
DETERMINISTIC_DEMO = {
    ("cn", "baseline", "company_setup"): (18.049999999999997, 18.049999999999997, 25.049999999999997, 7),
    ("cn", "baseline", "construction_social"): (189.39999999999998, 189.39999999999998, 282.4, 20),
    ("cn", "baseline", "construction_government"): (180.09999999999994, 180.09999999999994, 264.0999999999999, 24),
    ("cn", "baseline", "construction_small"): (38.95, 38.95, 60.95, 8),
    ("cn", "baseline", "power_low_voltage"): (23.1, 23.1, 39.1, 9),
    ("cn", "baseline", "water_connection"): (21.5, 21.5, 36.5, 8),
    ("cn", "baseline", "gas_no_external"): (5.2, 5.2, 7.2, 4),
    ("cn", "baseline", "gas_small_external"): (23.9, 23.9, 39.9, 9),
    ("cn", "baseline", "property_general"): (8.43, 8.43, 12.43, 5),
    ("cn", "baseline", "property_mortgage"): (4.53, 4.53, 6.53, 4),
    ("cn", "full_package", "company_setup"): (10.299999999999999, 10.299999999999999, 14.299999999999999, 3),
    ("cn", "full_package", "construction_social"): (91.60000000000001, 91.60000000000001, 138.60000000000002, 11),
    ("cn", "full_package", "construction_government"): (128.3, 128.3, 190.3, 15),
    ("cn", "full_package", "construction_small"): (33.550000000000004, 33.550000000000004, 53.550000000000004, 7),
    ("cn", "full_package", "power_low_voltage"): (14.6, 14.6, 20.6, 6),
    ("cn", "full_package", "water_connection"): (15.2, 15.2, 21.2, 6),
    ("cn", "full_package", "gas_no_external"): (5.2, 5.2, 7.2, 4),
    ("cn", "full_package", "gas_small_external"): (15.4, 15.4, 21.4, 6),
    ("cn", "full_package", "property_general"): (7.28, 7.28, 11.280000000000001, 3),
    ("cn", "full_package", "property_mortgage"): (4.53, 4.53, 6.53, 4),
    ("db", "baseline", "company_setup"): (25.049999999999997, 18.049999999999997, 25.049999999999997, 7),
    ("db", "baseline", "construction_social"): (284.29999999999995, 190.29999999999995, 284.29999999999995, 20),
    ("db", "baseline", "construction_government"): (264.09999999999997, 180.09999999999997, 264.09999999999997, 24),
    ("db", "baseline", "construction_small"): (60.95, 38.95, 60.95, 8),
    ("db", "baseline", "power_low_voltage"): (39.3, 23.299999999999997, 39.3, 9),
    ("db", "baseline", "water_connection"): (36.7, 21.700000000000003, 36.7, 8),
    ("db", "baseline", "gas_no_external"): (7.4, 5.4, 7.4, 4),
    ("db", "baseline", "gas_small_external"): (40.1, 24.1, 40.1, 9),
    ("db", "baseline", "property_general"): (13.33, 9.33, 13.33, 5),
    ("db", "baseline", "property_mortgage"): (7.549999999999999, 5.549999999999999, 7.549999999999999, 4),
    ("db", "full_package", "company_setup"): (14.299999999999999, 10.299999999999999, 14.299999999999999, 3),
    ("db", "full_package", "construction_social"): (139.5, 92.5, 139.5, 11),
    ("db", "full_package", "construction_government"): (190.29999999999998, 128.29999999999998, 190.29999999999998, 15),
    ("db", "full_package", "construction_small"): (53.550000000000004, 33.550000000000004, 53.550000000000004, 7),
    ("db", "full_package", "power_low_voltage"): (20.599999999999998, 14.599999999999998, 20.599999999999998, 6),
    ("db", "full_package", "water_connection"): (21.2, 15.2, 21.2, 6),
    ("db", "full_package", "gas_no_external"): (7.2, 5.2, 7.2, 4),
    ("db", "full_package", "gas_small_external"): (21.4, 15.399999999999999, 21.4, 6),
    ("db", "full_package", "property_general"): (11.280000000000001, 7.280000000000001, 11.280000000000001, 3),
    ("db", "full_package", "property_mortgage"): (7.15, 5.15, 7.15, 4),
}


@pytest.fixture(scope="module")
def demo():
    return load_scenario(PROJECT_ROOT / "scenarios" / "demo.yaml")


@pytest.mark.parametrize("variant", ["baseline", "full_package"])
def test_pin_demo_discrete_event_run(demo, variant):
    seed = np.random.SeedSequence(demo.seed).spawn(1)[0]
    cases, steps = engine.simulate(resolve_variant(demo, variant), seed, 0).frames(demo.calendar)
    found = {}
    for procedure, rows in cases.groupby("procedure", sort=False):
        done = rows[rows["status"] == "completed"]
        found[(variant, procedure)] = (len(rows), len(done), done["elapsed_working_days"].mean())
    found[(variant, "step rows")] = (len(steps),)
    pinned = {key: value for key, value in DES_DEMO.items() if key[0] == variant}
    assert found.keys() == pinned.keys()
    for key, value in pinned.items():
        assert found[key] == pytest.approx(value, rel=RELATIVE), key


def test_pin_numpy_engine_on_the_standard_model():
    sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
    try:
        from run_benchmarks import load_standard
    finally:
        sys.path.remove(str(PROJECT_ROOT / "benchmarks"))
    scenario = load_standard(2000, unlimited=True)
    records = engine_numpy.simulate(Model.baseline(scenario), np.random.SeedSequence(7))
    cases, steps = records.frames(scenario.calendar)
    done = cases.loc[cases["status"] == "completed", "elapsed_working_days"].to_numpy(float)
    found = (
        len(cases),
        len(done),
        done.mean(),
        np.quantile(done, 0.9),
        len(steps),
        records.agency_busy["technical"],
    )
    assert found == pytest.approx(NUMPY_STANDARD_MODEL, rel=RELATIVE)


@pytest.mark.parametrize("method", ["cn", "db"])
@pytest.mark.parametrize("variant", ["baseline", "full_package"])
def test_pin_demo_fixed_time_critical_paths(demo, variant, method):
    for demand in resolve_variant(demo, variant).demands:
        procedure = representative(demand)
        result = critical_path(procedure, demo.calendar, demo.start, method=method)
        found = (
            result.total_days,
            result.total_working_days,
            result.calendar_days,
            len(result.path),
        )
        key = (method, variant, procedure.id)
        assert found == pytest.approx(DETERMINISTIC_DEMO[key], rel=RELATIVE), key
