"""`recon run` end to end on small workbooks: results, exports, exit codes, re-runs."""

from __future__ import annotations

import csv
import datetime as dt
import json

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from builders import INVOICE_HEADER, PAYMENT_HEADER
from engine.cli import main
from engine.findings import COLUMNS

JAN5 = dt.date(2026, 1, 5)
FEB1 = dt.date(2026, 2, 1)


def _sheets():
    return {
        "Invoices": [INVOICE_HEADER,
                     ["INV-1", "001", "Smith, John", JAN5, JAN5, "Self-pay", 200.0],
                     ["INV-2", "002", "=HYPERLINK(\"http://x\")", JAN5, JAN5, "Self-pay", 80.0],
                     ["INV-3", "003", "Doe, Jane", JAN5, JAN5, "Self-pay", 50.0]],
        "Payments": [PAYMENT_HEADER,
                     ["P1", FEB1, "INV-3", "003", None, "Card", "A1", 50.0],
                     ["P2", FEB1, None, "999", None, "Check", "@SUM(1)", 12.0]],
    }


def _sheet_rows(path, name):
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def test_run_writes_the_four_result_sheets_with_contract_columns(make_workbook, capsys):
    book = make_workbook(_sheets())
    assert main(["run", str(book), "--as-of", "2026-03-31"]) == 0
    names = CalamineWorkbook.from_path(str(book)).sheet_names
    assert names[:2] == ["Invoices", "Payments"]
    assert {"Recon Summary", "Reconciliation", "Discrepancies", "Aging"} <= set(names)
    header = _sheet_rows(book, "Discrepancies")[0]
    assert header[:len(COLUMNS)] == [h for _n, h, _k in COLUMNS]
    out = capsys.readouterr().out
    assert "findings" in out and "Smith" not in out


def test_out_leaves_the_workbook_untouched(make_workbook, tmp_path):
    book = make_workbook(_sheets())
    before = book.read_bytes()
    out = tmp_path / "result.xlsx"
    assert main(["run", str(book), "--as-of", "2026-03-31", "--out", str(out)]) == 0
    assert book.read_bytes() == before
    assert "Discrepancies" in CalamineWorkbook.from_path(str(out)).sheet_names


def test_rerun_is_deterministic_and_keeps_staff_notes(make_workbook):
    book = make_workbook(_sheets())
    assert main(["run", str(book), "--as-of", "2026-03-31"]) == 0
    first = _sheet_rows(book, "Discrepancies")
    wb = openpyxl.load_workbook(book)
    ws = wb["Discrepancies"]
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("Note") + 1, value="called the patient")
    ws.cell(row=2, column=header.index("Status") + 1, value="In progress")
    noted_id = ws.cell(row=2, column=1).value
    wb.save(book)
    assert main(["run", str(book), "--as-of", "2026-03-31"]) == 0
    second = _sheet_rows(book, "Discrepancies")
    assert sorted(r[0] for r in first[1:]) == sorted(r[0] for r in second[1:])
    row = next(r for r in second[1:] if r[0] == noted_id)
    assert row[header.index("Note")] == "called the patient"
    assert row[header.index("Status")] == "In progress"
    assert [n for n in CalamineWorkbook.from_path(str(book)).sheet_names].count("Discrepancies") == 1


def test_export_csv_has_snake_case_columns_and_inert_formulas(make_workbook, tmp_path):
    book = make_workbook(_sheets())
    export = tmp_path / "f.csv"
    assert main(["run", str(book), "--as-of", "2026-03-31", "--export", str(export)]) == 0
    with open(export, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0].keys()) == [n for n, _h, _k in COLUMNS]
    traces = [r["trace"] for r in rows if r["trace"]]
    assert "'@SUM(1)" in traces
    patients = [r["patient"] for r in rows]
    assert "'=HYPERLINK(\"http://x\")" in patients
    assert all(not v.startswith(("=", "+", "@")) for r in rows for k, v in r.items()
               if k not in ("expected", "actual", "difference"))


def test_export_json_redacted_has_no_patient_names(make_workbook, tmp_path):
    book = make_workbook(_sheets())
    export = tmp_path / "f.json"
    assert main(["run", str(book), "--as-of", "2026-03-31", "--export", str(export),
                 "--redact"]) == 0
    text = export.read_text()
    data = json.loads(text)["findings"]
    assert data and "Smith" not in text and "John" not in text
    overdue = next(r for r in data if r["type"] == "OVERDUE" and r["invoice"] == "INV-1")
    assert overdue["expected"] == "200.00" and overdue["difference"] == "-200.00"


def test_bad_input_exits_2_with_a_message_naming_the_place(make_workbook, capsys, tmp_path):
    book = make_workbook({"Invoices": [["Patient", "Amount"], ["x", 1.0]]})
    assert main(["run", str(book)]) == 2
    err = capsys.readouterr().err
    assert "Invoices" in err and "Invoice" in err and book.name in err
    assert main(["run", str(tmp_path / "missing.xlsx")]) == 2
    not_excel = tmp_path / "notes.xlsx"
    not_excel.write_text("hello")
    assert main(["run", str(not_excel)]) == 2
    assert main(["run", str(book), "--as-of", "31/03/2026"]) == 2


def test_usage_error_exits_2():
    with pytest.raises(SystemExit) as exc:
        main(["run"])
    assert exc.value.code == 2


def test_internal_error_exits_1(make_workbook, monkeypatch, capsys):
    book = make_workbook(_sheets())
    import engine.pipeline

    def boom(*a, **k):
        raise RuntimeError("bug")
    monkeypatch.setattr(engine.pipeline, "finalize", boom)
    assert main(["run", str(book), "--as-of", "2026-03-31"]) == 1
    assert "internal error" in capsys.readouterr().err
