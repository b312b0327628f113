"""Whole workbooks as staff keep them, read end to end with read_workbook."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from engine.errors import InputError
from engine.read.sheets import empty_table
from engine.read.workbook import read_workbook
from engine.tables import SHEETS, columns_of

D = dt.date(2026, 3, 1)


def invalid_rows(inputs):
    return sorted(zip(inputs.invalid["source_sheet"], inputs.invalid["source_row"],
                      inputs.invalid["severity"]))


# --- the file itself --------------------------------------------------------------------------

def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_workbook(tmp_path / "nope.xlsx")


def test_non_xlsx_file_is_an_input_error(tmp_path):
    path = tmp_path / "billing.csv"
    path.write_text("Invoice,Amount\nA,1\n")
    with pytest.raises(InputError) as err:
        read_workbook(path)
    assert err.value.file == "billing.csv"


def test_xlsx_that_is_not_a_workbook_is_an_input_error(tmp_path):
    path = tmp_path / "billing.xlsx"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InputError) as err:
        read_workbook(path)
    assert err.value.file == "billing.xlsx"


def test_missing_invoices_sheet_is_an_input_error(make_workbook):
    with pytest.raises(InputError, match="Invoices"):
        read_workbook(make_workbook({"Payments": [["Amount", "Date"], [5, D]]}))


def test_missing_required_column_is_an_input_error_naming_sheet_and_header(make_workbook):
    with pytest.raises(InputError) as err:
        read_workbook(make_workbook({"Invoices": [["Invoice", "Amount"], ["A", 1]],
                                     "Payments": [["Paid", "Memo"], [5, "x"]]}))
    assert err.value.sheet == "Payments" and "'Date'" in err.value.message
    assert err.value.file == "book.xlsx"


# --- sheet names ------------------------------------------------------------------------------

def test_sheet_names_are_matched_case_and_space_insensitively(make_workbook):
    inputs = read_workbook(make_workbook({
        "invoices": [["Invoice", "Amount"], ["A", 1]],
        "Fee Schedule": [["Payer", "CPT", "Expected"], ["Aetna", "99213", 80]],
        "Payment Plans": [["Plan", "Installment", "Start"], ["PL1", 25, D]],
    }))
    assert inputs.sheet_names == {"Invoices": "invoices", "FeeSchedule": "Fee Schedule",
                                  "PaymentPlans": "Payment Plans"}
    assert inputs.tables["FeeSchedule"]["expected_cents"].tolist() == [8000]
    assert inputs.tables["PaymentPlans"]["sheet"].tolist() == ["Payment Plans"]
    assert inputs.tables["Invoices"]["source"].tolist() == ["invoices row 2"]


def test_absent_optional_sheets_are_empty_tables(make_workbook):
    inputs = read_workbook(make_workbook({"Invoices": [["Invoice", "Amount"], ["A", 1]]}))
    for sheet in ("Payments", "Deposits", "FeeSchedule", "PaymentPlans", "Remittances"):
        assert inputs.tables[sheet].empty
        assert list(inputs.tables[sheet].columns) == columns_of(sheet)
    assert inputs.invalid.empty


def test_invalid_row_names_the_sheet_as_the_workbook_does(make_workbook):
    inputs = read_workbook(make_workbook({
        "Invoices": [["Invoice", "Amount"], ["A", 1]],
        "Fee Schedule": [["Payer", "CPT", "Expected"], ["Aetna", "99213", "eighty"]],
    }))
    f = inputs.invalid.iloc[0]
    assert (f["source_sheet"], f["source_row"]) == ("Fee Schedule", 2)
    assert f["explanation"].startswith("Fee Schedule row 2, column Expected")


def test_rows_left_out_are_kept_aside_and_their_findings_say_whose_row(make_workbook):
    inputs = read_workbook(make_workbook({
        "Invoices": [["Invoice", "Amount", "Patient ID"], ["A-1", 1, "7"], ["A-2", "TBD", "8"]],
        "Payments": [["Payment ID", "Amount", "Date", "Invoice", "Patient ID", "Reference"],
                     ["P-9", "n/a", D, "A-1", "7", "CHK-4"], ["P-10", 5, "soon", "A-2", None, None]],
    }))
    assert inputs.tables["Invoices"]["invoice"].tolist() == ["A-1"]
    assert inputs.left_out["Invoices"][["invoice", "invoice_key", "row"]].values.tolist() == [
        ["A-2", "A2", 3]]
    assert inputs.left_out["Payments"]["payment_id"].tolist() == ["P-9", "P-10"]
    f = inputs.invalid.set_index("source")
    assert (f.loc["Invoices row 3", "invoice"], f.loc["Invoices row 3", "patient"]) == ("A-2", "8")
    assert (f.loc["Payments row 2", "payment"], f.loc["Payments row 2", "invoice"]) == ("P-9", "A-1")
    assert f.loc["Payments row 2", "trace"] == "CHK-4"  # its reference, as on payment findings
    assert f.loc["Payments row 3", "payment"] == "P-10"
    assert "Deposits" not in inputs.left_out


# --- every input sheet type -------------------------------------------------------------------

ALL_SHEETS = {
    "Invoices": [["Invoice", "Amount", "Patient ID", "Patient", "Service date", "Invoice date",
                  "Due date", "Payer", "Claim", "CPT", "Modifier", "Units", "Expected"],
                 ["INV-1", 100.5, "P1", "Ann", D, D, D, "Aetna", "C1", 99213, "25", 2, "80.00"]],
    "Payments": [["Amount", "Date", "Payment ID", "Invoice", "Patient ID", "Patient", "Payer",
                  "Method", "Reference", "Claim"],
                 ["50", D, "PM1", "INV-1", "P1", "Ann", "Aetna", "EFT", "TRN1", "C1"]],
    "Remittances": [["Claim", "Paid", "Trace", "Payer", "Status", "Billed", "Allowed",
                     "Patient resp", "Adj group", "Adj reason", "Adj amount", "CPT",
                     "Service date"],
                    ["C1", 50, "T1", "Aetna", "1", 100, 80, 10, "CO", 45, 20, "99213", D]],
    "Deposits": [["Date", "Amount", "Reference / Description", "Payer"],
                 [D, 50, "TRN*1*12345", "Aetna"]],
    "FeeSchedule": [["Payer", "CPT", "Expected", "Modifier"], ["Aetna", "99213", 80, None]],
    "PaymentPlans": [["Plan", "Installment", "Start", "Patient ID", "Invoice", "Total",
                      "Frequency", "Count", "Grace days"],
                     ["PL1", 25, D, "P1", "INV-1", 100, "monthly", 4, 5]],
    "Settings": [["Key", "Value"], ["terms_days", 45]],
}


@pytest.fixture
def every_sheet(make_workbook):
    return read_workbook(make_workbook(ALL_SHEETS))


def test_every_sheet_is_read_without_findings(every_sheet):
    assert every_sheet.invalid.empty
    assert every_sheet.settings.terms_days == 45
    assert set(every_sheet.tables) == set(SHEETS) - {"Settings"}


@pytest.mark.parametrize("sheet", [s for s in SHEETS if s != "Settings"])
def test_every_sheet_has_the_documented_columns_and_dtypes(every_sheet, sheet):
    table = every_sheet.tables[sheet]
    assert list(table.columns) == columns_of(sheet)
    assert table.dtypes.astype(str).to_dict() == empty_table(sheet).dtypes.astype(str).to_dict()
    for f in SHEETS[sheet]:
        if f.kind == "money":
            assert str(table[f"{f.name}_cents"].dtype) == "Int64"
        elif f.kind == "date":
            assert str(table[f.name].dtype).startswith("datetime64")


def test_every_sheet_values(every_sheet):
    t = every_sheet.tables
    inv = t["Invoices"].iloc[0]
    assert (inv["invoice"], inv["amount_cents"], inv["cpt"], inv["units"],
            inv["expected_cents"]) == ("INV-1", 10050, "99213", 2.0, 8000)
    assert inv["service_date"] == pd.Timestamp(D)
    pay = t["Payments"].iloc[0]
    assert (pay["amount_cents"], pay["date"], pay["invoice_key"]) == (5000, pd.Timestamp(D), "INV1")
    rem = t["Remittances"].iloc[0]
    assert (rem["paid_cents"], rem["patient_resp_cents"], rem["adj_reason"],
            rem["adj_amount_cents"]) == (5000, 1000, "45", 2000)
    dep = t["Deposits"].iloc[0]
    assert (dep["amount_cents"], dep["reference"]) == (5000, "TRN*1*12345")
    fee = t["FeeSchedule"].iloc[0]
    assert (fee["payer_key"], fee["cpt"], fee["expected_cents"]) == ("AETNA", "99213", 8000)
    assert pd.isna(fee["modifier"])
    plan = t["PaymentPlans"].iloc[0]
    assert (plan["installment_cents"], plan["total_cents"], plan["count"], plan["grace_days"],
            plan["frequency"]) == (2500, 10000, 4, 5, "monthly")


# --- messy workbooks --------------------------------------------------------------------------

def test_title_lines_above_the_header_keep_excel_row_numbers(make_workbook):
    inputs = read_workbook(make_workbook({"Invoices": [["Invoice", "Amount"], ["A", "x"],
                                                       ["B", 2]]}, title_rows=2))
    assert inputs.tables["Invoices"]["row"].tolist() == [5]
    assert invalid_rows(inputs) == [("Invoices", 4, "high")]


def test_header_synonyms_in_a_file(make_workbook):
    inputs = read_workbook(make_workbook({"Invoices": [
        ["Inv #", "Billed", "DOS", "Patient Name", "MRN", "Insurance"],
        ["INV-001", "$1,234.50", "03/15/2026", "Ann Lee", "00042", "Aetna"]]}))
    row = inputs.tables["Invoices"].iloc[0]
    assert (row["invoice"], row["amount_cents"], row["service_date"], row["patient"],
            row["patient_id_key"], row["payer"]) == (
        "INV-001", 123450, pd.Timestamp("2026-03-15"), "Ann Lee", "42", "Aetna")


def _messy(path):
    """A merged title, a hidden row, formulas with and without values, text amounts and dates,
    a serial date in a General cell, a currency-formatted number and a totals row."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Invoices")
    money = wb.add_format({"num_format": "$#,##0.00"})
    ws.merge_range(0, 0, 0, 3, "Main St Clinic — March", wb.add_format({"bold": True}))
    ws.write_row(2, 0, ["Invoice", "Amount", "Service date", "Expected"])
    ws.write_row(3, 0, ["INV-1", "$1,234.50", "03/15/2026"])               # row 4
    ws.write_row(4, 0, ["INV-2", "(45.00)"])                                 # row 5
    ws.write_number(4, 2, 46096)                                             # General cell
    ws.set_row(5, None, None, {"hidden": True})
    ws.write_row(5, 0, ["INV-3", 10])                                        # row 6, hidden
    ws.write(6, 0, "INV-4")
    ws.write_formula(6, 1, "=10/3", money, 3.335)                            # row 7, cached
    ws.write(7, 0, "INV-5")
    ws.write_formula(7, 1, "=1+1")                                           # row 8, placeholder 0
    ws.write_row(8, 0, ["INV-6", 20])
    ws.write_formula(8, 3, "=B9*0.8")                                        # row 9, optional
    ws.write(10, 0, "Grand total")
    ws.write_formula(10, 1, "=SUM(B4:B10)", money, 1234.5)                   # row 11
    wb.close()
    return path


def test_messy_sheet_reads_what_it_can(tmp_path):
    inputs = read_workbook(_messy(tmp_path / "book.xlsx"))
    t = inputs.tables["Invoices"].set_index("invoice")
    assert t["row"].to_dict() == {"INV-1": 4, "INV-2": 5, "INV-3": 6, "INV-4": 7, "INV-6": 9}
    assert t["amount_cents"].to_dict() == {"INV-1": 123450, "INV-2": -4500, "INV-3": 1000,
                                           "INV-4": 334, "INV-6": 2000}
    assert t.loc["INV-1", "service_date"] == pd.Timestamp("2026-03-15")
    assert t.loc["INV-2", "service_date"] == pd.Timestamp("2026-03-15")


def test_uncalculated_formulas_are_invalid_rows_not_zero(tmp_path):
    inputs = read_workbook(_messy(tmp_path / "book.xlsx"))
    assert invalid_rows(inputs) == [("Invoices", 8, "high"), ("Invoices", 9, "low")]
    assert inputs.invalid["explanation"].str.contains("never calculated").all()
    t = inputs.tables["Invoices"].set_index("invoice")
    assert "INV-5" not in t.index
    assert pd.isna(t.loc["INV-6", "expected_cents"])


def test_openpyxl_formula_without_cached_value_is_an_invalid_row(tmp_path):
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Invoices"
    ws.append(["Invoice", "Amount"])
    ws.append(["INV-1", "=2*5"])
    ws.append(["INV-2", 7])
    wb.save(path)
    inputs = read_workbook(path)
    assert inputs.tables["Invoices"]["invoice"].tolist() == ["INV-2"]
    (f,) = inputs.invalid.to_dict("records")
    assert (f["source_sheet"], f["source_row"], f["severity"]) == ("Invoices", 2, "high")
    assert "column Amount" in f["explanation"]


# --- Settings sheet ---------------------------------------------------------------------------

def test_settings_sheet_changes_how_sheets_are_read(make_workbook):
    inputs = read_workbook(make_workbook({
        "Invoices": [["Ref No", "Amount", "DOS"], ["X-1", "1.234,50", "03/04/2026"]],
        "Settings": [["Setting", "Value"], ["column.Invoices.Invoice", "Ref No"],
                     ["decimal_comma", "yes"], ["date_order", "DMY"], ["tolerance", 2.5]],
    }))
    row = inputs.tables["Invoices"].iloc[0]
    assert (row["invoice"], row["amount_cents"], row["service_date"]) == (
        "X-1", 123450, pd.Timestamp("2026-04-03"))
    assert inputs.settings.tolerance_cents == 250


def test_bad_setting_is_an_input_error_naming_file_sheet_and_row(make_workbook):
    with pytest.raises(InputError) as err:
        read_workbook(make_workbook({"Invoices": [["Invoice", "Amount"]],
                                     "settings": [["Key", "Value"], ["terms_days", 30],
                                                  ["date_order", "YMD"]]}))
    assert (err.value.file, err.value.sheet, err.value.row) == ("book.xlsx", "settings", 3)


def test_no_settings_sheet_means_defaults(make_workbook):
    inputs = read_workbook(make_workbook({"Invoices": [["Invoice", "Amount"]]}))
    assert inputs.settings.terms_days == 30 and inputs.settings.decimal_comma is False


# --- memory -----------------------------------------------------------------------------------

def test_an_identifier_equal_to_another_in_its_row_is_one_object(make_workbook):
    inputs = read_workbook(make_workbook({
        "Invoices": [["Invoice", "Amount", "Claim"], ["INV1001", 10, "INV1001"],
                     ["INV-1002", 10, "CLM 7"]],
    }))
    first, second = inputs.tables["Invoices"].to_dict("records")
    assert first["invoice"] is first["invoice_key"] is first["claim"] is first["claim_key"]
    assert (second["invoice"], second["invoice_key"], second["claim"], second["claim_key"]) == (
        "INV-1002", "INV1002", "CLM 7", "CLM7")


def test_an_unreadable_rows_claim_equal_to_its_invoice_number_is_not_repeated(make_workbook):
    inputs = read_workbook(make_workbook({
        "Invoices": [["Invoice", "Amount", "Claim"], ["A-1", "TBD", "A-1"], ["A-2", "TBD", "C-2"]],
    }))
    f = inputs.invalid.set_index("source")
    assert f.loc["Invoices row 2", "claim"] is None
    assert f.loc["Invoices row 3", "claim"] == "C-2"
