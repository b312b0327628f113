"""Invoice balances: the match summary of each invoice."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from builders import INVOICE_HEADER, PAYMENT_HEADER, inputs_from_rows

from engine import normalise
from engine.ledger import _joined_methods, settle
from engine.match.payments import match_payments


def test_each_invoices_distinct_methods_sorted_and_joined():
    methods = pd.Series(["fuzzy", "exact", "fuzzy", None, "exact"], dtype="str")
    joined = _joined_methods(methods, np.array([1, 1, 0, 0, -1]), 3)
    assert joined.tolist()[:2] == ["fuzzy", "exact, fuzzy"] and joined.tolist()[2] == ""


def test_more_methods_than_a_64_bit_number_holds():
    names = [f"m{n:03d}" for n in range(70)]
    methods = pd.Series(names[::-1] + ["m000"], dtype="str")
    joined = _joined_methods(methods, np.array([0] * 70 + [1]), 2)
    assert joined.tolist() == [", ".join(names), "m000"]


def test_applications_by_invoice_position_settle_as_by_key():
    day, later = dt.date(2026, 1, 5), dt.date(2026, 2, 1)
    invoices = [[f"INV-{n}", pid, f"Patient {pid}", day, day, "Self-pay", amount]
                for n, pid, amount in ((1001, "1", 120.0), (1007, "7", 80.0), (10023, "2", 100.0),
                                       (3001, "4", 100.0), (3002, "4", 50.0), (3003, "4", 30.0))]
    payments = [[pid_, later, invoice, pid, None, "Check", None, amount]
                for pid_, invoice, pid, amount in (
                    ("P1", "INV-1001", "1", 120.0), ("P6", "INV-1001", "7", 80.0),
                    ("P2", "INV-10032", "2", 100.0), ("P4", None, "4", 130.0),
                    ("P5", "INV-1001", "1", 10.0))]
    inputs = inputs_from_rows({"Invoices": [INVOICE_HEADER] + invoices,
                               "Payments": [PAYMENT_HEADER] + payments})
    inv = normalise.invoice_totals(inputs.tables["Invoices"], inputs.settings)
    pay = normalise.prepare_payments(inputs.tables["Payments"])
    m = match_payments(inv, pay, inputs.settings)
    remitted = pd.DataFrame({
        "invoice_key": pd.Series(["INV3002", "INV9999"], dtype="str"),
        "remit_paid_cents": pd.array([4000, 100], dtype="Int64"),
        "remit_pr_cents": pd.array([0, 0], dtype="Int64"),
        "remit_adjusted_cents": pd.array([1000, 0], dtype="Int64"),
        "remit_charge_cents": pd.array([5000, 100], dtype="Int64"),
        "denied": [False, True]})
    for remit in (None, remitted):
        by_key = settle(inv, pay, m.applications, remit)
        assert by_key["match_method"].notna().sum() == 5
        pd.testing.assert_frame_equal(settle(inv, pay, m.applications, remit, m.invoice_at),
                                      by_key)
    # remittances by invoice position too (match_remits' rows are all of invoices: not INV9999)
    remitted = remitted.iloc[:1]
    remitted_at = pd.Index(inv["invoice_key"]).get_indexer(remitted["invoice_key"])
    assert remitted_at.tolist() == [4]
    pd.testing.assert_frame_equal(
        settle(inv, pay, m.applications, remitted, m.invoice_at, remitted_at),
        settle(inv, pay, m.applications, remitted))
