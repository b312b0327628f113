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
