"""The Excel button (engine.excel) against a fake xlwings backed by real workbooks — and against
real xlwings where that is possible (Excel present, or an xlwings license key for its JSON-backed
Book); skipped otherwise."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xlsxwriter

import fake_xlwings as fx
from engine import excel
from engine.pipeline import reconcile, sha256
from engine.read.workbook import read_workbook
from engine.results import build_report, result_sheets
from engine.write import sheetxml as sx

AS_OF = dt.date(2026, 3, 31)
ROOT = Path(__file__).resolve().parents[2]
RESULT_NAMES = ("Recon Summary", "Reconciliation", "Discrepancies", "Aging")


# --------------------------------------------------------------------------- helpers

def write_book(path: Path, sheets: dict[str, list[list]], *, at: tuple[int, int] = (0, 0)) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": dt.datetime(2026, 1, 1)})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        r0, c0 = at if name == "Invoices" else (0, 0)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, dt.date):
                    ws.write_datetime(r0 + r, c0 + c, v, date_fmt)
                elif isinstance(v, str):
                    ws.write_string(r0 + r, c0 + c, v)
                else:
                    ws.write(r0 + r, c0 + c, v)
    wb.close()
    return path


INVOICES = [["Invoice", "Patient ID", "Patient", "Service date", "Invoice date", "Payer", "Amount"],
            ["INV-1", "00123", "=SUM(1,2)", dt.date(2026, 1, 5), dt.date(2026, 1, 6), "Aetna", 250.0],
            ["INV-2", "P2", "Ann O'Neil", dt.date(2026, 1, 7), dt.date(2026, 1, 8), "Self-pay", 80.5],
            ["INV-3", "P3", "+1 555", dt.date(2026, 2, 7), dt.date(2026, 2, 8), "Cigna", 1234.56],
            ["INV-4", "P4", "Bo", dt.date(2026, 3, 20), dt.date(2026, 3, 20), "Aetna", 99.99]]
PAYMENTS = [["Payment ID", "Date", "Invoice", "Patient ID", "Payer", "Method", "Reference", "Amount"],
            ["PAY-1", dt.date(2026, 2, 1), "INV-1", "00123", "Aetna", "EFT", "T1", 250.0],
            ["PAY-2", dt.date(2026, 2, 2), "INV-2", "P2", "Self-pay", "card", "A1", 100.5],
            ["PAY-3", dt.date(2026, 2, 3), "INV-3", "P3", "Cigna", "check", "C1", 1000.0]]


def expected_sheets(path: Path, as_of=AS_OF, remit_folder: Path | None = None):
    """What `recon run` builds for the same workbook (file reader, same pipeline)."""
    inputs = read_workbook(path)
    remit = None
    if remit_folder is not None:
        from engine.x12 import read_remits
        remit = read_remits([remit_folder], path.parent)
    result = reconcile(inputs, pd.Timestamp(as_of), remit)
    result.files = [(path.name, "workbook (read live from Excel)", "")]
    if remit_folder is not None:
        from engine.runner import remit_files
        result.files += [(f.name, "835 remittance", sha256(f)) for f in remit_files([remit_folder])]
    return result, result_sheets(build_report(result), result, pd.Timestamp("2026-04-01 09:00"))


def expected_cell(kind: str, v):
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if kind == "money":
        return float(Decimal(int(v)) / 100)
    if kind == "int":
        return float(int(v))
    if kind in ("date", "datetime"):
        ts = pd.Timestamp(v)
        return (ts.normalize() if kind == "date" else ts).to_pydatetime()
    if kind in ("percent", "number"):
        return float(v)
    return str(v)


def assert_sheet_matches(book: fx.Book, rs, *, skip_blocks=(), skip_note_rows=(2,)):
    sheet = book.sheets[rs.name]
    layout = sx.plan_layout(rs)
    for row, note in zip(layout.notes_rows, rs.notes):
        if row not in skip_note_rows:
            assert sheet.cells.get((row, 1)) == note
    for block, bl in zip(rs.blocks, layout.blocks):
        if bl.title_row is not None:
            assert sheet.cells.get((bl.title_row, 1)) == block.title
            assert sheet.fonts[(bl.title_row, 1)]["bold"] is True
        assert [sheet.cells.get((bl.header_row, c + 1)) for c in range(bl.n_cols)] == \
            list(bl.headers)
        table = next(t for t in sheet.tables if t.name == block.table_name)
        assert (table.range.r1, table.range.r2, table.range.c2) == \
            (bl.header_row, bl.last_row, bl.n_cols)
        assert table.table_style == sx.TABLE_STYLE
        if block.table_name in skip_blocks:
            continue
        for i, col in enumerate(block.columns):
            want = [expected_cell(col.kind, v) for v in block.data[col.name].tolist()]
            got = [sheet.cells.get((bl.first_data_row + r, i + 1)) for r in range(bl.n_rows)]
            assert got == want, (rs.name, col.name)
            code = sx.NUMBER_FORMATS[col.kind]
            if code and bl.n_rows:
                assert sheet.number_formats[(bl.first_data_row, i + 1)] == code
                assert sheet.number_formats[(bl.last_row, i + 1)] == code


def staff_snapshot(book: fx.Book) -> dict:
    return {s.name: book.snapshot(s.name) for s in book.sheets}


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    from engine.sample import generate

    folder = tmp_path_factory.mktemp("clinic")
    return generate(folder, invoices=200, as_of=AS_OF)


@pytest.fixture
def small(tmp_path):
    return write_book(tmp_path / "Billing.xlsx", {"Invoices": INVOICES, "Payments": PAYMENTS})


# --------------------------------------------------------------------------- the run

def test_button_writes_what_the_file_writer_writes(clinic):
    book = fx.Book.from_xlsx(clinic.workbook)
    before = staff_snapshot(book)
    staff_order = [s.name for s in book.sheets]
    message = excel.run(book, as_of=AS_OF)

    result, sheets = expected_sheets(clinic.workbook, remit_folder=clinic.workbook.parent / "remits")
    assert [s.name for s in book.sheets] == staff_order + [s.name for s in sheets]
    for rs in sheets:
        assert_sheet_matches(book, rs)
    # staff sheets: not one cell, format or table changed
    for name, snap in before.items():
        assert book.snapshot(name) == snap, name
    # severity colours, per row, the file writer's colours
    disc = next(s for s in sheets if s.name == "Discrepancies")
    bl = sx.plan_layout(disc).blocks[0]
    sheet = book.sheets["Discrepancies"]
    for r, sev in enumerate(disc.blocks[0].data["Severity"].tolist()):
        fill, font = sx.SEVERITY_COLOURS[sev]
        for c in (1, bl.n_cols):
            assert sheet.fills[(bl.first_data_row + r, c)] == excel.argb_to_rgb(fill)
        assert sheet.fonts[(bl.first_data_row + r, 2)]["color"] == excel.argb_to_rgb(font)
    # source links: engine-built HYPERLINK formulas to the staff row, nothing else is a formula
    findings = result.findings.reset_index(drop=True)
    src_col = [c.name for c in disc.blocks[0].columns].index("Source") + 1
    linked = 0
    for r in range(bl.n_rows):
        target = sheet.hyperlinks.get((bl.first_data_row + r, src_col))
        row = findings.loc[r, "source_row"] if r < len(findings) else None
        if target is not None:
            linked += 1
            assert target == f"#{sx.quote_sheet(findings.loc[r, 'source_sheet'])}!A{int(row)}"
    assert linked > 0
    for rs in sheets:
        for f in book.sheets[rs.name].formulas.values():
            assert f.startswith('=HYPERLINK("#'), f
    assert book.sheets["Reconciliation"].frozen == "1:1"
    assert book.sheets["Discrepancies"].frozen == "1:1"
    assert book.sheets["Recon Summary"].frozen is None
    assert all(w > 0 for w in book.sheets["Discrepancies"].column_widths.values())
    # the alert: counts by severity and where to look
    assert book.app.alerts == [{"prompt": message, "title": "Reconcile", "buttons": "ok",
                                "mode": "info"}]
    counts = result.findings["severity"].value_counts()
    assert f"{len(result.findings)} findings: " in message
    for sev, n in counts.items():
        assert f"{n} {sev}" in message
    assert "Discrepancies" in message
    # ownership recorded like the file writer does
    assert excel.owned_sheets(book) == [s.name for s in sheets]
    # the inputs block says where the data came from (live), then the 835 files with checksums
    inputs = book.sheets["Recon Summary"]
    cells = set(inputs.cells.values())
    assert "workbook (read live from Excel)" in cells
    for f in sorted((clinic.workbook.parent / "remits").iterdir())[:2]:
        assert sha256(f) in cells


def test_text_stays_text_and_money_is_exact(small):
    book = fx.Book.from_xlsx(small)
    excel.run(book, as_of=AS_OF)
    _result, sheets = expected_sheets(small)
    for rs in sheets:
        assert_sheet_matches(book, rs)
    rec = book.sheets["Reconciliation"]
    values = set(rec.cells.values())
    assert "=SUM(1,2)" in values and "+1 555" in values  # typed text, not a formula or number
    assert 1234.56 in values and 80.5 in values
    assert all(f.startswith('=HYPERLINK("#') for f in rec.formulas.values())


def test_staff_notes_carry_over_on_the_next_click(small):
    book = fx.Book.from_xlsx(small)
    excel.run(book, as_of=AS_OF)
    sheet = book.sheets["Discrepancies"]
    headers = {sheet.cells[(1, c)]: c for c in range(1, 40) if (1, c) in sheet.cells}
    n = sum(1 for (r, c) in sheet.cells if c == headers["ID"] and r > 1)
    assert n >= 2
    book.new_click()
    typed = {}
    for r in (2, 3):
        fid = sheet.cells[(r, headers["ID"])]
        sheet.range((r, headers["Status"])).value = "Waiting on payer"
        sheet.range((r, headers["Owner"])).value = "Dana"
        sheet.range((r, headers["Note"])).value = f"called {r}"
        typed[fid] = ("Waiting on payer", "Dana", f"called {r}")
    book.new_click()
    tables_before = sorted(t.name for s in book.sheets for t in s.tables)
    order_before = [s.name for s in book.sheets]
    message = excel.run(book, as_of=AS_OF)
    assert "findings" in message
    assert [s.name for s in book.sheets] == order_before  # replaced in place
    assert sorted(t.name for s in book.sheets for t in s.tables) == tables_before
    assert sorted(book.deleted) == sorted(RESULT_NAMES)
    sheet = book.sheets["Discrepancies"]
    got = {}
    for (r, c), v in sheet.cells.items():
        if c == headers["ID"] and v in typed:
            got[v] = tuple(sheet.cells.get((r, headers[h])) for h in ("Status", "Owner", "Note"))
    assert got == typed
    assert [n.name for n in book.names].count(excel.MARKER_NAME) == 1


def test_bad_input_alerts_one_sentence_and_writes_nothing(tmp_path):
    path = write_book(tmp_path / "Billing.xlsx", {
        "Invoices": INVOICES, "Settings": [["Key", "Value"], ["terms_days", "30"],
                                           ["tolerance", "lots"]]})
    book = fx.Book.from_xlsx(path)
    before = staff_snapshot(book)
    message = excel.run(book, as_of=AS_OF)
    assert "Billing.xlsx, sheet Settings, row 3" in message
    assert "Nothing in the workbook was changed" in message
    assert book.app.alerts[0]["mode"] == "critical" and book.app.alerts[0]["prompt"] == message
    assert book.added == [] and book.deleted == [] and len(book.names) == 0
    assert staff_snapshot(book) == before

    path = write_book(tmp_path / "NoInvoices.xlsx", {"Payments": PAYMENTS})
    book = fx.Book.from_xlsx(path)
    message = excel.run(book, as_of=AS_OF)
    assert message.startswith("NoInvoices.xlsx: the workbook has no sheet named Invoices")
    assert book.added == []


def test_a_staff_sheet_with_a_result_name_is_left_alone(tmp_path):
    path = write_book(tmp_path / "Billing.xlsx", {"Invoices": INVOICES, "Aging": [["mine"]]})
    book = fx.Book.from_xlsx(path)
    before = staff_snapshot(book)
    message = excel.run(book, as_of=AS_OF)
    assert "sheet Aging" in message and "Recon did not write" in message
    assert book.added == [] and book.deleted == []
    assert staff_snapshot(book) == before


def test_internal_error_alerts_and_reraises(small, monkeypatch):
    book = fx.Book.from_xlsx(small)

    def boom(*_a, **_k):
        raise RuntimeError("bug")
    monkeypatch.setattr(excel, "build_report", boom)
    with pytest.raises(RuntimeError):
        excel.run(book, as_of=AS_OF)
    assert "internal error" in book.app.alerts[0]["prompt"]
    assert book.added == []


def test_used_range_not_at_a1_keeps_excel_rows(tmp_path):
    path = write_book(tmp_path / "Offset.xlsx", {"Invoices": INVOICES}, at=(4, 2))
    book = fx.Book.from_xlsx(path)
    assert book.sheets["Invoices"].used_range.address == "$C$5:$I$9"
    grid = excel.LiveBook(book).grid("Invoices")
    assert grid.rows[4][2] == "Invoice" and grid.rows[5][2] == "INV-1"
    assert all(r == [] for r in grid.rows[:4])
    result, _sheets = expected_sheets(path)
    excel.run(book, as_of=AS_OF)
    disc = book.sheets["Reconciliation"]
    assert "Invoices row 6" in set(disc.cells.values())
    assert any(t == "#'Invoices'!A6" for t in disc.hyperlinks.values())


def test_live_read_equals_file_read(clinic):
    """The adapter hands the reader the same tables the file reader makes."""
    from engine.read.workbook import read_book

    book = fx.Book.from_xlsx(clinic.workbook)
    live = read_book(excel.LiveBook(book), Path(book.name))
    file = read_workbook(clinic.workbook)
    assert live.sheet_names == file.sheet_names
    for name, table in file.tables.items():
        pd.testing.assert_frame_equal(live.tables[name], table, check_dtype=False)


def test_an_excel_error_cell_is_told_as_the_error_it_shows(tmp_path):
    """A failed XLOOKUP (#N/A) in a payment's amount: the live read says what the file read
    says — the cell shows #N/A — rather than calling the amount missing."""
    path = tmp_path / "Lookup.xlsx"
    write_book(path, {"Invoices": INVOICES, "Payments": PAYMENTS})
    with zipfile.ZipFile(path) as zin:
        items = [(item, zin.read(item.filename)) for item in zin.infolist()]
    with zipfile.ZipFile(path, "w") as zout:
        for item, data in items:
            if item.filename == "xl/worksheets/sheet2.xml":  # Payments: H3 (PAY-2's amount)
                data, n = re.subn(rb'<c r="H3"([^>]*)><v>[^<]*</v></c>',
                                  rb'<c r="H3"\1 t="e"><f>XLOOKUP(A3,X:X,Y:Y)</f><v>#N/A</v></c>',
                                  data)
                assert n == 1
            zout.writestr(item, data)
    book = fx.Book.from_xlsx(path)
    assert book.sheets["Payments"].range((3, 8)).value is None  # as xlwings reads it by default
    message = excel.run(book, as_of=AS_OF)
    said = "Payments row 3, column Amount: the cell shows the Excel error #N/A"
    disc = book.sheets["Discrepancies"]
    assert any(isinstance(v, str) and v.startswith(said) for v in disc.cells.values())
    assert message.startswith("Reconciled") and "Discrepancies" in message
    file = read_workbook(path)
    assert file.invalid["explanation"].str.startswith(said).sum() == 1


def test_engine_excel_imports_and_runs_without_python_calamine(small):
    """xlwings Lite runs in Pyodide, which has no python-calamine wheel."""
    code = (
        "import sys; sys.modules['python_calamine'] = None\n"
        "sys.path.insert(0, %r)\n"
        "import engine.excel as e\n"
        "import fake_xlwings as fx\n"
        "book = fx.Book.from_xlsx(%r)\n"
        "msg = e.run(book, as_of='2026-03-31')\n"
        "real = sys.modules.get('python_calamine')\n"
        "assert real is None or getattr(real, '__recon_placeholder__', False), real\n"
        "assert 'Recon Summary' in [s.name for s in book.sheets], msg\n"
        "print('ok')\n" % (str(Path(__file__).parent), str(small)))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_message_without_findings():
    class R:
        findings = pd.DataFrame({"severity": pd.Series([], dtype=object),
                                 "type": pd.Series([], dtype=object)})

        class ctx:
            invoice_totals = pd.DataFrame(index=range(3))
            payments = pd.DataFrame(index=range(2))
            as_of = pd.Timestamp("2026-03-31")
    msg = excel.summary_message(R())
    assert msg.startswith("Reconciled 3 invoices and 2 payments as of 2026-03-31.")
    assert "No findings" in msg


def test_cell_value_helpers():
    s = pd.Series([12345, -5, pd.NA, 0], dtype="Int64")
    assert excel.cell_values("money", s) == [123.45, -0.05, None, 0.0]
    assert excel.cell_values("text", pd.Series(["=1+1", None, "00100"], dtype=object)) == \
        ["'=1+1", None, "'00100"]
    d = pd.Series(pd.to_datetime(["2026-01-02", None, "1899-12-31"]))
    assert excel.cell_values("date", d) == [dt.datetime(2026, 1, 2), None, "'1899-12-31"]
    assert excel.runs(["a", "a", "b", None, None]) == [(0, 2, "a"), (2, 3, "b"), (3, 5, None)]
    assert excel.consecutive([0, 1, 2, 5, 7, 8]) == [(0, 3), (5, 6), (7, 9)]
    assert excel.parse_marker('="Recon Summary/Aging"') == ["Recon Summary", "Aging"]
    assert excel.parse_marker(excel.marker_formula(['Sheet "x"', "Aging"])) == \
        ['Sheet "x"', "Aging"]
    assert np.isclose(excel.argb_to_rgb("FFFFC7CE"), (255, 199, 206)).all()


def test_widths_from_cell_values_are_the_file_writers():
    """excel.column_width measures the cell values it writes; sx.column_width measures the
    Series. Same rule, same widths, whatever the column holds."""
    from engine.write.model import Column
    columns = {
        "text": [pd.Series(["a", None, "=SUM(A1)", "x" * 70], dtype=object),
                 pd.Series(["", None], dtype="str"), pd.Series([None, None], dtype=object),
                 pd.Series([12, 3.5, None], dtype=object), pd.Series(["y" * 40000], dtype="str"),
                 pd.Series([], dtype="str")],
        "money": [pd.Series([12345, -99999999, pd.NA, 0], dtype="Int64"),
                  pd.Series([0, 0], dtype="Int64"), pd.Series([pd.NA], dtype="Int64"),
                  pd.Series([-5, 2**53 + 1], dtype="Int64"), pd.Series([None], dtype=object)],
        "int": [pd.Series([7, -1234567, pd.NA], dtype="Int64"), pd.Series([0], dtype="Int64")],
        "date": [pd.Series(pd.to_datetime(["2026-01-02", None]))],
        "percent": [pd.Series([0.5, np.nan])],
    }
    for kind, series_list in columns.items():
        for s in series_list:
            values = excel.cell_values(kind, s)
            for header in ("x", "A much longer header", "h" * 80):
                for width in (None, 9.5):
                    col = Column("c", kind, width)
                    assert excel.column_width(col, s, values, header) == \
                        sx.column_width(col, s, header), (kind, s.tolist(), header, width)


def test_cell_values_of_dates_keep_the_calendar_day_and_time():
    ns = pd.Series(pd.to_datetime(["1969-12-31 23:59:59.999999999", "2026-03-31 10:15:30.5",
                                   None, "1900-02-28 23:59", "1900-03-01"], format="ISO8601"))
    assert excel.cell_values("date", ns) == [dt.datetime(1969, 12, 31), dt.datetime(2026, 3, 31),
                                             None, "'1900-02-28", dt.datetime(1900, 3, 1)]
    assert excel.cell_values("datetime", ns) == [
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999), dt.datetime(2026, 3, 31, 10, 15, 30, 500000),
        None, "'1900-02-28 23:59", dt.datetime(1900, 3, 1)]
    tz = pd.Series(pd.to_datetime(["2026-03-31 23:30"]).tz_localize("America/New_York"))
    assert excel.cell_values("date", tz) == [dt.datetime(2026, 3, 31)]
    assert excel.cell_values("datetime", tz) == [dt.datetime(2026, 3, 31, 23, 30)]
    assert excel.cell_values("percent", pd.Series([0.25, np.nan, np.inf, "x"], dtype=object)) == \
        [0.25, None, None, None]
    assert excel.cell_values("text", pd.Series(["a", None, "=1"], dtype="str")) == \
        ["'a", None, "'=1"]


def test_link_formulas_quote_sheet_names_and_texts():
    from engine.write.model import Block, Column, Link, ResultSheet
    data = pd.DataFrame({"Source": ['say "hi"', "x" * 300, None, "plain"]})
    block = Block("T", (Column("Source"),), data,
                  links=(Link("Source", pd.Series(["O'Brien \"B\"", "Invoices", "Invoices", None]),
                              pd.Series([12, 3.0, 4, 5])),))
    bl = sx.plan_layout(ResultSheet("R", (block,))).blocks[0]
    [(col, rows, formulas)] = excel.link_formulas(block, bl)
    assert (col, rows) == (0, [0, 1])
    assert formulas == ['=HYPERLINK("#\'O\'\'Brien ""B""\'!A12","say ""hi""")',
                        '=HYPERLINK("#\'Invoices\'!A3","' + "x" * 255 + '")']


# --------------------------------------------------------------------------- real xlwings

def _excel_available() -> bool:
    if sys.platform not in ("win32", "darwin"):
        return False
    try:
        import xlwings as xw
        return xw.apps.count >= 0
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.skipif(not _excel_available(), reason="needs Excel (Windows or macOS)")
def test_real_excel(small):
    import xlwings as xw

    with xw.App(visible=False, add_book=False) as app:
        book = app.books.open(str(small))
        app.display_alerts = False
        messages = []
        book.app.alert = lambda prompt, **kw: messages.append(prompt)  # no modal dialog in CI
        excel.run(book, as_of=AS_OF)
        _result, sheets = expected_sheets(small)
        for rs in sheets:
            layout = sx.plan_layout(rs)
            sheet = book.sheets[rs.name]
            for block, bl in zip(rs.blocks, layout.blocks):
                if block.table_name == "ReconInputs":
                    continue
                got = sheet.range((bl.header_row, 1), (bl.header_row + bl.n_rows, bl.n_cols)) \
                    .options(ndim=2).value
                assert got[0] == list(bl.headers)
                for i, col in enumerate(block.columns):
                    want = [expected_cell(col.kind, v) for v in block.data[col.name].tolist()]
                    assert [r[i] for r in got[1:]] == want
        book.close()
    assert messages and "findings" in messages[0]


@pytest.mark.skipif(not os.environ.get("XLWINGS_LICENSE_KEY"),
                    reason="xlwings' JSON-backed Book needs XLWINGS_LICENSE_KEY")
def test_real_xlwings_json_book(small):
    """The same run through xlwings' own remote engine (what xlwings Lite/Server use): the
    adapter must only use calls that engine implements; the actions it queues are checked."""
    import xlwings as xw

    fake = fx.Book.from_xlsx(small)
    sheets = []
    for s in fake.sheets:
        used = s.used_range
        values = used.options(ndim=2).value if s.cells else [[None]]
        values = [[v.isoformat() if isinstance(v, dt.datetime) else v for v in row]
                  for row in values]
        sheets.append({"name": s.name, "values": values, "pictures": [], "tables": [],
                       "charts": [], "shapes": [], "pivot_tables": [], "notes": [],
                       "used_range_address": used.address.replace("$", ""),
                       "show_gridlines": True, "visibility": "Visible"})
    payload = {"client": "Office.js", "version": xw.__version__,
               "book": {"name": small.name, "active_sheet_index": 0, "selection": "A1"},
               "names": [], "sheets": sheets}
    book = xw.Book(json=payload)
    book.app.alert = lambda prompt, **kw: None
    excel.run(book, as_of=AS_OF)
    actions = book.json()["actions"]
    funcs = {a["func"] for a in actions}
    assert {"addSheet", "setValues", "setNumberFormat", "addTable", "namesAdd"} <= funcs
    assert not any(a["func"] in ("setValues",) and a["sheet_position"] is not None
                   and a["sheet_position"] < len(sheets) for a in actions)


def test_money_cells_are_the_doubles_of_int_division_beyond_float_precision():
    """numpy divides the cents while they convert to float64 exactly; larger ones as ints."""
    cents = [1, -5, 12345, 2**53, -(2**53), 2**53 + 1, 2**62 + 12345, -(2**63) + 1]
    for chunk in (cents[:5], cents):
        s = pd.Series(chunk + [None], dtype="Int64")
        values = excel.cell_values("money", s)
        assert values == [c / 100 for c in chunk] + [None]
        assert all(type(v) is float for v in values[:-1])


def test_a_click_pauses_the_cycle_collector_and_restores_it():
    import gc
    seen = []
    with excel._collector_paused():
        seen.append(gc.isenabled())
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        with excel._collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
