"""The draws a replication's variants share belong to that replication only."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engines.draws import SharedDraws, shared_draws


def test_shared_draws_belong_to_one_replication():
    first, second = np.random.SeedSequence(1).spawn(2)
    shared = SharedDraws(first)
    assert shared_draws(shared, np.random.SeedSequence(1).spawn(1)[0]) is shared  # equal seeds
    with pytest.raises(ValueError, match="another replication"):
        shared_draws(shared, second)
    assert shared_draws(None, second).seed_sequence is second
