"""Remitted claims → invoices: which invoice a claim number names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.match.remits import (
    _claims_to_invoices,
    _first_other_reason,
    _pair_reversals,
)


def test_claim_key_wins_over_invoice_key_and_the_first_invoice_wins():
    invoices = pd.DataFrame({"invoice_key": ["INV1", "INV2", "INV3", "C9"],
                             "claim_key": ["C1", None, "C1", None]}, dtype="str")
    claims = pd.DataFrame({"claim_key": ["C1", "INV2", "C9", "INV1", "NONE", None]},
                          dtype="str")
    invoice, claim = _claims_to_invoices(claims, invoices)
    assert invoice.tolist() == [0, 1, 3, 0, -1, -1]
    assert claim.tolist() == [1, 2, 3, 4, 5, 0]  # the claims' keys numbered, 0: missing


def test_a_claim_key_naming_one_invoice_and_keying_another_goes_to_the_named_one():
    invoices = pd.DataFrame({"invoice_key": ["A", "B"], "claim_key": [None, "A"]}, dtype="str")
    claims = pd.DataFrame({"claim_key": ["A", "B"]}, dtype="str")
    assert _claims_to_invoices(claims, invoices)[0].tolist() == [1, 1]
    no_invoices = invoices.iloc[:0]
    assert np.array_equal(_claims_to_invoices(claims, no_invoices)[0], [-1, -1])



def _claims(*rows) -> pd.DataFrame:
    claim_key, payer_claim, charge, status = zip(*rows)
    return pd.DataFrame({"claim_key": pd.array(claim_key, dtype="str"),
                         "payer_claim": pd.array(payer_claim, dtype="str"),
                         "charge_cents": pd.array(charge, dtype="Int64"),
                         "status": pd.array(status, dtype="str")},
                        index=[10 + n for n in range(len(rows))])


def _pairs(claims: pd.DataFrame) -> tuple[list, list]:
    paired = _pair_reversals(claims, pd.factorize(claims["claim_key"], use_na_sentinel=False)[0])
    return paired["reverses"].fillna(-1).tolist(), paired["reversed_by"].fillna(-1).tolist()


def test_a_reversal_cancels_the_claim_with_its_number_payer_number_and_charge():
    claims = _claims(("A", "P", 100, "1"), ("A", "P", 200, "1"), ("A", "P", -200, "22"),
                     ("A", "P", -300, "22"), ("B", "Q", 50, "1"), ("B", "R", -50, "22"),
                     (None, None, 70, "1"), (None, None, -70, "22"))
    # B's payer numbers differ: claim + charge pair only when no claim pairs on all three;
    # missing values pair like values, as in a merge
    assert _pairs(claims) == ([-1, -1, 11, -1, -1, -1, -1, 16], [-1, 12, -1, -1, -1, -1, 17, -1])
    assert _pairs(claims.iloc[4:6]) == ([-1, 14], [15, -1])


def test_each_reversal_cancels_the_earliest_original_not_already_cancelled():
    # a claim paid twice and reversed twice: two pairs, in order; a third reversal finds none
    claims = _claims(("A", "P", 100, "1"), ("A", "P", 100, "1"), ("A", "P", -100, "22"),
                     ("A", "P", -100, "22"), ("A", "P", -100, "22"))
    assert _pairs(claims) == ([-1, -1, 10, 11, -1], [12, 13, -1, -1, -1])
    # one reversal of a claim paid twice cancels the first payment
    assert _pairs(claims.iloc[:3]) == ([-1, -1, 10], [12, -1, -1])


@pytest.mark.parametrize("dtype", ["str", object])
def test_first_other_reason_is_what_mapping_each_column_gives(dtype):
    reasons = pd.DataFrame({"claim_index": pd.array([3, 1, 3, 7], dtype="Int64"),
                            "group": pd.Series(["CO", "OA", "PI", "CO"], dtype=dtype),
                            "reason": pd.Series(["97", "18", "50", "16"], dtype=dtype)})
    of = pd.Series(pd.array([1, 2, 3, None, 7, 1], dtype="Int64"), index=range(10, 16),
                   name="claim_index")
    group, reason = _first_other_reason(reasons, "claim_index", of)
    first = reasons.drop_duplicates("claim_index").set_index("claim_index")
    pd.testing.assert_series_equal(group, of.map(first["group"]))
    pd.testing.assert_series_equal(reason, of.map(first["reason"]))
