"""Result sheets across re-runs: staff work is kept, resolved findings are counted."""

from __future__ import annotations

import datetime as dt

import openpyxl
from python_calamine import CalamineWorkbook

from builders import INVOICE_HEADER, PAYMENT_HEADER
from engine.cli import main

JAN5 = dt.date(2026, 1, 5)


def _rows(path, sheet):
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def _summary_count(path, label):
    return next(r[1] for r in _rows(path, "Recon Summary") if r and r[0] == label)


def test_staff_rows_are_kept_and_disappeared_findings_counted_resolved(make_workbook):
    book = make_workbook({
        "Invoices": [INVOICE_HEADER,
                     ["INV-1", "1", "Ann Lee", JAN5, JAN5, "Self-pay", 200.0],
                     ["INV-2", "2", "Bob Ray", JAN5, JAN5, "Self-pay", 80.0]],
    })
    assert main(["run", str(book), "--as-of", "2026-03-31"]) == 0
    first = _rows(book, "Discrepancies")
    assert sorted(r[1] for r in first[1:]) == ["OVERDUE", "OVERDUE"]
    # staff sort the sheet, add a row of their own and a column, then INV-2 gets paid
    wb = openpyxl.load_workbook(book)
    ws = wb["Discrepancies"]
    ws.append(["", "", "", "INV-9"] + [""] * 14 + ["Open", "Kim", "check with front desk"])
    wb.create_sheet("Payments")
    wb["Payments"].append(PAYMENT_HEADER)
    wb["Payments"].append(["P1", dt.datetime(2026, 2, 1), "INV-2", "2", None, "Card", "A1", 80.0])
    wb.save(book)
    assert main(["run", str(book), "--as-of", "2026-03-31"]) == 0
    second = _rows(book, "Discrepancies")
    types = [r[1] for r in second[1:] if r[1]]
    assert types == ["OVERDUE"]
    kept = [r for r in second[1:] if r[3] == "INV-9"]
    assert len(kept) == 1 and kept[0][20] == "check with front desk"
    assert "added by staff" in kept[0][17]
    assert _summary_count(book, "Resolved since the last run (no longer found)") == 1
    assert _summary_count(book, "Rows added by staff") == 1


def test_plans_sheet_shows_each_plan_and_plan_invoices_are_in_plan(make_workbook):
    book = make_workbook({
        "Invoices": [INVOICE_HEADER, ["INV-1", "1", "Ann Lee", JAN5, JAN5, "Self-pay", 300.0]],
        "Payments": [PAYMENT_HEADER, ["P1", dt.date(2026, 2, 1), "INV-1", "1", None, "Card", "A1", 100.0]],
        "PaymentPlans": [["Plan", "Patient ID", "Invoice", "Total", "Installment", "Start",
                          "Frequency"],
                         ["PP-1", "1", "INV-1", 300.0, 100.0, dt.date(2026, 2, 1), "monthly"]],
    })
    assert main(["run", str(book), "--as-of", "2026-03-20"]) == 0
    plans = _rows(book, "Plans")
    assert plans[0][:3] == ["Plan", "Patient ID", "Invoices"]
    assert plans[1][0] == "PP-1" and plans[1][4] == 100.0 and plans[1][9] == "behind"
    rec = _rows(book, "Reconciliation")
    status = rec[0].index("Status")
    assert rec[1][status] == "In plan"
    types = [r[1] for r in _rows(book, "Discrepancies")[1:]]
    assert types == ["PLAN_MISSED_INSTALLMENT"]


def test_findings_order_is_that_of_sort_values():
    import numpy as np
    import pandas as pd

    from engine.findings import FINDING_COLUMNS, SEVERITIES, TYPES, finalize

    rng = np.random.default_rng(5)
    n = 300
    frame = pd.DataFrame({
        "type": pd.Series(rng.choice(list(TYPES[:4]), n), dtype="str"),
        "severity": pd.Series(rng.choice(list(SEVERITIES) + [None], n), dtype="str"),
        "key": pd.Series(rng.integers(0, 120, n).astype(str), dtype="str"),
        "source_sheet": pd.Series(rng.choice(["Invoices", "Payments", None], n), dtype="str"),
        "source_row": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(2, 9, n)),
                               dtype="Int64")})
    out = finalize([frame])
    assert len(out) == len(out["id"].unique())
    rank = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).fillna(len(SEVERITIES))
    type_rank = out["type"].map({t: i for i, t in enumerate(TYPES)}).fillna(len(TYPES))
    expected = (pd.DataFrame({"_r": rank, "_t": type_rank, "source_sheet": out["source_sheet"],
                              "source_row": out["source_row"], "id": out["id"]})
                .sort_values(["_r", "_t", "source_sheet", "source_row", "id"], kind="mergesort",
                             na_position="last"))
    assert list(expected.index) == list(range(len(out)))
    assert list(out.columns[:len(FINDING_COLUMNS)]) == list(FINDING_COLUMNS)


def test_count_and_sum_keeps_the_order_and_only_keys_that_occur():
    import numpy as np
    import pandas as pd

    from engine.results import _count_and_sum

    keys = pd.Series(["low", "high", "unknown", "low", None], dtype=object)
    out = _count_and_sum("Severity", keys, ("high", "medium", "low"),
                         np.array([5, 7, 100, 2**62, 9], dtype="int64"))
    assert out["Severity"].tolist() == ["high", "low"]
    assert out["Findings"].dtype == "Int64" and out["Findings"].tolist() == [1, 2]
    assert out["Amount"].dtype == "Int64" and out["Amount"].tolist() == [7, 5 + 2**62]
    empty = _count_and_sum("Type", keys.iloc[:0], ("a",), np.array([], dtype="int64"))
    assert list(empty.columns) == ["Type", "Findings", "Amount"] and len(empty) == 0
