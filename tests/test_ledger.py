"""Invoice balances: the match summary of each invoice."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.ledger import _joined_methods


def test_each_invoices_distinct_methods_sorted_and_joined():
    methods = pd.Series(["fuzzy", "exact", "fuzzy", None, "exact"], dtype="str")
    joined = _joined_methods(methods, np.array([1, 1, 0, 0, -1]), 3)
    assert joined.tolist()[:2] == ["fuzzy", "exact, fuzzy"] and joined.tolist()[2] == ""


def test_more_methods_than_a_64_bit_number_holds():
    names = [f"m{n:03d}" for n in range(70)]
    methods = pd.Series(names[::-1] + ["m000"], dtype="str")
    joined = _joined_methods(methods, np.array([0] * 70 + [1]), 2)
    assert joined.tolist() == [", ".join(names), "m000"]
