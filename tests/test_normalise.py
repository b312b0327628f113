"""Invoice totals and payment labels: what a groupby / a column-by-column pass would give."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.normalise import invoice_totals, prepare_payments
from engine.settings import Settings


def _lines(**columns) -> pd.DataFrame:
    n = len(columns["invoice_key"])
    text = ("sheet", "source", "invoice", "invoice_key", "patient_id", "patient_id_key", "patient",
            "patient_key", "payer", "payer_key", "claim", "claim_key")
    frame = {c: pd.array(columns.get(c, [c.upper()] * n), dtype="str") for c in text}
    frame["row"] = np.asarray(columns.get("row", range(5, 5 + n)), dtype="int64")
    frame["amount_cents"] = pd.array(columns.get("amount_cents", [100] * n), dtype="Int64")
    for c in ("service_date", "invoice_date", "due_date"):
        frame[c] = pd.to_datetime(pd.Series(columns.get(c, ["2026-01-10"] * n))).astype(
            "datetime64[us]")
    return pd.DataFrame(frame)


def test_each_invoice_takes_each_columns_first_known_value_in_row_order():
    lines = _lines(invoice_key=["B", "A", "B", None, "B"], row=[9, 8, 5, 6, 7],
                   claim=[None, "CA", None, "CX", "CB"], claim_key=[None, "CA", None, "CX", "CB"],
                   payer_key=["P2", "PA", None, "PX", "P1"],
                   amount_cents=[100, 50, None, 7, 25],
                   service_date=["2026-01-09", None, None, "2026-01-01", "2026-01-08"],
                   invoice_date=[None, None, None, None, None])
    out = invoice_totals(lines, Settings())
    # B's lines in row order: rows 5, 7, 9; A: row 8; the line without a key counts nowhere
    assert out["invoice_key"].tolist() == ["B", "A"]
    assert out["row"].tolist() == [5, 8] and out["lines"].tolist() == [3, 1]
    assert out["payer_key"].tolist() == ["P1", "PA"]  # B's first line has no payer
    assert out["claim"].tolist() == ["CB", "CA"] and out["claim_key"].tolist() == ["CB", "CA"]
    assert out["billed_cents"].tolist() == [125, 50]
    assert out["service_date"].tolist() == [pd.Timestamp("2026-01-08"), pd.NaT]
    assert out["invoice_date"].isna().all()


def test_an_invoice_without_a_claim_number_is_its_own_claim():
    out = invoice_totals(_lines(invoice_key=["A", "B"], invoice=["A-1", "B-1"],
                                claim=[None, "C"], claim_key=[None, "C"]), Settings())
    assert out["claim"].tolist() == ["A-1", "C"] and out["claim_key"].tolist() == ["A", "C"]


def test_no_invoices():
    out = invoice_totals(_lines(invoice_key=[]), Settings())
    assert len(out) == 0 and "due_date" in out and out["billed_cents"].dtype == "Int64"


def _payments(**columns) -> pd.DataFrame:
    n = len(columns["amount_cents"])
    text = ("payment_id", "invoice_key", "claim_key", "reference_key", "payer_key", "patient_key",
            "method")
    frame = {c: pd.array(columns.get(c, [None] * n), dtype="str") for c in text}
    frame["amount_cents"] = pd.array(columns["amount_cents"], dtype="Int64")
    frame["row"] = np.asarray(columns.get("row", range(2, 2 + n)), dtype="int64")
    frame["date"] = pd.to_datetime(pd.Series(columns.get("date", ["2026-01-10"] * n))).astype(
        "datetime64[us]")
    return pd.DataFrame(frame)


def test_duplicates_are_later_postings_of_the_same_money():
    p = prepare_payments(_payments(
        amount_cents=[100, 100, 100, 100, 100, 100, None, None],
        invoice_key=["A", "A", "A", None, "A", "A", "A", "A"],
        claim_key=[None, None, None, "A", None, None, None, None],
        reference_key=["R", "R", None, "R", "S", "R", "R", "R"],
        payer_key=["P", "P", "P", "P", "P", None, "P", "P"],
        date=["2026-01-05", "2026-01-04", "2026-01-04", "2026-01-06", "2026-01-04", "2026-01-04",
              "2026-01-04", "2026-01-04"]))
    # posted first: row 3 (same date, lower row); the claim names the same target; no reference,
    # another reference, another payer and another amount are other money; two missing amounts
    # are the same amount
    assert p["duplicate"].tolist() == [True, False, False, True, False, False, False, True]


def test_labels_and_kinds():
    p = prepare_payments(_payments(amount_cents=[1, 2, 3, 4], payment_id=["P1", None, "P3", None],
                                   payer_key=["AETNA", None, "SELF PAY", "AETNA"],
                                   method=["check", None, "Write-off", "visa"]))
    assert p["payment"].tolist() == ["P1", "Payments row 3", "P3", "Payments row 5"]
    assert p["kind"].tolist() == ["insurance", "patient", "adjustment", "patient"]
    assert p["payer_adjustment"].tolist() == [False, False, False, False]
