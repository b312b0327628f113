"""`source` texts written a batch at a time by `_SegmentSuffixes`."""

import numpy as np

from engine.x12.read import _SegmentSuffixes


def _objects(values):
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def test_sources_per_record_with_repeats_and_missing_segments():
    files = _objects(["a.835", "a.835", "a.835", "b.835", "b.835"])
    numbers = np.array([57, 57, 0, 57, 1200])
    missing = np.array([False, False, True, False, False])
    got = _SegmentSuffixes().sources(files, numbers, missing)
    assert got.dtype == object
    assert list(got) == ["a.835 segment 57", "a.835 segment 57", "a.835",
                         "b.835 segment 57", "b.835 segment 1200"]


def test_sources_grow_across_batches_and_handle_empty():
    suffixes = _SegmentSuffixes()
    assert len(suffixes.sources(_objects([]), np.array([], dtype=np.int64),
                                np.array([], dtype=bool))) == 0
    first = suffixes.sources(_objects(["x"]), np.array([3]), np.array([False]))
    second = suffixes.sources(_objects(["x", "y"]), np.array([10_000, 3]),
                              np.array([False, False]))
    assert list(first) == ["x segment 3"]
    assert list(second) == ["x segment 10000", "y segment 3"]
