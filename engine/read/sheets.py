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
from itertools import chain

import numpy as np
import pandas as pd

from engine.dates import cells_to_dates
from engine.errors import InputError
from engine.ids import Cells, cells_text, cells_text_and_key, type_codes
from engine.money import cells_to_cents
from engine.read.grid import Grid
from engine.settings import Settings
from engine.tables import SHEETS, Field, columns_of

HEADER_SCAN_ROWS = 30
_TOTAL_LABEL = re.compile(r"^\s*(grand\s*|sub\s*)?totals?\s*:?\s*$", re.IGNORECASE)


_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def _loose(text: str) -> str:
    return _SPACES.sub(" ", text.strip().lower())


def _strict(text: str) -> str:
    t = text.lower().replace("#", "no").replace("number", "no")
    return _NOT_ALNUM.sub("", t)


@dataclass(frozen=True)
class SheetRead:
    table: pd.DataFrame
    invalid: pd.DataFrame  # INVALID_ROW findings
    header_row: int  # Excel row number of the header
    columns: dict[str, str]  # canonical field name → header text found
    left_out: pd.DataFrame  # rows left out (a required cell unreadable), columns of `table`


def _fold(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _names_for(field: Field, sheet: str, settings: Settings) -> tuple[list[str], list[str]]:
    # `column.Fee Schedule.Patient ID` names FeeSchedule's patient_id: fold spaces, case, `_`
    mapped = next((header for (s, c), header in settings.column_map.items()
                   if _fold(s) == _fold(sheet) and _fold(c) in (_fold(field.name),
                                                                _fold(field.header))), None)
    names = [field.header, field.name.replace("_", " "), *field.synonyms]
    return ([mapped] if mapped else []), names


def _targets(sheet: str, settings: Settings) -> list[tuple[Field, list[str], list[str], list[str]]]:
    """Per field, the folded names each matching stage looks for: mapped, loose, strict."""
    out = []
    for f in SHEETS[sheet]:
        mapped, names = _names_for(f, sheet, settings)
        out.append((f, [_loose(n) for n in mapped], [_loose(n) for n in names],
                    [_strict(n) for n in names]))
    return out


def _match_columns(header: list, sheet: str, settings: Settings,
                   targets: list | None = None) -> dict[str, int]:
    texts = [str(h) if h not in (None, "") else "" for h in header]
    loose = [_loose(t) for t in texts]
    strict = [_strict(t) for t in texts]
    taken: set[int] = set()
    found: dict[str, int] = {}
    targets = targets if targets is not None else _targets(sheet, settings)
    # explicit mappings first, then exact (loose) names, then punctuation-insensitive names
    for stage in (1, 2, 3):
        where: dict[str, list[int]] = {}
        for i, k in enumerate(strict if stage == 3 else loose):
            if k:
                where.setdefault(k, []).append(i)
        for f, *folded in targets:
            if f.name in found:
                continue
            for target in folded[stage - 1]:
                if target not in where:
                    continue
                hit = next((i for i in where[target] if i not in taken), None)
                if hit is not None:
                    found[f.name] = hit
                    taken.add(hit)
                    break
    return found


def _find_header(grid: Grid, sheet: str, settings: Settings) -> tuple[int, dict[str, int]]:
    best_row, best, best_score = -1, {}, 0
    targets = _targets(sheet, settings)
    for r, row in enumerate(grid.rows[:HEADER_SCAN_ROWS]):
        if not any(isinstance(v, str) and v.strip() for v in row):
            continue
        cols = _match_columns(row, sheet, settings, targets)
        required = sum(1 for f in SHEETS[sheet] if f.required and f.name in cols)
        score = required * 100 + len(cols)
        if score > best_score:
            best_row, best, best_score = r, cols, score
    return best_row, best


def _text(values, index: pd.Index) -> pd.Series:
    """A `str` column from str/None values (None → NA)."""
    return pd.Series(values, index=index, dtype="str", copy=False)


def _matrix(body: list[list]) -> np.ndarray:
    """The rows as a 2-D object array; short rows are padded with None."""
    if not body:
        return np.empty((0, 0), dtype=object)
    widths = set(map(len, body))
    if len(widths) == 1:
        width = widths.pop()
        cells = np.fromiter(chain.from_iterable(body), dtype=object, count=len(body) * width)
        return cells.reshape(len(body), width)
    return pd.DataFrame(body, dtype="object").to_numpy()


def _types(matrix: np.ndarray) -> tuple[np.ndarray, list[type]]:
    """The exact type of each cell (`type_codes`), looked up in memory order: the order calamine
    made the cells in, much faster than column by column."""
    order = "F" if matrix.flags.f_contiguous and not matrix.flags.c_contiguous else "C"
    codes, kinds = type_codes(matrix.ravel(order=order))
    return codes.reshape(matrix.shape, order=order), kinds


def _totals(values: np.ndarray) -> np.ndarray:
    """Cells of an unmapped column that read "Total" (only a text cell can)."""
    match = _TOTAL_LABEL.match
    try:
        labels = {v for v in set(values.tolist())
                  if isinstance(v, str) and "total" in v.lower() and match(v) is not None}
    except TypeError:  # an unhashable cell: test each
        labels = None
    if labels == set():
        return np.zeros(len(values), dtype=bool)
    if labels is None:
        return np.fromiter((isinstance(v, str) and match(v) is not None for v in values),
                           dtype=bool, count=len(values))
    return np.fromiter((isinstance(v, str) and v in labels for v in values), dtype=bool,
                       count=len(values))


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


def _share_equal(values: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Where a cell equals the same row's cell of `other`, hold that one object, not a copy;
    which cells those are."""
    same = values == other
    values[same] = other[same]
    return same


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
    n = len(body)
    matrix = _matrix(body)
    width = matrix.shape[1]
    types, kinds = _types(matrix)
    cells = {i: Cells(matrix[:, i], (types[:, i], kinds)) if i < width
             else Cells(np.full(n, None, dtype=object)) for i in cols.values()}
    kept = np.arange(n)
    if n:
        blank = np.ones(n, dtype=bool)
        for c in cells.values():
            blank &= c.blank()
        is_total = np.zeros(n, dtype=bool)
        for i in range(width):
            is_total |= (cells[i].text_matches(_TOTAL_LABEL.match, "total") if i in cells
                         else _totals(matrix[:, i]))
        kept = np.flatnonzero(~blank & ~is_total)
    index = pd.Index(np.arange(header_r + 2, header_r + 2 + n)[kept])
    m = len(index)
    out = pd.DataFrame(index=index)
    out["sheet"] = grid.name
    out["row"] = index.astype("int64")
    prefix = f"{grid.name} row "
    out["source"] = _text([prefix + r for r in map(str, index.tolist())], index)
    row = out["row"]
    invalid: list[pd.DataFrame] = []
    drop = np.zeros(m, dtype=bool)
    uncached_rows: dict[str, list[int]] = {}
    first_id: tuple[np.ndarray, np.ndarray] | None = None
    if grid.uncached:
        present = set(index.tolist())
        for f in fields:
            if f.name in cols:
                hit = {r + 1 for r, c in grid.uncached if c == cols[f.name]}
                uncached_rows[f.name] = list(hit & present)

    for f in fields:
        header_text = str(header[cols[f.name]]).strip() if f.name in cols else f.header
        raw = (cells[cols[f.name]].take(kept) if f.name in cols
               else Cells(np.full(m, None, dtype=object)))
        # a never-calculated formula's placeholder (xlsxwriter/openpyxl write 0 or nothing) is no value
        stale = np.isin(index, uncached_rows.get(f.name, []))
        if stale.any():
            values = raw.values.copy()
            values[stale] = None
            raw = Cells(values)
        bad = np.zeros(m, dtype=bool)
        if f.kind in ("id", "name"):
            text, key, missing = cells_text_and_key(raw, f.kind)
            if f.kind == "id" and len(raw.strings) > m // 2:
                # identifiers that hardly repeat are a million strings at 1M rows: a claim
                # that is the row's invoice number, or a key that is already its text, need
                # no copy of their own (identifiers that repeat are one object per text anyway)
                if first_id is None:
                    first_id = text, key
                else:
                    same = _share_equal(text, first_id[0])
                    key[same] = first_id[1][same]
                _share_equal(key, text)
            out[f.name] = _text(text, index)
            out[f"{f.name}_key"] = _text(key, index)
            what = "a value"
        elif f.kind == "text":
            text, missing = cells_text(raw)
            out[f.name] = _text(text, index)
            what = "a value"
        elif f.kind == "money":
            typed, bad_s = cells_to_cents(raw, index, settings.decimal_comma)
            out[f"{f.name}_cents"] = typed
            bad = bad_s.to_numpy()
            what = "an amount such as 1,234.50"
        elif f.kind == "date":
            typed, bad_s = cells_to_dates(raw, index, settings.date_order)
            out[f.name] = typed
            bad = bad_s.to_numpy()
            what = "a date such as 03/15/2026"
        else:
            text, missing = cells_text(raw)
            plain = [t.replace(",", "") if t is not None else None for t in text.tolist()]
            nums = pd.to_numeric(_text(plain, index), errors="coerce")
            bad_s = nums.isna() & pd.Series(~missing, index=index)
            if f.kind == "int":
                whole = nums.isna() | (nums == np.floor(nums))
                bad_s = bad_s | ~whole
                nums = nums.where(whole)
                out[f.name] = nums.astype("Float64").astype("Int64")
            else:
                out[f.name] = nums.astype("float64")
            bad = bad_s.to_numpy(dtype=bool)
            what = "a number"
        if not f.required:
            empty = np.zeros(m, dtype=bool)  # only a required value can be missing
        elif f.kind in ("money", "date"):
            empty = typed.isna().to_numpy() & ~bad
        else:
            empty = missing
        if stale.any():
            invalid.append(_invalid(sheet, row[stale], header_text,
                                    "a formula that was never calculated has no value "
                                    "(open the workbook in Excel and save it)",
                                    "high" if f.required else "low", grid.name))
            bad = bad & ~stale
            empty = empty & ~stale
        if bad.any():
            values = pd.Series(raw.values, index=index, dtype="object")
            shown = values[bad].map(lambda v: str(v)[:40]) if f.kind in ("money", "date", "int",
                                                                         "number") else None
            message = (("'" + shown + f"' is not {what}") if shown is not None
                       else f"the value is not {what}")
            invalid.append(_invalid(sheet, row[bad], header_text, message,
                                    "high" if f.required else "low", grid.name))
        if f.required:
            if empty.any():
                invalid.append(_invalid(sheet, row[empty], header_text,
                                        f"the required value is missing (expected {what})", "high",
                                        grid.name))
            drop |= bad | empty | stale
    table = out[~drop].reindex(columns=columns_of(sheet))
    findings = _identified(pd.concat(invalid, ignore_index=True), out) if invalid else \
        pd.DataFrame()
    found = {name: str(header[i]).strip() for name, i in cols.items()}
    return SheetRead(table, findings, header_r + 1, found,
                     out[drop].reindex(columns=columns_of(sheet)))


# finding column ← the sheet's field that identifies the row (as far as it could be read), as
# the other findings fill them: a payment's reference is its trace, a patient ID stands in for a
# missing name
_IDENTIFIERS = (("invoice", "invoice"), ("claim", "claim"), ("payment", "payment_id"),
                ("trace", "trace"), ("trace", "reference"), ("plan", "plan"),
                ("patient", "patient"), ("patient", "patient_id"), ("payer", "payer"))


def _identified(findings: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """INVALID_ROW findings with the invoice, payment, patient... of their row, so staff can
    find and filter them like any other finding."""
    of_row = rows.reindex(findings["source_row"].to_numpy())
    for column, field in _IDENTIFIERS:
        if field in of_row:
            values = pd.Series(of_row[field].to_numpy(dtype=object), index=findings.index)
            findings[column] = findings[column].fillna(values) if column in findings else values
    if "claim" in findings and "invoice" in findings:  # a claim that is the invoice number: blank
        claim = findings["claim"].to_numpy(dtype=object).copy()
        claim[(findings["claim"] == findings["invoice"]).to_numpy(dtype=bool)] = None
        findings["claim"] = pd.Series(claim, index=findings.index, dtype=object)
    return findings


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
