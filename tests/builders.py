"""Test builders: tiny workbooks and reader tables made inside the tests.

A module of its own (not conftest.py): several test folders have a conftest.py, and `from
conftest import` would pick whichever was imported first.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import xlsxwriter

from engine.ids import normalize_name
from engine.x12.read import TRANSACTION_COLUMNS, _frame, trace_key

AS_OF = dt.date(2026, 3, 31)


def build_workbook(path: Path, sheets: dict[str, list[list]], *, title_rows: int = 0) -> Path:
    """Write `sheets` (name → rows, first row the header) as an xlsx; dates stay Excel dates."""
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": dt.datetime(2026, 1, 1)})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for t in range(title_rows):
            ws.write(t, 0, f"{name} — title line {t + 1}")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                at = r + title_rows
                if value is None:
                    continue
                if isinstance(value, (dt.date, dt.datetime)):
                    ws.write_datetime(at, c, value, date_fmt)
                elif isinstance(value, str):
                    ws.write_string(at, c, value)
                else:
                    ws.write(at, c, value)
    wb.close()
    return path


def inputs_from_rows(sheets: dict[str, list[list]], settings=None):
    """Reader output for in-memory sheets (no file): what read_workbook would give."""
    import pandas as pd

    from engine.read.grid import Grid
    from engine.read.sheets import empty_table, read_sheet
    from engine.read.workbook import Inputs
    from engine.settings import Settings, parse_settings
    from engine.tables import SHEETS

    if settings is None:
        rows = sheets.get("Settings")
        settings = parse_settings([(r[0], r[1], i + 2) for i, r in enumerate(rows[1:])]) \
            if rows else Settings()
    tables, invalid, names, left_out = {}, [], {}, {}
    for sheet in SHEETS:
        if sheet == "Settings":
            continue
        if sheet in sheets:
            read = read_sheet(Grid(sheet, sheets[sheet]), sheet, settings, "test.xlsx")
            tables[sheet] = read.table
            names[sheet] = sheet
            if len(read.invalid):
                invalid.append(read.invalid)
            if len(read.left_out):
                left_out[sheet] = read.left_out
        else:
            tables[sheet] = empty_table(sheet)
    return Inputs(Path("test.xlsx"), settings, tables,
                  pd.concat(invalid, ignore_index=True) if invalid else pd.DataFrame(), names,
                  left_out=left_out)


def reconcile_rows(sheets: dict[str, list[list]], as_of=AS_OF, settings=None):
    import pandas as pd

    from engine.pipeline import reconcile

    return reconcile(inputs_from_rows(sheets, settings), pd.Timestamp(as_of))


INVOICE_HEADER = ["Invoice", "Patient ID", "Patient", "Service date", "Invoice date", "Payer",
                  "Amount"]
PAYMENT_HEADER = ["Payment ID", "Date", "Invoice", "Patient ID", "Payer", "Method", "Reference",
                  "Amount"]


# deposits against remittances: bank rows and 835 transactions
MAR2 = dt.date(2026, 3, 2)
DEPOSIT_HEADER = ["Date", "Amount", "Reference", "Payer"]


def transactions(*rows: dict) -> pd.DataFrame:
    """A transactions table with exactly engine.x12's columns and dtypes."""
    full = []
    for i, r in enumerate(rows):
        d = dict.fromkeys(TRANSACTION_COLUMNS)
        d.update({"transaction_index": i, "file": "era/aetna.835", "segment": 3 + 20 * i,
                  "source": f"era/aetna.835 segment {3 + 20 * i}", "handling": "C",
                  "credit_debit": "C", "method": "ACH", "payment_date": "20260302",
                  "payer": "Aetna", "moves_money": True, "plb_total_cents": 0, "complete": True})
        d.update(r)
        if d["handling"] == "H" or d["method"] == "NON":
            d["moves_money"] = False
        full.append(tuple(d[c] for c in TRANSACTION_COLUMNS))
    t = _frame(full, TRANSACTION_COLUMNS)
    t["trace_key"] = trace_key(t["trace"])
    t["payer_key"] = normalize_name(t["payer"]).astype("str")
    return t


def tx(trace, dollars, **kw) -> dict:
    return {"trace": trace, "paid_cents": round(dollars * 100), **kw}


def dep(amount, reference, date=MAR2, payer=None):
    return [date, amount, reference, payer]


def x12_builders():
    """tests/x12/conftest.py's 835 builders (`build_835`, `BALANCED`, ...) as a module, loaded by
    path: a plain import would pick whichever conftest.py was imported first."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_x12_conftest_builders", Path(__file__).parent / "x12" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
