"""The draws: shared by a replication's variants only; materials rechecked as sent back."""

from __future__ import annotations

import numpy as np
import pytest

from sim.domain.distributions import Fixed
from sim.domain.model import Material, Name, SendBack, Step
from sim.engines.draws import SharedDraws, StepDraws, shared_draws
from sim.engines.streams import Streams


def test_shared_draws_belong_to_one_replication():
    first, second = np.random.SeedSequence(1).spawn(2)
    shared = SharedDraws(first)
    assert shared_draws(shared, np.random.SeedSequence(1).spawn(1)[0]) is shared  # equal seeds
    with pytest.raises(ValueError, match="another replication"):
        shared_draws(shared, second)
    assert shared_draws(None, second).seed_sequence is second


def test_a_resubmission_rechecks_only_the_materials_sent_back():
    # 一次性告知: round 0 checks both materials; a resubmission only those found wrong,
    # each still wrong with its own chance (1.0 for the form, 0.0 for the photo).
    form = Material("form", "申请表", "main", 0.5, probability_still_defective=1.0)
    photo = Material("photo", "照片", "minor", 0.5, probability_still_defective=0.0)
    plan = Step(
        "a",
        Name("甲", "A"),
        "desk",
        Fixed(1.0),
        Fixed(0.0),
        materials=(form, photo),
        send_back=SendBack(Fixed(1.0), max_resubmissions=3),
    )
    draws = StepDraws(Streams(np.random.SeedSequence(5)), "p", plan, 2000)
    first = draws.defective[0]
    assert 0.45 < first["form"].mean() < 0.55 and 0.45 < first["photo"].mean() < 0.55
    for round_ in (1, 2, 3):
        again = draws.defective[round_]
        np.testing.assert_array_equal(again["form"], first["form"])  # still wrong every time
        assert not again["photo"].any()  # corrected at once
    main, minor = draws.defects(2)
    np.testing.assert_array_equal(main, first["form"])
    assert not minor.any()


def test_a_material_draws_by_the_step_it_was_declared_in():
    # A merged step checks the parts' materials with the parts' random numbers.
    form = Material("form", "申请表", "main", 0.3)
    alone = Step(
        "a",
        Name("甲", "A"),
        "desk",
        Fixed(1.0),
        Fixed(0.0),
        materials=(form,),
        send_back=SendBack(Fixed(1.0), max_resubmissions=2),
    )
    merged = Step(
        "m",
        Name("合", "M"),
        "desk",
        Fixed(1.0),
        Fixed(0.0),
        materials=(Material("form", "申请表", "main", 0.3, stream="a"),),
        send_back=SendBack(Fixed(1.0), max_resubmissions=2),
    )
    streams = Streams(np.random.SeedSequence(5))
    for round_ in range(3):
        np.testing.assert_array_equal(
            StepDraws(streams, "p", alone, 500).defective[round_]["form"],
            StepDraws(streams, "p", merged, 500).defective[round_]["form"],
        )
