"""The NumPy engine's own rules: unlimited staff only, agencies in use, case ids."""

import dataclasses

import numpy as np
import pytest

from sim.domain.errors import InputError
from sim.domain.model import Agency, Name
from sim.engines import vectorised as engine_numpy
from tests.factories import random_model


def test_staff_limits_are_refused_naming_the_agencies():
    model = random_model(3, unlimited=False)
    with pytest.raises(InputError) as caught:
        engine_numpy.simulate(model, np.random.SeedSequence(0))
    message = str(caught.value)
    assert "the numpy engine assumes unlimited staff" in message
    assert "--engine des" in message and "staff: unlimited" in message
    used = {a for s in model.demands[0].procedure.steps for a in s.agencies}
    for agency in used:
        assert agency in message


def test_only_agencies_in_use_count():
    model = random_model(4)
    idle = Agency("idle", Name("闲", "idle"), 3)
    model = dataclasses.replace(model, agencies=(*model.agencies, idle))
    records = engine_numpy.simulate(model, np.random.SeedSequence(4))
    assert records.agency_busy["idle"] == 0.0


def test_case_ids_kept_and_extended():
    """Case ids are named as the event engine names them, also after the cache grows."""
    first = engine_numpy._case_ids("grow_check", 10)
    longer = engine_numpy._case_ids("grow_check", 5_000)
    assert list(longer) == [f"grow_check-{index:06d}" for index in range(1, 5_001)]
    assert list(first) == list(longer[:10])
    assert len(engine_numpy._case_ids("grow_check", 7)) == 7
