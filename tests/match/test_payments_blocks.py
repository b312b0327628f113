"""The amount block groups its pairs as `groupby(sort=False).indices` would, without a frame, and
scores them as rapidfuzz would; patients pair as a merge would."""

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA

from engine.match.payments import (
    FUZZY_FLOOR,
    _negated_similarities,
    _patient_codes,
    _patient_match,
    _positions_by_value,
    _same_patient,
)


def test_positions_by_value_are_groupby_indices():
    values = np.random.default_rng(3).integers(0, 40, 500) * 100
    expected = pd.DataFrame({"v": values}).groupby("v", sort=False).indices
    got = _positions_by_value(values)
    assert list(got) == list(expected)  # the order of each amount's first row
    assert all(np.array_equal(got[v], expected[v]) for v in expected)


def test_positions_by_value_of_nothing():
    assert _positions_by_value(np.array([], dtype="int64")) == {}


def test_similarities_are_the_scorers():
    rng = np.random.default_rng(7)
    alphabet = np.array(list("0123456789INVX"))
    keys = ["".join(rng.choice(alphabet, n)) for n in rng.integers(0, 16, 60)]
    choices = ["".join(rng.choice(alphabet, n)) for n in rng.integers(0, 16, 90)]
    choices += [key[:3] + key[4:] for key in keys[:30]]  # a keystroke away: above the floor
    expected = process.cdist(keys, choices, scorer=OSA.normalized_similarity,
                             score_cutoff=FUZZY_FLOOR, dtype=np.float64)
    got = -_negated_similarities(keys, choices)
    assert got.shape == expected.shape and got.flags.c_contiguous
    assert np.array_equal(got, expected)
    assert (expected >= FUZZY_FLOOR).sum() >= 30


def test_similarities_of_long_keys():
    long_keys = ["X" * 150 + "1" * 50, "X" * 200]  # table positions past an int16
    expected = process.cdist(long_keys, long_keys[::-1], scorer=OSA.normalized_similarity,
                             score_cutoff=FUZZY_FLOOR, dtype=np.float64)
    assert np.array_equal(-_negated_similarities(long_keys, long_keys[::-1]), expected)


def test_same_patient_pairs_as_a_merge_would():
    rng = np.random.default_rng(11)
    for _ in range(200):
        pid, pn = rng.integers(-1, 6, (2, rng.integers(0, 25)))
        ipid, ipn = rng.integers(-1, 6, (2, rng.integers(0, 30)))
        i, j = _same_patient(pid, pn, ipid, ipn)
        expected = [(a, b) for a in range(len(pid)) for b in range(len(ipid))
                    if _patient_match(pid[a:a + 1], pn[a:a + 1],
                                      ipid[b:b + 1], ipn[b:b + 1])[0] == 1.0]
        by_id = [(a, b) for a, b in expected if pid[a] >= 0 and ipid[b] >= 0]
        by_name = [pair for pair in expected if pair not in by_id]
        assert list(zip(i.tolist(), j.tolist())) == by_id + by_name


def test_patient_codes_number_payments_and_invoices_together():
    payments = pd.DataFrame({"patient_id_key": pd.array(["7", None, "9", "7"], dtype="str"),
                             "patient_key": pd.array(["ANN", "BOB", "ANN", "CY"], dtype="str")})
    invoices = pd.DataFrame({"patient_id_key": pd.array(["9", "8", None], dtype="str"),
                             "patient_key": pd.array(["ANN", None, "BOB"], dtype="str")})
    codes = _patient_codes(payments, invoices)
    assert codes["patient_id_code"].tolist() == [0, -1, 1, 0]
    assert codes["inv_patient_id_code"].tolist() == [1, 2, -1]
    assert codes["patient_code"].tolist() == [0, 1, 0, 2]
    assert codes["inv_patient_code"].tolist() == [0, -1, 1]
