"""Read every input sheet of a billing workbook, Settings first (it changes how the rest reads).

Also reads back the engine's own previous `Discrepancies` sheet, so that what staff typed into
Status / Owner / Note (and any columns they added at the right) follows each finding ID into the
next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd

from engine.errors import InputError
from engine.findings import COLUMNS as FINDING_HEADERS
from engine.ids import cell_text
from engine.read.grid import Grid, Workbook
from engine.read.memory import paused_gc, release_free_memory
from engine.read.sheets import empty_table, read_sheet
from engine.settings import Settings, parse_settings
from engine.tables import SHEETS

DISCREPANCIES_SHEET = "Discrepancies"


@dataclass
class Inputs:
    path: Path
    settings: Settings
    tables: dict[str, pd.DataFrame]
    invalid: pd.DataFrame  # INVALID_ROW findings from all sheets
    sheet_names: dict[str, str] = field(default_factory=dict)  # canonical → name in the workbook
    previous: pd.DataFrame = field(default_factory=pd.DataFrame)  # staff columns by finding ID
    staff_rows: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows staff added themselves
    # by sheet: rows left out because a required cell could not be read (what could be read)
    left_out: dict[str, pd.DataFrame] = field(default_factory=dict)


def _settings(book: Workbook, file: str) -> Settings:
    name = book.find("Settings")
    if name is None:
        return Settings()
    read = read_sheet(book.grid(name), "Settings", Settings(), file)
    t = read.table
    try:
        return parse_settings(list(zip(t["key"].tolist(), t["value"].tolist(), t["row"].tolist())))
    except InputError as exc:  # say which file, and the sheet as the workbook names it
        raise InputError(exc.message, file=file, sheet=name, row=exc.row,
                         column=exc.column) from None


def read_previous_findings(book: Workbook) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Staff columns of the last run's Discrepancies sheet: (by ID, rows without a known ID)."""
    name = book.find(DISCREPANCIES_SHEET)
    if name is None:
        return pd.DataFrame(), pd.DataFrame()
    rows = book.grid(name).rows
    header_r = next((i for i, r in enumerate(rows[:10])
                     if any(str(v).strip() == "ID" for v in r)
                     and any(str(v).strip() == "Type" for v in r)), None)
    if header_r is None:
        return pd.DataFrame(), pd.DataFrame()
    header = [str(v).strip() for v in rows[header_r]]
    body = rows[header_r + 1:]
    if not body:
        return pd.DataFrame(), pd.DataFrame()
    frame = pd.DataFrame(body, dtype="object").reindex(columns=range(len(header)))
    frame.columns = [h if h else f"Column {i + 1}" for i, h in enumerate(header)]
    frame = frame.loc[:, ~pd.Index(frame.columns).duplicated()]
    contract = {h for _n, h, _k in FINDING_HEADERS}
    keep = ["ID"] + [h for h in ("Status", "Owner", "Note") if h in frame]
    extra = [c for c in frame.columns if c not in contract and not c.startswith("Column ")]
    # the writer escapes a literal `_xHHHH_` in text as `_x005F_xHHHH_`; readers return it raw
    text = pd.DataFrame({c: cell_text(frame[c]).str.replace("_x005F_", "_", regex=False)
                         for c in frame.columns})
    staff = text[keep + extra]
    has_id = text["ID"].notna()
    by_id = staff[has_id].drop_duplicates("ID").set_index("ID")
    others = text[~has_id & text.notna().any(axis=1)]
    return by_id, others


class Book(Protocol):
    """What the reader needs of a workbook: a file (engine.read.grid.Workbook) or a live Excel
    workbook (engine.excel) alike."""

    sheet_names: list[str]

    def find(self, wanted: str) -> str | None: ...
    def grid(self, sheet: str) -> Grid: ...


def read_book(book: Book, path: Path) -> Inputs:
    """Read every input sheet of an open book; `path` names it in messages and sources."""
    settings = _settings(book, path.name)
    tables: dict[str, pd.DataFrame] = {}
    invalid: list[pd.DataFrame] = []
    left_out: dict[str, pd.DataFrame] = {}
    names: dict[str, str] = {}
    with paused_gc():  # a list per row, millions of cells: see engine.read.memory
        for sheet in SHEETS:
            if sheet == "Settings":
                continue
            actual = book.find(sheet)
            if actual is None:
                if sheet == "Invoices":
                    raise InputError("the workbook has no sheet named Invoices (the one sheet "
                                     "the engine needs)", file=path.name)
                tables[sheet] = empty_table(sheet)
                continue
            names[sheet] = actual
            read = read_sheet(book.grid(actual), sheet, settings, path.name)
            tables[sheet] = read.table
            if len(read.invalid):
                invalid.append(read.invalid)
            if len(read.left_out):
                left_out[sheet] = read.left_out
    previous, staff_rows = read_previous_findings(book)
    invalid_df = pd.concat(invalid, ignore_index=True) if invalid else pd.DataFrame()
    return Inputs(path, settings, tables, invalid_df, names, previous, staff_rows, left_out)


def read_settings(path: Path) -> Settings:
    """Only the Settings sheet (cheap): for deciding where a workbook's remittances are."""
    book = Workbook(Path(path))
    try:
        return _settings(book, Path(path).name)
    finally:
        book.close()


def read_workbook(path: Path) -> Inputs:
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise InputError("expected an Excel workbook (.xlsx or .xlsm)", file=path.name)
    book = Workbook(path)
    try:
        return read_book(book, path)
    finally:
        book.close()
        release_free_memory()
