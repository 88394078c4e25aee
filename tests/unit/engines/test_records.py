"""The record schema's column hand-over: pieces and coded text become the table's columns."""

import numpy as np

from sim.engines.records import Coded, Pieces


def test_pieces_join_arrays_and_repeated_values():
    """Step rows handed over in pieces become the same columns once joined."""
    pieces = Pieces((np.array([1.5, 2.0]), 3, np.array([7.0])), (2, 2, 1))
    assert len(pieces) == 5
    assert pieces.join(np.float64).tolist() == [1.5, 2.0, 3.0, 3.0, 7.0]
    assert (pieces + Pieces((4,), (1,))).join(np.float64).tolist() == [1.5, 2, 3, 3, 7, 4]
    assert Pieces((1, 2), (2, 1)).join(np.int8).dtype == np.int8
    text = Coded(Pieces((0, np.array([1, 0])), (2, 2)), np.array(["a", "b"], dtype=object))
    assert text.expand().tolist() == ["a", "a", "b", "a"]
