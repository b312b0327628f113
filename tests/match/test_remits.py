"""Remitted claims → invoices: which invoice a claim number names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.match.remits import _claims_to_invoices


def test_claim_key_wins_over_invoice_key_and_the_first_invoice_wins():
    invoices = pd.DataFrame({"invoice_key": ["INV1", "INV2", "INV3", "C9"],
                             "claim_key": ["C1", None, "C1", None]}, dtype="str")
    claims = pd.DataFrame({"claim_key": ["C1", "INV2", "C9", "INV1", "NONE", None]},
                          dtype="str")
    assert _claims_to_invoices(claims, invoices).tolist() == [0, 1, 3, 0, -1, -1]


def test_a_claim_key_naming_one_invoice_and_keying_another_goes_to_the_named_one():
    invoices = pd.DataFrame({"invoice_key": ["A", "B"], "claim_key": [None, "A"]}, dtype="str")
    claims = pd.DataFrame({"claim_key": ["A", "B"]}, dtype="str")
    assert _claims_to_invoices(claims, invoices).tolist() == [1, 1]
    no_invoices = invoices.iloc[:0]
    assert np.array_equal(_claims_to_invoices(claims, no_invoices), [-1, -1])
