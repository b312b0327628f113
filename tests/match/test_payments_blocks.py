"""The amount block groups its pairs as `groupby(sort=False).indices` would, without a frame."""

import numpy as np
import pandas as pd

from engine.match.payments import _positions_by_value


def test_positions_by_value_are_groupby_indices():
    values = np.random.default_rng(3).integers(0, 40, 500) * 100
    expected = pd.DataFrame({"v": values}).groupby("v", sort=False).indices
    got = _positions_by_value(values)
    assert list(got) == list(expected)  # the order of each amount's first row
    assert all(np.array_equal(got[v], expected[v]) for v in expected)


def test_positions_by_value_of_nothing():
    assert _positions_by_value(np.array([], dtype="int64")) == {}
