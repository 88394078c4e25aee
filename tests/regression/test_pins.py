"""Labelled regression pins: figures of fixed runs of the bundled files, written down.

Unlike the traces and the statistical tests, these do not say the numbers are right:
they say they have not changed. A failure after a change that should not move any
number (a refactoring, an optimisation) is a bug. After a change that should (a new
rule in the engine, new data in a bundled file, new library versions that change a
random stream), check the new figures, then update the pin and say why in the commit.

Pins set on 2026-11-22 (the engine booking free staff without an event; data as of
that day).
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
    ("baseline", "property_mortgage"): (3614, 3611, 4.803290128822201),
    ("baseline", "gas_no_external"): (678, 676, 6.793724151028256),
    ("baseline", "water_connection"): (968, 960, 16.571946522079163),
    ("baseline", "property_general"): (6064, 6049, 8.683279006378525),
    ("baseline", "power_low_voltage"): (2462, 2445, 17.450343767081684),
    ("baseline", "company_setup"): (4768, 4753, 10.125510558035048),
    ("baseline", "gas_small_external"): (391, 383, 28.191957682941798),
    ("baseline", "construction_small"): (239, 239, 49.42514405717224),
    ("baseline", "construction_social"): (267, 265, 150.84623385521002),
    ("baseline", "construction_government"): (90, 88, 221.01422962817932),
    ("baseline", "step rows"): (120607,),
    ("full_package", "property_mortgage"): (3614, 3611, 4.802753107326165),
    ("full_package", "company_setup"): (4768, 4753, 6.236892680372052),
    ("full_package", "property_general"): (6064, 6049, 7.435731165378523),
    ("full_package", "gas_no_external"): (678, 676, 6.78654852320543),
    ("full_package", "water_connection"): (968, 960, 13.645088407673308),
    ("full_package", "power_low_voltage"): (2462, 2445, 13.017617688028404),
    ("full_package", "gas_small_external"): (391, 386, 18.569070679672688),
    ("full_package", "construction_small"): (239, 239, 43.09588938441974),
    ("full_package", "construction_social"): (267, 265, 87.08023325734517),
    ("full_package", "construction_government"): (90, 90, 154.08332052330113),
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
    ("cn", "baseline", "company_setup"): (7.900000000000001, 7.900000000000001, 11.900000000000002, 6),
    ("cn", "baseline", "construction_social"): (128.40000000000003, 128.40000000000003, 190.40000000000003, 20),
    ("cn", "baseline", "construction_government"): (180.09999999999994, 180.09999999999994, 264.0999999999999, 24),
    ("cn", "baseline", "construction_small"): (38.95, 38.95, 60.95, 8),
    ("cn", "baseline", "power_low_voltage"): (23.1, 23.1, 39.1, 9),
    ("cn", "baseline", "water_connection"): (21.5, 21.5, 36.5, 8),
    ("cn", "baseline", "gas_no_external"): (5.2, 5.2, 7.2, 4),
    ("cn", "baseline", "gas_small_external"): (23.9, 23.9, 39.9, 9),
    ("cn", "baseline", "property_general"): (7.430000000000001, 7.430000000000001, 11.43, 5),
    ("cn", "baseline", "property_mortgage"): (4.03, 4.03, 6.03, 4),
    ("cn", "full_package", "company_setup"): (4.550000000000001, 4.550000000000001, 6.550000000000001, 3),
    ("cn", "full_package", "construction_social"): (76.60000000000001, 76.60000000000001, 113.60000000000001, 11),
    ("cn", "full_package", "construction_government"): (128.3, 128.3, 190.3, 15),
    ("cn", "full_package", "construction_small"): (33.550000000000004, 33.550000000000004, 53.550000000000004, 7),
    ("cn", "full_package", "power_low_voltage"): (14.6, 14.6, 20.6, 6),
    ("cn", "full_package", "water_connection"): (15.2, 15.2, 21.2, 6),
    ("cn", "full_package", "gas_no_external"): (5.2, 5.2, 7.2, 4),
    ("cn", "full_package", "gas_small_external"): (15.4, 15.4, 21.4, 6),
    ("cn", "full_package", "property_general"): (6.28, 6.28, 8.280000000000001, 3),
    ("cn", "full_package", "property_mortgage"): (4.03, 4.03, 6.03, 4),
    ("db", "baseline", "company_setup"): (12.4, 8.4, 12.4, 6),
    ("db", "baseline", "construction_social"): (193.29999999999995, 129.29999999999995, 193.29999999999995, 20),
    ("db", "baseline", "construction_government"): (264.09999999999997, 180.09999999999997, 264.09999999999997, 24),
    ("db", "baseline", "construction_small"): (60.95, 38.95, 60.95, 8),
    ("db", "baseline", "power_low_voltage"): (39.3, 23.299999999999997, 39.3, 9),
    ("db", "baseline", "water_connection"): (36.7, 21.700000000000003, 36.7, 8),
    ("db", "baseline", "gas_no_external"): (7.4, 5.4, 7.4, 4),
    ("db", "baseline", "gas_small_external"): (40.1, 24.1, 40.1, 9),
    ("db", "baseline", "property_general"): (12.33, 8.33, 12.33, 5),
    ("db", "baseline", "property_mortgage"): (7.05, 5.05, 7.05, 4),
    ("db", "full_package", "company_setup"): (6.550000000000001, 4.550000000000001, 6.550000000000001, 3),
    ("db", "full_package", "construction_social"): (115.50000000000001, 77.50000000000001, 115.50000000000001, 11),
    ("db", "full_package", "construction_government"): (190.29999999999998, 128.29999999999998, 190.29999999999998, 15),
    ("db", "full_package", "construction_small"): (53.550000000000004, 33.550000000000004, 53.550000000000004, 7),
    ("db", "full_package", "power_low_voltage"): (20.599999999999998, 14.599999999999998, 20.599999999999998, 6),
    ("db", "full_package", "water_connection"): (21.2, 15.2, 21.2, 6),
    ("db", "full_package", "gas_no_external"): (7.2, 5.2, 7.2, 4),
    ("db", "full_package", "gas_small_external"): (21.4, 15.399999999999999, 21.4, 6),
    ("db", "full_package", "property_general"): (8.280000000000001, 6.280000000000001, 8.280000000000001, 3),
    ("db", "full_package", "property_mortgage"): (6.65, 4.65, 6.65, 4),
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
