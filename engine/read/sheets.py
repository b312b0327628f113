"""One input sheet → one typed table, coping with how staff actually keep sheets.

The header row is found below title lines by scoring rows against the known header names; header
names are matched case-, space- and punctuation-insensitively against synonyms, with explicit
`column.<Sheet>.<Canonical>` mappings from Settings taking precedence. Blank rows and totals rows
are skipped; every other row is kept or, when a required value is missing or unreadable, turned
into an INVALID_ROW finding — never dropped silently, never read as zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.dates import to_dates
from engine.errors import InputError
from engine.ids import cell_text, normalize_key, normalize_name
from engine.money import to_cents
from engine.read.grid import Grid
from engine.settings import Settings
from engine.tables import SHEETS, Field, columns_of

HEADER_SCAN_ROWS = 30
_TOTAL_LABEL = re.compile(r"^\s*(grand\s*|sub\s*)?totals?\s*:?\s*$", re.IGNORECASE)


def _loose(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def _strict(text: str) -> str:
    t = text.lower().replace("#", "no").replace("number", "no")
    return re.sub(r"[^0-9a-z]", "", t)


@dataclass(frozen=True)
class SheetRead:
    table: pd.DataFrame
    invalid: pd.DataFrame  # INVALID_ROW findings
    header_row: int  # Excel row number of the header
    columns: dict[str, str]  # canonical field name → header text found


def _fold(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _names_for(field: Field, sheet: str, settings: Settings) -> tuple[list[str], list[str]]:
    # `column.Fee Schedule.Patient ID` names FeeSchedule's patient_id: fold spaces, case, `_`
    mapped = next((header for (s, c), header in settings.column_map.items()
                   if _fold(s) == _fold(sheet) and _fold(c) in (_fold(field.name),
                                                                _fold(field.header))), None)
    names = [field.header, field.name.replace("_", " "), *field.synonyms]
    return ([mapped] if mapped else []), names


def _match_columns(header: list, sheet: str, settings: Settings) -> dict[str, int]:
    texts = [str(h) if h not in (None, "") else "" for h in header]
    loose = [_loose(t) for t in texts]
    strict = [_strict(t) for t in texts]
    taken: set[int] = set()
    found: dict[str, int] = {}
    fields = SHEETS[sheet]
    # explicit mappings first, then exact (loose) names, then punctuation-insensitive names
    for stage in ("mapped", "loose", "strict"):
        for f in fields:
            if f.name in found:
                continue
            mapped, names = _names_for(f, sheet, settings)
            candidates = mapped if stage == "mapped" else names
            keyed = strict if stage == "strict" else loose
            fold = _strict if stage == "strict" else _loose
            for name in candidates:
                target = fold(name)
                hits = [i for i, k in enumerate(keyed) if k == target and i not in taken and k]
                if hits:
                    found[f.name] = hits[0]
                    taken.add(hits[0])
                    break
    return found


def _find_header(grid: Grid, sheet: str, settings: Settings) -> tuple[int, dict[str, int]]:
    best_row, best, best_score = -1, {}, 0
    for r, row in enumerate(grid.rows[:HEADER_SCAN_ROWS]):
        if not any(isinstance(v, str) and v.strip() for v in row):
            continue
        cols = _match_columns(row, sheet, settings)
        required = sum(1 for f in SHEETS[sheet] if f.required and f.name in cols)
        score = required * 100 + len(cols)
        if score > best_score:
            best_row, best, best_score = r, cols, score
    return best_row, best


def _empty_cells(col: pd.Series) -> pd.Series:
    # grid cells are str, numbers, dates, bools or None: only text can be blank without being NA
    blank = np.fromiter((isinstance(v, str) and not v.strip() for v in col.to_numpy()),
                        dtype=bool, count=len(col))
    return col.isna() | pd.Series(blank, index=col.index)


def _invalid(sheet: str, rows: pd.Series, column: str, message: pd.Series | str,
             severity: str, shown: str | None = None) -> pd.DataFrame:
    """INVALID_ROW findings; `shown` is the sheet's name in the workbook (canonical by default)."""
    rows = rows.astype(int)
    shown = shown or sheet
    msg = message if isinstance(message, pd.Series) else pd.Series(message, index=rows.index)
    return pd.DataFrame({
        "type": "INVALID_ROW",
        "severity": severity,
        "key": sheet + "|" + rows.astype(str) + "|" + column,
        "explanation": f"{shown} row " + rows.astype(str) + f", column {column}: " + msg,
        "action": ("Correct the cell in the workbook; the row is left out of reconciliation until then."
                   if severity == "high" else
                   "Correct the cell; the row was reconciled without this value."),
        "source": f"{shown} row " + rows.astype(str),
        "source_sheet": shown,
        "source_row": rows,
    })


def read_sheet(grid: Grid, sheet: str, settings: Settings, file: str) -> SheetRead:
    """Read one input sheet (canonical name `sheet`) from its grid."""
    fields = SHEETS[sheet]
    header_r, cols = _find_header(grid, sheet, settings)
    missing = [f for f in fields if f.required and f.name not in cols]
    if header_r < 0 or missing:
        names = ", ".join(f"'{f.header}'" for f in missing) or "the required columns"
        hint = ""
        if missing:
            hint = (f" (also recognised: {', '.join(missing[0].synonyms[:4])}; or map a header in "
                    f"Settings as column.{sheet}.{missing[0].header} = <your header>)")
        raise InputError(f"no column for {names} was found in the first {HEADER_SCAN_ROWS} rows"
                         + hint, file=file, sheet=grid.name)
    header = grid.rows[header_r]
    body = grid.rows[header_r + 1:]
    width = max((len(r) for r in body), default=0)
    excel_rows = np.arange(header_r + 2, header_r + 2 + len(body))
    frame = pd.DataFrame(body, dtype="object") if body else pd.DataFrame()
    for i in range(frame.shape[1], max(width, max(cols.values(), default=-1) + 1)):
        frame[i] = None
    frame.index = excel_rows
    # uncalculated formulas in mapped cells: an input problem of their own
    uncached = pd.DataFrame(sorted(grid.uncached), columns=["r", "c"]) if grid.uncached else None

    if len(frame):
        blank = pd.Series(True, index=frame.index)
        for i in cols.values():
            blank &= _empty_cells(frame[i])
        is_total = pd.Series(False, index=frame.index)
        match = _TOTAL_LABEL.match
        for i in frame.columns:
            # only a text cell can read "Total" (numbers, dates and blanks never match)
            hit = np.fromiter((isinstance(v, str) and match(v) is not None
                               for v in frame[i].to_numpy()), dtype=bool, count=len(frame))
            is_total |= hit
        frame = frame[~blank & ~is_total]
    out = pd.DataFrame(index=frame.index)
    out["sheet"] = grid.name
    out["row"] = frame.index.astype("int64")
    out["source"] = f"{grid.name} row " + out["row"].astype(str)
    invalid: list[pd.DataFrame] = []
    drop = pd.Series(False, index=frame.index)
    uncached_rows: dict[str, set[int]] = {}
    if uncached is not None:
        for f in fields:
            if f.name in cols:
                hit = uncached[uncached["c"] == cols[f.name]]["r"] + 1
                uncached_rows[f.name] = set(hit.tolist()) & set(frame.index.tolist())

    for f in fields:
        header_text = str(header[cols[f.name]]).strip() if f.name in cols else f.header
        raw = frame[cols[f.name]] if f.name in cols else pd.Series(None, index=frame.index,
                                                                    dtype="object")
        # a never-calculated formula's placeholder (xlsxwriter/openpyxl write 0 or nothing) is no value
        stale = pd.Series(frame.index.isin(list(uncached_rows.get(f.name, ()))), index=frame.index)
        raw = raw.where(~stale, None)
        if f.kind in ("id", "name", "text"):
            text = cell_text(raw) if len(raw) else pd.Series([], dtype="str")
            out[f.name] = text
            if f.kind == "id":
                out[f"{f.name}_key"] = normalize_key(text)
            elif f.kind == "name":
                out[f"{f.name}_key"] = normalize_name(text)
            bad = pd.Series(False, index=frame.index)
            empty = text.isna()
            what = "a value"
        elif f.kind == "money":
            cents, bad = to_cents(raw, settings.decimal_comma)
            out[f"{f.name}_cents"] = cents
            empty = cents.isna() & ~bad
            what = "an amount such as 1,234.50"
        elif f.kind == "date":
            dates, bad = to_dates(raw, settings.date_order)
            out[f.name] = dates
            empty = dates.isna() & ~bad
            what = "a date such as 03/15/2026"
        else:
            text = cell_text(raw)
            nums = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
            bad = nums.isna() & text.notna()
            if f.kind == "int":
                whole = nums.isna() | (nums == np.floor(nums))
                bad = bad | ~whole
                nums = nums.where(whole)
                out[f.name] = nums.astype("Float64").astype("Int64")
            else:
                out[f.name] = nums.astype("float64")
            empty = text.isna()
            what = "a number"
        if stale.any():
            invalid.append(_invalid(sheet, out["row"][stale], header_text,
                                    "a formula that was never calculated has no value "
                                    "(open the workbook in Excel and save it)",
                                    "high" if f.required else "low", grid.name))
            bad = bad & ~stale
            empty = empty & ~stale
        if bad.any():
            shown = raw[bad].map(lambda v: str(v)[:40]) if f.kind in ("money", "date", "int",
                                                                      "number") else None
            message = (("'" + shown + f"' is not {what}") if shown is not None
                       else f"the value is not {what}")
            invalid.append(_invalid(sheet, out["row"][bad], header_text, message,
                                    "high" if f.required else "low", grid.name))
        if f.required:
            if empty.any():
                invalid.append(_invalid(sheet, out["row"][empty], header_text,
                                        f"the required value is missing (expected {what})", "high",
                                        grid.name))
            drop |= bad | empty | stale
    table = out[~drop].reindex(columns=columns_of(sheet))
    findings = pd.concat(invalid, ignore_index=True) if invalid else pd.DataFrame()
    found = {name: str(header[i]).strip() for name, i in cols.items()}
    return SheetRead(table, findings, header_r + 1, found)


def empty_table(sheet: str) -> pd.DataFrame:
    """A table with the sheet's columns and no rows, for sheets the workbook does not have."""
    out = pd.DataFrame({c: pd.Series([], dtype="object") for c in columns_of(sheet)})
    for f in SHEETS[sheet]:
        if f.kind == "money":
            out[f"{f.name}_cents"] = out[f"{f.name}_cents"].astype("Int64")
        elif f.kind == "date":
            out[f.name] = out[f.name].astype("datetime64[us]")
        elif f.kind == "int":
            out[f.name] = out[f.name].astype("Int64")
        elif f.kind == "number":
            out[f.name] = out[f.name].astype("float64")
        else:
            out[f.name] = out[f.name].astype("str")
            if f.kind in ("id", "name"):
                out[f"{f.name}_key"] = out[f"{f.name}_key"].astype("str")
    out["sheet"] = out["sheet"].astype("str")
    out["source"] = out["source"].astype("str")
    out["row"] = out["row"].astype("int64")
    return out
