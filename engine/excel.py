"""The Excel button: reconcile the workbook that is open in Excel, through xlwings.

One entry point, `run(book)`, takes an xlwings `Book` — classic xlwings (Excel on Windows or macOS
with a local Python, called from the template's **Reconcile** button via `RunPython`) or xlwings
Lite (Python inside Excel via Pyodide, called from `workbooks/lite/main.py`). It:

1. reads the input sheets as they are on screen, saved or not (`LiveBook` gives the reader the
   same `sheet_names` / `find` / `grid` protocol a file gives it, so `engine.read.workbook.read_book`
   does all the reading; python-calamine is not used on this path, which is what lets it run under
   Pyodide);
2. runs the same `engine.pipeline.reconcile` as the command line (835 files only when the
   Settings `remit_folder` exists beside the saved workbook; the Remittances sheet always);
3. builds the result sheets with `engine.results.build_report` + `result_sheets` — the very
   `ResultSheet` descriptions the file writer writes — and lays them out with the file writer's
   `engine.write.sheetxml.plan_layout`, `NUMBER_FORMATS`, `SEVERITY_COLOURS` and `column_width`
   (its rule applied to the cell values being written, which is cheaper than its pandas calls),
   so a sheet written here has the same cells, at the same places, as one written by `recon run`;
4. ends with `book.app.alert`: counts by severity and where to look, or, for bad input, the one
   sentence from `InputError.describe()` naming sheet, row and column.

Rules it keeps (they are what make it safe in a staff workbook and portable to xlwings Lite):

- only public xlwings API that classic xlwings and xlwings Lite both implement: `sheets`,
  `sheets.add`, `sheet.delete`, `used_range`, `range(...).options(ndim=2, err_to_str=True).value`
  (xlwings 0.28+, both engines), `range.value =`,
  `number_format`, `color`, `font`, `column_width`, `tables.add`, `freeze_panes.freeze_at`,
  `names.add` / `Name.refers_to`, `app.alert`; never `.api`, and never a read of a cell it wrote;
- it writes nothing outside its result sheets. Which sheets are its own is recorded exactly as
  the file writer records it: the workbook-level defined name `ReconEngine.ResultSheets`. A sheet
  that has a result sheet's name but is not on that list is the staff's: the run stops, before
  writing anything, with an alert saying so;
- every text value is written with Excel's leading-apostrophe text prefix, so `=SUM(A1)`,
  `+1`, `00100` or `03/15` typed by staff comes back as the same inert text (never a formula,
  number or date). The only formulas written are the engine's own `=HYPERLINK("#'Sheet'!A12", …)`
  source links, built from the workbook's sheet names with quotes escaped;
- money is integer cents up to this boundary. Excel cells hold doubles, so each amount becomes the
  double nearest its exact decimal: `12345 / 100` on Python ints, which is correctly rounded, gives
  `123.45`, the same number Excel stores for the file writer's `<v>123.45</v>`. No arithmetic
  happens on the floats;
- severity colours are fills on runs of rows (batched: the findings are sorted by severity, so a
  sheet needs a handful of calls), where the file writer uses conditional formats; the colours are
  the same `SEVERITY_COLOURS`.

A replaced result sheet is deleted and added again at the same position (xlwings has no public
way to delete an Excel table, and a cleared sheet could keep a stale one); formulas in staff sheets
that point into a result sheet therefore show #REF! after a click, where the file writer keeps them.
The summary's two charts are not drawn by the button (their placement needs cell geometry, which
xlwings Lite cannot read synchronously); everything else matches the file writer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import importlib.util
import logging
import sys
import types
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _calamine_missing() -> bool:
    try:
        return importlib.util.find_spec("python_calamine") is None
    except (ImportError, ValueError):  # blocked (sys.modules entry None) or a broken install
        return True


if _calamine_missing():  # pragma: no cover - exercised in a subprocess by the tests
    # Pyodide (xlwings Lite) has no python-calamine wheel. engine.read.grid imports it at module
    # level for the file reader, which this path never uses; a placeholder lets the shared reader
    # modules import. (Once engine.read.grid imports it lazily, this branch is never taken.)
    _placeholder = types.ModuleType("python_calamine")

    class CalamineWorkbook:  # noqa: D101 - placeholder
        @classmethod
        def from_path(cls, *_a, **_k):
            raise ImportError("python-calamine is not installed: reading .xlsx files needs it "
                              "(the Excel button reads through xlwings instead)")

    _placeholder.CalamineWorkbook = CalamineWorkbook
    _placeholder.__recon_placeholder__ = True
    sys.modules["python_calamine"] = _placeholder

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from engine.errors import InputError  # noqa: E402
from engine.pipeline import Result, reconcile  # noqa: E402
from engine.read.grid import Grid, Workbook  # noqa: E402
from engine.read.workbook import read_book  # noqa: E402
from engine.results import build_report, result_sheets  # noqa: E402
from engine.write import sheetxml as sx  # noqa: E402
from engine.write.model import Block, Column, ResultSheet  # noqa: E402

log = logging.getLogger("engine")

TITLE = "Reconcile"
MARKER_NAME = "ReconEngine.ResultSheets"  # the same defined name engine.write.xlsx keeps
MARKER_SEP = "/"  # cannot occur in a sheet name
LINK_FONT = (0x05, 0x63, 0xC1)
TITLE_FONT_SIZE = 14
EXCEL_TEXT_PREFIX = "'"
_EARLIEST_DATE = pd.Timestamp("1900-03-01")  # before it, serials are ambiguous: written as text


# =========================================================================== reading

class LiveBook:
    """The reader's Book protocol (`sheet_names`, `find`, `grid`) over an open xlwings Book.

    Each sheet is read with one call (`used_range`), padded so that row 0 of the Grid is Excel's
    row 1 and column 0 is column A, whatever corner the used range starts at.
    """

    def __init__(self, book: Any):
        self.book = book
        self.sheet_names: list[str] = [s.name for s in book.sheets]

    def find(self, wanted: str) -> str | None:
        target = Workbook._fold(wanted)  # the file reader's matching rule, shared
        for name in self.sheet_names:
            if Workbook._fold(name) == target:
                return name
        return None

    def grid(self, sheet: str) -> Grid:
        return Grid(sheet, sheet_rows(self.book.sheets[sheet]))


def sheet_rows(sheet: Any) -> list[list]:
    """All values of a sheet as rows, Excel-aligned (row 0 = row 1, column 0 = column A)."""
    used = sheet.used_range
    # an error cell (#N/A from a lookup) comes as its text, so the reader can say what it shows
    values = used.options(ndim=2, err_to_str=True).value
    if values is None:
        return []
    top, left = int(used.row), int(used.column)
    rows: list[list] = [[] for _ in range(top - 1)]
    pad = [None] * (left - 1)
    rows.extend([pad + list(r) for r in values] if pad else values)
    # a sheet with nothing in it reports A1 as its used range, holding None
    if len(rows) == 1 and all(v is None or v == "" for v in rows[0]):
        return []
    return rows


# =========================================================================== the run

@dataclass
class Outcome:
    result: Result
    sheets: list[ResultSheet]
    written: list[str]
    message: str


def book_path(book: Any) -> Path:
    """The workbook's name as messages and sources show it (`Billing.xlsx`)."""
    return Path(str(book.name))


def _saved_folder(book: Any) -> Path | None:
    """The folder of the saved workbook on this computer, or None (unsaved, web, SharePoint)."""
    try:
        full = str(book.fullname)
    except Exception:  # noqa: BLE001 - some hosts cannot say; then there is no folder
        return None
    if "://" in full:
        return None
    parent = Path(full).parent
    return parent if str(parent) not in ("", ".") and parent.is_dir() else None


def _remits(book: Any, folder_setting: str | None):
    """835 files from the Settings remit_folder, when it exists beside the saved workbook."""
    if not folder_setting:
        return None, [], None
    base = _saved_folder(book)
    folder = Path(folder_setting)
    if not folder.is_absolute():
        folder = base / folder if base is not None else None
    if folder is None or not folder.is_dir():
        return None, [], (f"The remit_folder in Settings ({folder_setting}) was not found from "
                          "Excel, so only the Remittances sheet was used for insurance payments.")
    from engine.pipeline import sha256
    from engine.runner import remit_files
    from engine.x12 import read_remits

    files = remit_files([folder])
    remit = read_remits([folder], base or folder) if files else None
    return remit, [(f.name, "835 remittance", sha256(f)) for f in files], None


def reconcile_book(book: Any, *, as_of: Any = None,
                   run_date: pd.Timestamp | None = None) -> tuple[Result, list[ResultSheet], str | None]:
    """Read the live book and build its result sheets (nothing is written)."""
    as_of = pd.Timestamp(as_of if as_of is not None else dt.date.today()).normalize()
    path = book_path(book)
    inputs = read_book(LiveBook(book), path)
    remit, files, note = _remits(book, inputs.settings.remit_folder)
    result = reconcile(inputs, as_of, remit)
    result.files = [(path.name, "workbook (read live from Excel)", "")] + files
    report = build_report(result)
    run_date = run_date if run_date is not None else pd.Timestamp.now().floor("min")
    return result, result_sheets(report, result, run_date), note


def run(book: Any, *, as_of: Any = None) -> str:
    """Reconcile the open workbook, write its result sheets, say what was found. Returns the
    message shown. Bad input: the alert names sheet, row and column, and nothing is written.
    Anything else is a bug: a short alert, then the exception goes on (traceback = bug report)."""
    try:
        with _collector_paused():
            outcome = _run(book, as_of)
    except InputError as exc:
        message = exc.describe() + "\n\nNothing in the workbook was changed."
        log.warning("reconcile stopped: %s", exc.describe())
        book.app.alert(message, title=TITLE, mode="critical")
        return message
    except Exception:
        log.exception("internal error in the Excel button")
        book.app.alert("Recon stopped with an internal error (a bug, not a problem with your "
                       "workbook). The details are in the Python log; please send them to "
                       "whoever looks after Recon.", title=TITLE, mode="critical")
        raise
    book.app.alert(outcome.message, title=TITLE, mode="info")
    return outcome.message


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector off for one click. A click allocates hundreds of thousands of
    small containers (cell rows, Python values), so the collector runs often, and each full
    collection walks every object the process holds, the workbook's values included: about a
    tenth of a click. Reference counting still frees all that is not in a cycle; the few cycles
    wait for the first collection after the click."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def main() -> str:
    """`RunPython "import engine.excel; engine.excel.main()"`: the calling workbook."""
    import xlwings as xw

    return run(xw.Book.caller())


run_caller = main


def _run(book: Any, as_of: Any) -> Outcome:
    result, sheets, note = reconcile_book(book, as_of=as_of)
    owned = owned_sheets(book)
    check_ownership(book, sheets, owned)
    written = write_sheets(book, sheets, owned)
    return Outcome(result, sheets, written, summary_message(result, note))


def summary_message(result: Result, note: str | None = None) -> str:
    f = result.findings
    t = result.ctx.invoice_totals
    counts = Counter(f["severity"].tolist())
    by_sev = ", ".join(f"{counts[s]} {s}" for s in sx.SEVERITIES if s in counts)
    lines = [f"Reconciled {len(t)} invoices and {len(result.ctx.payments)} payments as of "
             f"{result.ctx.as_of:%Y-%m-%d}."]
    if len(f):
        lines.append(f"{len(f)} findings: {by_sev}.")
        first = next((s for s in sx.SEVERITIES if s in counts), None)
        lines.append(f"Start with the Discrepancies sheet (filter Severity on {first}); "
                     "totals are on Recon Summary, open balances by age on Aging.")
        invalid = f["type"].tolist().count("INVALID_ROW")
        if invalid:
            lines.append(f"{invalid} cells could not be read: see the INVALID_ROW findings, "
                         "which name the sheet, row and column.")
    else:
        lines.append("No findings: everything adds up. Totals are on Recon Summary.")
    if note:
        lines.append(note)
    return "\n".join(lines)


# =========================================================================== ownership

def _names(book: Any) -> Iterable[Any]:
    try:
        return list(book.names)
    except Exception:  # noqa: BLE001 - a host without names support: nothing is ours yet
        return []


def _marker(book: Any) -> Any | None:
    for name in _names(book):
        if str(name.name).split("!")[-1] == MARKER_NAME:
            return name
    return None


def parse_marker(refers_to: str | None) -> list[str]:
    """`="Recon Summary/Discrepancies"` → the sheet names (the file writer's format)."""
    if not refers_to:
        return []
    text = str(refers_to).strip()
    if text.startswith("="):
        text = text[1:].strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('""', '"')
    return [n for n in text.split(MARKER_SEP) if n]


def marker_formula(names: Iterable[str]) -> str:
    return '="' + MARKER_SEP.join(names).replace('"', '""') + '"'


def owned_sheets(book: Any) -> list[str]:
    m = _marker(book)
    return parse_marker(m.refers_to) if m is not None else []


def check_ownership(book: Any, sheets: list[ResultSheet], owned: list[str]) -> None:
    mine = {n.casefold() for n in owned}
    for s in sheets:
        for existing in (sh.name for sh in book.sheets):
            if existing.casefold() == s.name.casefold() and existing.casefold() not in mine:
                raise InputError(f"the workbook already has a sheet named {existing!r} that "
                                 "Recon did not write; rename that sheet (Recon writes its "
                                 "results there) and click Reconcile again", sheet=existing)


# =========================================================================== writing

def write_sheets(book: Any, sheets: list[ResultSheet], owned: list[str]) -> list[str]:
    """Add or replace each result sheet; record them as Recon's; return the names written."""
    existing = {sh.name.casefold(): sh for sh in book.sheets}
    written = []
    taken_tables = _table_names(book, {s.name.casefold() for s in sheets})
    for s in sheets:
        old = existing.get(s.name.casefold())
        if old is not None:
            index = old.index  # 1-based
            old.delete()
            count = len(book.sheets)
            target = (book.sheets.add(name=s.name, before=book.sheets[index - 1])
                      if index <= count else
                      book.sheets.add(name=s.name, after=book.sheets[count - 1]))
        else:
            target = book.sheets.add(name=s.name, after=book.sheets[len(book.sheets) - 1])
        write_sheet(target, s, taken_tables)
        written.append(s.name)
    keep = [n for n in owned if n.casefold() not in {w.casefold() for w in written}]
    formula = marker_formula(keep + written)
    m = _marker(book)
    if m is not None:
        m.refers_to = formula
    else:
        book.names.add(MARKER_NAME, formula)
    first = book.sheets[sheets[0].name] if sheets else None
    if first is not None:
        first.activate()
    return written


def _table_names(book: Any, replaced: set[str]) -> set[str]:
    """Table names in use outside the sheets about to be replaced (they must stay unique)."""
    taken: set[str] = set()
    for sh in book.sheets:
        if sh.name.casefold() in replaced:
            continue
        try:
            taken.update(t.name.casefold() for t in sh.tables)
        except Exception:  # noqa: BLE001 - a host without tables support
            pass
    return taken


def _table_name(wanted: str, taken: set[str]) -> str:
    name, n = wanted, 2
    while name.casefold() in taken:
        name, n = f"{wanted}_{n}", n + 1
    taken.add(name.casefold())
    return name


def write_sheet(sheet: Any, rs: ResultSheet, taken_tables: set[str]) -> None:
    """Lay one ResultSheet out exactly where the file writer puts its cells."""
    layout = sx.plan_layout(rs)
    if rs.notes:
        sheet.range((layout.notes_rows[0], 1)).value = [[_text(n)] for n in rs.notes]
    widths: dict[int, float] = {}
    for block, bl in zip(rs.blocks, layout.blocks):
        for i, w in enumerate(write_block(sheet, block, bl, taken_tables)):
            widths[i] = max(widths.get(i, 0.0), w)
    for i, w in sorted(widths.items()):
        sheet.range((1, i + 1)).column_width = round(w, 2)
    if layout.freeze_row:
        sheet.freeze_panes.freeze_at(f"1:{layout.freeze_row}")


def write_block(sheet: Any, block: Block, bl: sx.BlockLayout,
                taken_tables: set[str]) -> list[float]:
    """Write one block; return its column widths (the file writer's `column_width`)."""
    if bl.title_row is not None:
        title = sheet.range((bl.title_row, 1))
        title.value = _text(block.title or "")
        title.font.bold = True
        title.font.size = TITLE_FONT_SIZE
    n, m = bl.n_rows, bl.n_cols
    columns, widths = [], []
    for col, header in zip(block.columns, bl.headers):
        series = block.data[col.name]
        values = cell_values(col.kind, series)
        columns.append(values)
        widths.append(column_width(col, series, values, header))
    links = link_formulas(block, bl)
    for col_idx, rows, formulas in links:
        column = columns[col_idx]
        for r, f in zip(rows, formulas):
            column[r] = f
    values = [list(bl.headers)] + [list(row) for row in zip(*columns)] if n else [list(bl.headers)]
    sheet.range((bl.header_row, 1)).value = values
    if n:
        # number formats per column, on the data rows only (as the file writer's cell styles)
        for i, col in enumerate(block.columns):
            code = sx.NUMBER_FORMATS.get(col.kind)
            if code:
                sheet.range((bl.first_data_row, i + 1), (bl.last_row, i + 1)).number_format = code
        if block.severity_column:
            sev = block.data[block.severity_column].astype("object").where(
                block.data[block.severity_column].notna(), None).tolist()
            for lo, hi, value in runs(sev):
                colours = sx.SEVERITY_COLOURS.get(str(value).strip().lower()) if value else None
                if colours is None:
                    continue
                rng = sheet.range((bl.first_data_row + lo, 1), (bl.first_data_row + hi - 1, m))
                rng.color = argb_to_rgb(colours[0])
                rng.font.color = argb_to_rgb(colours[1])
        for col_idx, rows, _ in links:
            for lo, hi in consecutive(rows):
                sheet.range((bl.first_data_row + lo, col_idx + 1),
                            (bl.first_data_row + hi - 1, col_idx + 1)).font.color = LINK_FONT
    source = sheet.range((bl.header_row, 1), (bl.last_row, m))
    sheet.tables.add(source=source, name=_table_name(block.table_name, taken_tables),
                     table_style_name=sx.TABLE_STYLE, has_headers=True)
    return widths


def column_width(col: Column, series: pd.Series, values: list, header: str) -> float:
    """`sx.column_width`, with what it measures taken from the column's cell values: the longest
    text less its prefix (one cut at Excel's cell limit is far wider than any column), the
    largest amount (its double is exactly the cents / 100 the file writer formats) or count,
    then the file writer's own rule (a test holds the two equal). Measuring the written values
    skips the pandas calls whose fixed cost per column was most of what a click spent on widths."""
    if col.width is not None or col.kind not in ("text", "money", "int"):
        return sx.column_width(col, series, header)
    cells = filter(None, values)  # not the empty cells, nor zeros (a maximum never needs them)
    if col.kind == "text":
        data = max(map(len, cells), default=len(EXCEL_TEXT_PREFIX)) - len(EXCEL_TEXT_PREFIX)
    elif col.kind == "money":
        data = sx.money_width(max(map(abs, cells), default=0.0))
    else:
        data = sx.count_width(max(map(abs, cells), default=0))
    return sx.fitted_width(data, header)


# --------------------------------------------------------------------------- cell values

def _text(value: Any) -> str:
    """A text cell: Excel's text prefix, so nothing typed by staff turns into a formula, number
    or date; cut to Excel's cell limit."""
    return EXCEL_TEXT_PREFIX + str(value)[:sx.MAX_CELL_TEXT]


def _none_where(values: list, missing: np.ndarray) -> list:
    if not missing.any():
        return values
    return [None if gap else v for v, gap in zip(values, missing.tolist())]


_EXACT_CENTS = 2 ** 53  # int64 → float64 is exact up to it, so cents / 100 rounds once, as on ints


def cell_values(kind: str, series: pd.Series) -> list:
    """One column of a block as Python cell values for `range.value`."""
    if kind == "money":  # int / int is correctly rounded: the double nearest the exact decimal
        cents = series.to_numpy(dtype="int64", na_value=0)
        if (np.abs(cents) <= _EXACT_CENTS).all():  # then numpy's float64 division is the same
            amounts = (cents / 100).tolist()
        else:
            amounts = [c / 100 for c in cents.tolist()]
        return _none_where(amounts, series.isna().to_numpy())
    if kind == "int":
        return _none_where(series.to_numpy(dtype="int64", na_value=0).tolist(),
                           series.isna().to_numpy())
    if kind in ("date", "datetime"):
        ts = pd.to_datetime(series, errors="coerce")
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_localize(None)
        # numpy's casts floor, as `normalize` and `to_pydatetime` do; NaT becomes None
        stamps = ts.to_numpy().astype("datetime64[D]" if kind == "date" else "datetime64[us]")
        out = stamps.astype("datetime64[us]").tolist()
        early = stamps < _EARLIEST_DATE.to_datetime64()
        if early.any():  # as the file writer: ISO text, not an ambiguous serial
            text = ts[early].dt.strftime("%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M")
            for i, t in zip(np.flatnonzero(early).tolist(), text.tolist()):
                out[i] = _text(t)
        return out
    if kind in ("percent", "number"):
        floats = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return _none_where(floats.tolist(), ~np.isfinite(floats))
    limit = sx.MAX_CELL_TEXT  # as _text, inlined: a text column is tens of thousands of cells
    if isinstance(series.dtype, pd.StringDtype):  # a str or missing, nothing else
        return [EXCEL_TEXT_PREFIX + v[:limit] if type(v) is str else None
                for v in series.to_numpy(dtype=object).tolist()]
    present = series.notna().to_numpy().tolist()
    return [EXCEL_TEXT_PREFIX + (v if type(v) is str else str(v))[:limit] if p else None
            for v, p in zip(series.to_numpy(dtype=object).tolist(), present)]


def link_formulas(block: Block, bl: sx.BlockLayout) -> list[tuple[int, list[int], list[str]]]:
    """For each Link: (column index, block rows that link, HYPERLINK formulas), built only from
    the workbook's sheet names, row numbers and the cell's own text (all quoted: in a formula's
    string a quote is doubled)."""
    out = []
    names = [c.name for c in block.columns]
    for link in block.links:
        sheet, row, found = sx.link_rows(block, bl, link)
        sheets = list(map(str, sheet.to_numpy()[found]))
        # each formula up to its row number, `=HYPERLINK("#'Sheet'!A`, made once per sheet
        opening = {name: '=HYPERLINK("' + f"#{sx.quote_sheet(name)}!A".replace('"', '""')
                   for name in set(sheets)}
        rows = row.to_numpy()[found].astype(np.int64).tolist()
        # HYPERLINK's friendly name is limited to 255 characters
        shown = [str(t)[:255].replace('"', '""') for t in block.data[link.column].to_numpy()[found]]
        formulas = [f'{opening[s]}{r}","{t}")' for s, r, t in zip(sheets, rows, shown)]
        out.append((names.index(link.column), found.tolist(), formulas))
    return out


def runs(values: list) -> list[tuple[int, int, Any]]:
    """Maximal runs of equal values: (start, end exclusive, value)."""
    out = []
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            out.append((start, i, values[start]))
            start = i
    return out if values else []


def consecutive(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row indices → (start, end exclusive) runs of consecutive ones."""
    r = np.asarray(rows, dtype=np.int64)
    if not len(r):
        return []
    breaks = np.flatnonzero(np.diff(r) != 1) + 1
    starts = r[np.concatenate(([0], breaks))]
    ends = r[np.concatenate((breaks - 1, [len(r) - 1]))] + 1
    return list(zip(starts.tolist(), ends.tolist()))


def argb_to_rgb(argb: str) -> tuple[int, int, int]:
    h = argb[-6:]
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
