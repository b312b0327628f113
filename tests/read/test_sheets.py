"""One sheet → one typed table: header detection, synonyms, mappings, skipped and invalid rows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from engine.errors import InputError
from engine.read.grid import Grid
from engine.read.sheets import empty_table, read_sheet
from engine.settings import Settings, parse_settings
from engine.tables import SHEETS, columns_of


def read(rows, sheet="Invoices", settings=None, name=None, uncached=()):
    grid = Grid(name or sheet, rows, set(uncached))
    return read_sheet(grid, sheet, settings or Settings(), "book.xlsx")


def findings(result):
    return result.invalid[["source_row", "severity", "explanation"]].values.tolist()


# --- header row and header names --------------------------------------------------------------

def test_header_row_below_title_lines():
    r = read([["Main St Clinic"], ["Invoices for March", None], [],
              ["Invoice", "Amount"], ["INV-1", 10]])
    assert r.header_row == 4
    assert r.table[["row", "invoice", "amount_cents"]].values.tolist() == [[5, "INV-1", 1000]]


@pytest.mark.parametrize("header, field", [
    ("Inv #", "invoice"), ("Invoice No.", "invoice"), ("invoice  number", "invoice"),
    ("Billed", "amount"), ("AMOUNT BILLED", "amount"), ("DOS", "service_date"),
    ("Date of Service", "service_date"), ("Patient Name", "patient"), ("MRN", "patient_id"),
    ("Insurance", "payer"), ("Bill Date", "invoice_date"), ("Due On", "due_date"),
    ("PCN", "claim"), ("Proc Code", "cpt"), ("Allowed", "expected"),
])
def test_invoice_header_synonyms(header, field):
    base = {"invoice": "Invoice", "amount": "Amount"}
    base[field] = header
    assert read([list(base.values())]).columns[field] == header


def test_account_no_is_invoice_and_account_hash_is_patient_id():
    r = read([["Account #", "Account No", "Billed"], ["P-7", "INV-1", 10]])
    assert r.columns == {"invoice": "Account No", "patient_id": "Account #", "amount": "Billed"}
    assert r.table[["invoice", "patient_id"]].values.tolist() == [["INV-1", "P-7"]]


def test_settings_column_mapping_names_a_header_synonyms_cannot_guess():
    settings = parse_settings([("column.Invoices.Invoice", "Ref No", 2)])
    r = read([["Ref No", "Amount"], ["X-1", 5]], settings=settings)
    assert r.columns["invoice"] == "Ref No"
    assert r.table["invoice"].tolist() == ["X-1"]


def test_settings_mapping_wins_over_a_synonym():
    settings = parse_settings([("column.Invoices.Amount", "Net", 2)])
    r = read([["Invoice", "Charges", "Net"], ["A", 100, 80]], settings=settings)
    assert r.table["amount_cents"].tolist() == [8000]


def test_settings_mapping_with_spaced_sheet_and_column_names():
    settings = parse_settings([("column.Fee Schedule.Expected", "Rate Amt", 2),
                               ("column.Invoices.Patient ID", "Acct", 3)])
    with pytest.raises(InputError):  # "Rate Amt" is no synonym: without the mapping, no Expected
        read([["Payer", "CPT", "Rate Amt"]], sheet="FeeSchedule")
    fees = read([["Payer", "CPT", "Rate Amt"], ["Aetna", "99213", 80]], sheet="FeeSchedule",
                settings=settings)
    assert fees.table["expected_cents"].tolist() == [8000]
    inv = read([["Invoice", "Amount", "Acct"], ["A", 1, "P1"]], settings=settings)
    assert inv.table["patient_id"].tolist() == ["P1"]


def test_missing_required_column_is_an_input_error_naming_sheet_and_header():
    with pytest.raises(InputError) as err:
        read([["Invoice", "Notes"], ["A", "x"]], name="invoices")
    assert err.value.sheet == "invoices"
    assert "'Amount'" in err.value.message
    assert "column.Invoices.Amount" in err.value.message


def test_sheet_without_any_header_is_an_input_error():
    with pytest.raises(InputError):
        read([[1, 2], [3, 4]])


# --- rows that are not data -------------------------------------------------------------------

def test_blank_rows_are_skipped_without_findings():
    r = read([["Invoice", "Amount"], ["A", 1], [None, None], ["", "  "], ["B", 2]])
    assert r.table["row"].tolist() == [2, 5]
    assert r.invalid.empty


@pytest.mark.parametrize("label", ["Total", "TOTAL", "Grand total", "Totals:", "Subtotal"])
def test_totals_row_is_skipped(label):
    r = read([["Invoice", "Amount"], ["A", 1], ["B", 2], [label, 3]])
    assert r.table["invoice"].tolist() == ["A", "B"]
    assert r.invalid.empty


def test_totals_label_in_another_column_skips_the_row():
    r = read([["Payer", "Invoice", "Amount"], ["Aetna", "A", 1], ["Grand Total", None, 1]])
    assert r.table["invoice"].tolist() == ["A"]
    assert r.invalid.empty


# --- values -----------------------------------------------------------------------------------

def test_amounts_as_numbers_and_text_become_cents():
    r = read([["Invoice", "Amount"], ["A", 1234.5], ["B", "$1,234.50"], ["C", "(45.00)"],
              ["D", "-45.00"], ["E", 3.335]])
    assert r.table["amount_cents"].tolist() == [123450, 123450, -4500, -4500, 334]


def test_decimal_comma_only_with_the_setting():
    rows = [["Invoice", "Amount"], ["A", "1.234,50"]]
    assert read(rows).table.empty
    on = parse_settings([("decimal_comma", "yes", 2)])
    assert read(rows, settings=on).table["amount_cents"].tolist() == [123450]


def test_text_dates_decided_per_column():
    r = read([["Invoice", "Amount", "DOS", "Bill Date"],
              ["A", 1, "03/04/2026", "03/04/2026"],
              ["B", 1, "13/04/2026", "04/13/2026"]])
    assert r.table["service_date"].dt.date.tolist() == [dt.date(2026, 4, 3), dt.date(2026, 4, 13)]
    assert r.table["invoice_date"].dt.date.tolist() == [dt.date(2026, 3, 4), dt.date(2026, 4, 13)]


def test_date_order_setting_overrides_the_column():
    dmy = parse_settings([("date_order", "DMY", 2)])
    r = read([["Invoice", "Amount", "DOS"], ["A", 1, "03/04/2026"]], settings=dmy)
    assert r.table["service_date"].dt.date.tolist() == [dt.date(2026, 4, 3)]


def test_serial_number_and_excel_date_cells():
    r = read([["Invoice", "Amount", "DOS"], ["A", 1, 46096.0], ["B", 1, dt.datetime(2026, 3, 15)]])
    assert r.table["service_date"].dt.date.tolist() == [dt.date(2026, 3, 15)] * 2


def test_identifiers_stay_text_with_normalised_keys():
    r = read([["Invoice", "Amount", "MRN"], ["inv-00123 ", 1, "00042"], [1001.0, 1, 42]])
    t = r.table
    assert t["invoice"].tolist() == ["inv-00123", "1001"]
    assert t["invoice_key"].tolist() == ["INV123", "1001"]
    assert t["patient_id"].tolist() == ["00042", "42"]
    assert t["patient_id_key"].tolist() == ["42", "42"]


# --- INVALID_ROW findings ---------------------------------------------------------------------

def test_unreadable_required_amount_drops_the_row_with_a_high_finding():
    r = read([["Title"], ["Invoice", "Billed"], ["A", "abc"], ["B", 5]])
    assert r.table["invoice"].tolist() == ["B"]
    (row, severity, text), = findings(r)
    assert (row, severity) == (3, "high")
    assert text.startswith("Invoices row 3, column Billed:")
    assert "'abc'" in text


def test_missing_required_value_drops_the_row_with_a_high_finding():
    r = read([["Invoice", "Amount"], ["A", None], [None, 5]])
    assert r.table.empty
    found = sorted(findings(r))
    assert [(row, sev) for row, sev, _ in found] == [(2, "high"), (3, "high")]
    assert all("required value is missing" in text for *_, text in found)
    assert "column Amount" in found[0][2] and "column Invoice" in found[1][2]


def test_unreadable_optional_value_keeps_the_row_with_a_low_finding():
    r = read([["Invoice", "Amount", "DOS", "Units"], ["A", 5, "soon", "two"]])
    assert r.table["invoice"].tolist() == ["A"]
    assert pd.isna(r.table["service_date"].iloc[0]) and pd.isna(r.table["units"].iloc[0])
    assert [(row, sev) for row, sev, _ in findings(r)] == [(2, "low"), (2, "low")]
    assert "column DOS" in findings(r)[0][2] and "column Units" in findings(r)[1][2]


def test_invalid_row_finding_columns_and_stable_key():
    r = read([["Invoice", "Amount"], ["A", "abc"]], name="invoices")
    f = r.invalid.iloc[0]
    assert f["type"] == "INVALID_ROW"
    assert f["source_sheet"] == "invoices" and f["source_row"] == 2
    assert f["source"] == "invoices row 2"
    assert f["explanation"].startswith("invoices row 2, column Amount")
    assert f["key"] == "Invoices|2|Amount"


def test_uncached_formula_in_a_required_column_is_invalid_not_zero():
    r = read([["Invoice", "Amount"], ["A", 0.0], ["B", 5]], uncached={(1, 1)})
    assert r.table["invoice"].tolist() == ["B"]
    (row, severity, text), = findings(r)
    assert (row, severity) == (2, "high") and "never calculated" in text


def test_uncached_formula_in_an_optional_column_is_blank_not_zero():
    r = read([["Invoice", "Amount", "Allowed"], ["A", 5, 0.0]], uncached={(1, 2)})
    assert r.table["invoice"].tolist() == ["A"]
    assert pd.isna(r.table["expected_cents"].iloc[0])
    (row, severity, text), = findings(r)
    assert (row, severity) == (2, "low") and "column Allowed" in text


def test_an_excel_error_in_a_required_column_says_what_the_cell_shows():
    r = read([["Invoice", "Amount"], ["A", "#N/A"], ["B", 5], ["#REF!", 7]])
    assert r.table["invoice"].tolist() == ["B"]
    assert findings(r) == [
        [4, "high", ("Invoices row 4, column Invoice: the cell shows the Excel error #REF! "
                     "instead of a value (correct its formula or type the value)")],
        [2, "high", ("Invoices row 2, column Amount: the cell shows the Excel error #N/A instead "
                     "of an amount such as 1,234.50 (correct its formula or type the value)")]]


def test_an_excel_error_in_an_optional_column_is_blank_and_low():
    r = read([["Invoice", "Amount", "Allowed", "Payer"], ["A", 5, "#DIV/0!", "#N/A"],
              ["B", 6, "#N/A thing", "Aetna #1"]])
    assert r.table["invoice"].tolist() == ["A", "B"]
    assert pd.isna(r.table["expected_cents"].iloc[0]) and pd.isna(r.table["payer"].iloc[0])
    assert r.table["payer"].iloc[1] == "Aetna #1"
    assert [(row, sev, "Excel error" in text) for row, sev, text in findings(r)] == [
        (2, "low", True), (2, "low", True), (3, "low", False)]  # row 3: '#N/A thing' is no amount


def test_finding_messages_do_not_show_identifying_values():
    r = read([["Invoice", "Amount", "Patient"], ["A", None, "Ann Lee"]])
    assert "Ann Lee" not in " ".join(r.invalid["explanation"])


# --- every sheet type -------------------------------------------------------------------------

def test_table_columns_follow_tables_py_and_absent_columns_are_missing():
    r = read([["Invoice", "Amount"], ["A", 1]])
    assert list(r.table.columns) == columns_of("Invoices")
    assert r.table["payer"].isna().all() and r.table["expected_cents"].isna().all()
    assert r.table["source"].tolist() == ["Invoices row 2"]


@pytest.mark.parametrize("sheet", [s for s in SHEETS if s != "Settings"])
def test_empty_table_has_the_dtypes_of_a_read_table(sheet):
    header = [f.header for f in SHEETS[sheet]]
    read_dtypes = read([header], sheet=sheet).table.dtypes.astype(str).to_dict()
    assert empty_table(sheet).dtypes.astype(str).to_dict() == read_dtypes


def test_payment_plan_int_columns():
    r = read([["Plan", "Installment", "Start", "Count", "Grace days"],
              ["PL1", 25, "03/01/2026", 4.0, "5"], ["PL2", 25, "03/01/2026", 4.5, None]],
             sheet="PaymentPlans")
    assert r.table["count"].tolist()[0] == 4 and pd.isna(r.table["count"].iloc[1])
    assert str(r.table["count"].dtype) == "Int64"
    assert [(row, sev) for row, sev, _ in findings(r)] == [(3, "low")]


@pytest.mark.parametrize("sheet", [s for s in SHEETS if s != "Settings"])
def test_absent_optional_columns_read_as_blank_columns_of_their_dtype(sheet):
    required = [f for f in SHEETS[sheet] if f.required]
    row = {"id": "X1", "name": "Aetna", "text": "a", "money": 5.0, "date": dt.date(2026, 3, 1)}
    table = read([[f.header for f in required], [row[f.kind] for f in required]],
                 sheet=sheet).table
    assert table.dtypes.astype(str).to_dict() == empty_table(sheet).dtypes.astype(str).to_dict()
    absent = [c for c in table.columns
              if c not in ("sheet", "row", "source") and not any(
                  c in (f.name, f"{f.name}_key", f"{f.name}_cents") for f in required)]
    assert absent and table[absent].isna().all().all()


@pytest.mark.parametrize(("units", "numbers", "unreadable"), [
    ([1.0, 2.0, None, "", -0.0, float("inf")], ["1.0", "2.0", "nan", "nan", "0.0", "nan"], []),
    ([1.0, 2.5, "3", "1,234", "x", True], ["1.0", "2.5", "3.0", "1234.0", "nan", "nan"], [6, 7]),
])
def test_number_cells_read_alike_whether_all_whole_or_not(units, numbers, unreadable):
    r = read([["Invoice", "Amount", "Units"]] + [[f"A{i}", 1, u] for i, u in enumerate(units)])
    assert [str(v) for v in r.table["units"].tolist()] == numbers
    assert (r.invalid["source_row"].tolist() if len(r.invalid) else []) == unreadable


@pytest.mark.parametrize("sheet", list(SHEETS))
def test_every_read_sheet_has_the_documented_columns_in_order(sheet):
    header = [f.header for f in SHEETS[sheet]]
    table = read_sheet(Grid(sheet, [header, ["x"] * len(header)]), sheet, Settings(), "t.xlsx").table
    assert list(table.columns) == columns_of(sheet)


@pytest.mark.parametrize(("prefix", "numbers"), [
    ("Invoices row ", [2, 3, 9, 10, 11, 99, 100, 101, 1048576]),  # every length of number
    ("Facturación row ", [0, 5, 123456789012, 4294967296, 9223372036854775807]),
    ("Invoices row ", []),
    ("Invoices row ", [7, 3, 12]),  # not ascending: made one by one
    ("Two\nlines ", [1, 2]),  # a line break in the name: made one by one
])
def test_numbered_texts_are_the_prefix_and_each_number(prefix, numbers):
    import numpy as np

    from engine.read.sheets import _numbered

    assert _numbered(prefix, np.array(numbers, dtype=np.int64)) == [
        f"{prefix}{n}" for n in numbers]


def test_read_text_is_what_pd_array_makes_of_the_same_texts(monkeypatch):
    import numpy as np

    from engine.read import sheets

    texts = ["INV-1", None, "", "José", None]
    made = sheets._read_text(np.array(texts, dtype=object))
    expected = pd.array(np.array(texts, dtype=object), dtype="str")
    assert made.dtype == expected.dtype and made.equals(expected)
    assert made._ndarray.tolist()[:4] == expected._ndarray.tolist()[:4]
    strided = np.array(texts * 2, dtype=object)[::2]  # not contiguous: pd.array makes it
    assert sheets._read_text(strided).equals(pd.array(strided, dtype="str"))
    monkeypatch.setattr(sheets, "_NDArrayBacked", None)
    assert sheets._read_text(np.array(texts, dtype=object)).equals(expected)


def test_cell_types_are_laid_out_column_by_column():
    import numpy as np

    from engine.ids import type_codes
    from engine.read.sheets import _matrix, _types

    rows = [["a", 1.0, None], ["b", dt.date(2026, 1, 2), 3], ["c", 2.0, "x"]]
    matrix = _matrix(rows)
    codes, kinds = _types(matrix)
    assert codes.flags.f_contiguous and codes.dtype == np.uint8
    assert [[kinds[c] for c in row] for row in codes.tolist()] == [
        [type(v) for v in row] for row in rows]
    assert kinds == type_codes(matrix.ravel())[1]
