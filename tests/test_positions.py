"""Sums and joins on integer positions: exact sums, and pairs in an inner merge's order."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from engine.positions import equal_pairs, shares_number, sum_at

numbers = st.lists(st.integers(0, 4), max_size=30).map(lambda v: np.array(v, dtype=np.int64))


@given(numbers, numbers)
def test_equal_pairs_are_an_inner_merge_on_present_numbers(left, right):
    i, j = equal_pairs(left, right)
    merged = pd.merge(pd.DataFrame({"k": left, "i": np.arange(len(left))}),
                      pd.DataFrame({"k": right, "j": np.arange(len(right))}), on="k")
    merged = merged[merged["k"] > 0]  # 0 is missing: equal to nothing
    assert list(zip(i.tolist(), j.tolist())) == sorted(zip(merged["i"], merged["j"]))


def test_sum_at_is_exact_and_skips_rows_placed_nowhere():
    big = 2 ** 62 // 3
    totals = sum_at(np.array([0, 1, -1, 0]), np.array([big, 5, 7, big]), 3)
    assert totals.dtype == np.int64 and totals.tolist() == [2 * big, 5, 0]
    assert sum_at(np.array([2, 2, -1]), np.array([True, True, True]), 3).tolist() == [0, 0, 2]


def test_shares_number_marks_numbers_held_by_more_than_one_row():
    codes = np.array([2, -1, 0, 2, 1, -1, 0, 3])
    assert shares_number(codes).tolist() == [True, False, True, True, False, False, True, False]
    assert shares_number(np.array([], dtype=np.intp)).tolist() == []


@given(st.lists(st.sampled_from(["a", "b", "c", None]), max_size=30))
def test_first_of_each_is_where_each_number_first_appears(values):
    from engine.positions import first_of_each

    codes = pd.factorize(pd.Series(values, dtype=object))[0]
    seen, expected = set(), []
    for i, c in enumerate(codes.tolist()):
        if c >= 0 and c not in seen:
            seen.add(c)
            expected.append(i)
    assert first_of_each(codes).tolist() == expected
