"""Sums and joins on integer positions.

The engine's tables meet on row positions and on numbers given to keys once, not on text: a pass
over a million Python strings scattered in memory costs 100–250 ns an element in cache misses
alone, whatever it does, where a pass over an integer array costs a few. These are the
operations the matchers, the ledger and the checks build on: adding cents up by position,
pairing rows whose numbers are equal (a merge on one key), and finding the numbers that repeat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def sum_at(at: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """`values` (integer cents, or booleans as counts) added up by position `at` into `size`
    int64 totals; rows at -1 count nowhere. Exact: never through floats."""
    counted = at >= 0
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, at[counted], np.asarray(values)[counted].astype(np.int64))
    return sums


def cents_or_zero(column: pd.Series) -> np.ndarray:
    """An Int64 cents column as int64, a missing amount adding nothing (as in a groupby sum)."""
    return column.to_numpy(dtype=np.int64, na_value=0)


def shares_number(codes: np.ndarray) -> np.ndarray:
    """Which rows hold a number (0, 1, …; -1: none) that some other row holds too."""
    count = np.bincount(codes + 1)
    return (codes >= 0) & (count[codes + 1] > 1)


def first_of_each(codes: np.ndarray) -> np.ndarray:
    """Where each number of a `pd.factorize` (numbered by first appearance; -1: missing) first
    appears: there it is above every number before it."""
    return np.flatnonzero(codes > np.maximum.accumulate(np.append(-1, codes))[:-1])


def equal_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) where left[i] == right[j] for values numbered 1, 2, … (0: missing, equal
    to nothing), in an inner merge's order: by i, then j."""
    by_code = np.argsort(right, kind="stable")  # right positions, a run per number
    per_code = np.bincount(right, minlength=max(left.max(initial=0), right.max(initial=0)) + 1)
    start = (np.cumsum(per_code) - per_code)[left]
    count = np.where(left > 0, per_code[left], 0)
    i = np.repeat(np.arange(len(left)), count)
    run_start = np.repeat(np.cumsum(count) - count, count)
    j = by_code[np.repeat(start, count) + np.arange(len(i)) - run_start]
    return i, j
