"""The NumPy engine's own rules: unlimited staff only, agencies in use."""

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
