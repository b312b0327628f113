"""The amount block groups its pairs as `groupby(sort=False).indices` would, without a frame, and
keeps each reference's most similar invoice numbers as scoring every pair with rapidfuzz and sorting
would; patients pair as a merge would."""

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA

from engine.match.payments import (
    AMOUNT_BLOCK_KEEP,
    FUZZY_FLOOR,
    _most_similar,
    _nearest,
    _patient_codes,
    _patient_match,
    _positions_by_value,
    _same_patient,
    _similarity_table,
)


def test_positions_by_value_are_groupby_indices():
    values = np.random.default_rng(3).integers(0, 40, 500) * 100
    expected = pd.DataFrame({"v": values}).groupby("v", sort=False).indices
    got = _positions_by_value(values)
    assert list(got) == list(expected)  # the order of each amount's first row
    assert all(np.array_equal(got[v], expected[v]) for v in expected)


def test_positions_by_value_of_nothing():
    assert _positions_by_value(np.array([], dtype="int64")) == {}


def _by_length(choices):
    lengths = np.array([len(c) for c in choices])
    return [(n, at, [choices[a] for a in at]) for n, at in _positions_by_value(lengths).items()]


def most_similar(keys, choices):
    """`_most_similar` as (key row, choice position, similarity) triples."""
    longest = max(map(len, keys + choices))
    i, at, sim = _most_similar(keys, np.array([len(k) for k in keys]), _by_length(choices),
                               _similarity_table(longest))
    return list(zip(i.tolist(), at.tolist(), sim.tolist()))


def every_pair_sorted(keys, choices, keep=AMOUNT_BLOCK_KEEP):
    """Every pair scored by rapidfuzz; per key the `keep` most similar at or above the floor, the
    first positions among equals; by key, then position."""
    sim = process.cdist(keys, choices, scorer=OSA.normalized_similarity,
                        score_cutoff=FUZZY_FLOOR, dtype=np.float64)
    found = []
    for row in range(len(keys)):
        best = sorted((-sim[row, j], j) for j in range(len(choices)) if sim[row, j] >= FUZZY_FLOOR)
        found += [(row, j, sim[row, j]) for _, j in sorted(best[:keep], key=lambda b: b[1])]
    return found


def test_the_most_similar_are_those_of_scoring_every_pair():
    rng = np.random.default_rng(7)
    alphabet = np.array(list("0123456789INVX"))
    for _ in range(40):
        stems = ["".join(rng.choice(alphabet, n)) for n in rng.integers(3, 12, 4)]

        def typed(stem):  # a stem with up to two keystrokes changed: many pairs tie
            chars = list(stem)
            for _ in range(rng.integers(0, 3)):
                at = int(rng.integers(0, len(chars) + 1))
                if rng.random() < 0.5 and len(chars) > 1:
                    del chars[min(at, len(chars) - 1)]
                else:
                    chars.insert(at, str(rng.choice(alphabet)))
            return "".join(chars)

        keys = [typed(stems[k]) for k in rng.integers(0, 4, rng.integers(1, 25))]
        choices = [typed(stems[k]) for k in rng.integers(0, 4, rng.integers(1, 80))]
        assert most_similar(keys, choices) == every_pair_sorted(keys, choices)


def test_equally_similar_numbers_are_kept_in_order():
    choices = [f"INV10{d}" for d in range(10)][::-1] + ["INV10", "INV1000"]
    found = most_similar(["INV10X"], choices)
    # ten numbers one keystroke away, and one at two (INV10): the first eight of the ten
    assert [at for _, at, _ in found] == list(range(AMOUNT_BLOCK_KEEP))
    assert found == every_pair_sorted(["INV10X"], choices)


def test_nearest_keeps_each_rows_smallest_distances_first_columns_first():
    rng = np.random.default_rng(5)
    for _ in range(300):
        rows, cols = int(rng.integers(0, 12)), int(rng.integers(1, 40))
        dtype = np.uint16 if rng.random() < 0.2 else np.uint8
        distance = rng.integers(0, int(rng.integers(1, 9)), (rows, cols)).astype(dtype)
        reach = rng.integers(-1, 6, rows)
        keep = int(rng.integers(1, 10))
        i, j = _nearest(distance, reach, keep)
        expected = []
        for row in range(rows):
            near = sorted((int(distance[row, col]), col) for col in range(cols)
                          if distance[row, col] <= reach[row])[:keep]
            expected += [(row, col) for _, col in sorted(near, key=lambda dc: dc[1])]
        assert list(zip(i.tolist(), j.tolist())) == expected


def test_similarities_of_long_keys():
    long_keys = ["X" * 150 + "1" * 50, "X" * 200, "X" * 300]  # distances past a uint8
    assert most_similar(long_keys, long_keys[::-1]) == every_pair_sorted(long_keys,
                                                                         long_keys[::-1])
    assert len(most_similar(long_keys, long_keys[::-1])) >= 3


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
