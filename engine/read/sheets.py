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
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from engine.dates import cells_to_dates
from engine.errors import InputError
from engine.ids import (
    Cells,
    cells_text,
    cells_text_and_key,
    none_at,
    of_type,
    share_equal,
    type_codes,
)
from engine.money import cells_to_cents
from engine.read.grid import EXCEL_ERRORS, Grid
from engine.settings import Settings
from engine.tables import SHEETS, Field

try:  # how pandas makes a StringArray of values it has checked (pandas internals)
    from pandas._libs.arrays import NDArrayBacked as _NDArrayBacked
except ImportError:  # pragma: no cover - a pandas without it: pd.array checks them again
    _NDArrayBacked = None

HEADER_SCAN_ROWS = 30
_TOTAL_LABEL = re.compile(r"^\s*(grand\s*|sub\s*)?totals?\s*:?\s*$", re.IGNORECASE)
_EXCEL_ERROR = re.compile("(?:" + "|".join(map(re.escape, sorted(EXCEL_ERRORS))) + r")\Z")


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


class _Targets(NamedTuple):
    fields: tuple[Field, ...]
    # per matching stage (mapped, loose, strict): folded name → (field position, preference)
    # of each field that looks for it
    stages: tuple[dict[str, list[tuple[int, int]]], ...]


def _targets(sheet: str, settings: Settings) -> _Targets:
    """The folded names each matching stage looks for: mapped, loose, strict."""
    fields = SHEETS[sheet]
    stages: tuple[dict[str, list[tuple[int, int]]], ...] = ({}, {}, {})
    for at, f in enumerate(fields):
        mapped, names = _names_for(f, sheet, settings)
        folded = ([_loose(n) for n in mapped], [_loose(n) for n in names],
                  [_strict(n) for n in names])
        for stage, targets in zip(stages, folded):
            for preference, target in enumerate(targets):
                stage.setdefault(target, []).append((at, preference))
    return _Targets(fields, stages)


def _match_columns(header: list, sheet: str, settings: Settings,
                   targets: _Targets | None = None) -> dict[str, int]:
    texts = [str(h) if h not in (None, "") else "" for h in header]
    loose = [_loose(t) for t in texts]
    strict = [_strict(t) for t in texts]
    taken: set[int] = set()
    found: dict[str, int] = {}
    targets = targets if targets is not None else _targets(sheet, settings)
    # explicit mappings first, then exact (loose) names, then punctuation-insensitive names
    for stage, folded in zip(targets.stages, (loose, loose, strict)):
        where: dict[str, list[int]] = {}
        for i, k in enumerate(folded):
            if k:
                where.setdefault(k, []).append(i)
        # field by field, each by its names in order of preference, the first name in a column
        # not yet taken
        for at, _preference, target in sorted(
                (*looker, k) for k in where for looker in stage.get(k, ())):
            f = targets.fields[at]
            if f.name in found:
                continue
            hit = next((i for i in where[target] if i not in taken), None)
            if hit is not None:
                found[f.name] = hit
                taken.add(hit)
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


def _text(values) -> pd.api.extensions.ExtensionArray:
    """A `str` column from str/None values (None → NA)."""
    return pd.array(values, dtype="str", copy=False)


_STR = pd.array([], dtype="str")


def _read_text(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """`_text` of an object array made here of str and None only (its Nones become NA in
    place): pd.array would look at every cell again to learn that, a pass over a million
    scattered strings per column (≈ 0.03 s); the Nones are found by address instead."""
    none = (none_at(values) if type(_STR) is pd.arrays.StringArray and values.flags.c_contiguous
            else None)
    if none is None or _NDArrayBacked is None:
        return _text(values)
    values[none] = _STR.dtype.na_value
    array = pd.arrays.StringArray.__new__(pd.arrays.StringArray)
    _NDArrayBacked.__init__(array, values, _STR.dtype)
    return array


def _as_array(items: list) -> np.ndarray:
    """A list as a 1-D object array (np.array would look into each item for more dimensions)."""
    return np.fromiter(items, dtype=object, count=len(items))


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


_POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)


def _numbered(prefix: str, numbers: np.ndarray) -> list[str]:
    """`prefix` and each number (row numbers: ascending, none negative) as text. The texts are
    written as bytes, a block of equally long ones at a time, and split apart: a million rows
    cost ≈ 0.12 s rather than the 0.25 s of making each number a str and adding it on."""
    if (not len(numbers) or "\n" in prefix or numbers[0] < 0
            or (numbers[1:] < numbers[:-1]).any()):
        return [prefix + n for n in map(str, numbers.tolist())]
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    blocks = []
    start = 0
    # numbers of d digits lie between the first at least 10^(d-1) and the first at least 10^d
    for digits, stop in enumerate([*np.searchsorted(numbers, _POWERS_OF_TEN), len(numbers)], 1):
        if stop > start:
            part = numbers[start:stop]
            left = part.astype(np.uint32 if part[-1] < 1 << 32 else np.uint64)
            block = np.empty((len(part), len(head) + digits + 1), dtype=np.uint8)
            block[:, :len(head)] = head
            for at in range(len(head) + digits - 1, len(head) - 1, -1):  # last digit first
                left, block[:, at] = np.divmod(left, 10)
            block[:, len(head):-1] += ord("0")
            block[:, -1] = ord("\n")
            blocks.append(block.ravel())
            start = stop
    return np.concatenate(blocks)[:-1].tobytes().decode().split("\n")


def _types(matrix: np.ndarray) -> tuple[np.ndarray, list[type]]:
    """The exact type of each cell (`type_codes`), looked up in memory order: the order calamine
    made the cells in, much faster than column by column. The codes are then laid out column by
    column, in bytes, since from here on each column's are read on their own: a fifth of the
    cost of reading them out of rows."""
    order = "F" if matrix.flags.f_contiguous and not matrix.flags.c_contiguous else "C"
    codes, kinds = type_codes(matrix.ravel(order=order))
    small = codes.astype(np.uint8 if len(kinds) <= 255 else np.intp, copy=False)
    return np.asfortranarray(small.reshape(matrix.shape, order=order)), kinds


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


class _Problem(NamedTuple):
    """Cells of one column that make INVALID_ROW findings."""

    at: np.ndarray  # positions of their rows
    column: str  # the column's header
    message: str | list[str]  # one for all, or one per row
    severity: str


_ACTIONS = {
    "high": "Correct the cell in the workbook; the row is left out of reconciliation until then.",
    "low": "Correct the cell; the row was reconciled without this value.",
}


def _invalid(sheet: str, shown: str, rows: np.ndarray, problems: list[_Problem],
             columns: dict[str, Any]) -> pd.DataFrame:
    """INVALID_ROW findings of one sheet, one per row of each problem; `rows` are the Excel row
    numbers of the sheet's `columns`, `shown` is the sheet's name in the workbook."""
    at = np.concatenate([p.at for p in problems])
    counts = [len(p.at) for p in problems]
    number = rows[at]
    text = number.astype(str).astype(object)
    source = f"{shown} row " + text
    detail = chain.from_iterable(
        [f", column {p.column}: {p.message}"] * len(p.at) if isinstance(p.message, str)
        else [f", column {p.column}: {m}" for m in p.message] for p in problems)
    severity = np.repeat(np.array([p.severity for p in problems], dtype=object), counts)
    after = np.repeat(np.array([f"|{p.column}" for p in problems], dtype=object), counts)
    return pd.DataFrame({
        "type": "INVALID_ROW",
        "severity": _text(severity),
        "key": _text(f"{sheet}|" + text + after),
        "explanation": _text(source + np.fromiter(detail, dtype=object, count=len(at))),
        "action": _text(np.where(severity == "high", _ACTIONS["high"], _ACTIONS["low"])),
        "source": _text(source),
        "source_sheet": shown,
        "source_row": number,
        **_identifiers(columns, at),
    })


# finding column ← the sheet's field that identifies the row (as far as it could be read), as
# the other findings fill them: a payment's reference is its trace, a patient ID stands in for a
# missing name
_IDENTIFIERS = (("invoice", "invoice"), ("claim", "claim"), ("payment", "payment_id"),
                ("trace", "trace"), ("trace", "reference"), ("plan", "plan"),
                ("patient", "patient"), ("patient", "patient_id"), ("payer", "payer"))


def _identifiers(columns: dict[str, Any], at: np.ndarray) -> dict[str, pd.Series]:
    """The invoice, payment, patient... of the rows at positions `at` of `columns`, for their
    INVALID_ROW findings, so staff can find and filter them like any other finding."""
    found: dict[str, pd.Series] = {}
    for column, field in _IDENTIFIERS:
        if field in columns:
            values = pd.Series(columns[field][at].to_numpy(dtype=object))
            found[column] = found[column].fillna(values) if column in found else values
    if "claim" in found and "invoice" in found:  # a claim that is the invoice number: blank
        claim = found["claim"].to_numpy(dtype=object).copy()
        claim[(found["claim"] == found["invoice"]).to_numpy(dtype=bool)] = None
        found["claim"] = pd.Series(claim, dtype=object)
    return found


def _whole_numbers(cells: Cells) -> np.ndarray | None:
    """A column of whole numbers in number cells (blanks NaN), as floats; None when some cell
    is anything else, since only whole numbers read back from their display text unchanged."""
    types, na = cells.rest_types()
    is_float = of_type(types, float, np.float64)
    if not (is_float | na).all() or not cells.spread(cells.texts()[1], True).all():
        return None
    numbers = np.full(len(cells), np.nan)
    floats = cells.rest_floats()[is_float]
    finite = np.isfinite(floats)
    if not ((floats[finite] == np.floor(floats[finite])) & (np.abs(floats[finite]) < 1e15)).all():
        return None
    # + 0.0: a -0.0 shows as 0
    numbers[np.flatnonzero(~cells.is_str)[is_float]] = np.where(finite, floats + 0.0, np.nan)
    return numbers


def _numbers(cells: Cells, index: pd.Index) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """(the numbers, which cells are not one, which cells are blank), read from the cells'
    display text as typed, `1,234` included."""
    whole = _whole_numbers(cells)
    if whole is not None:  # the usual column, read without making a text of each cell
        missing = np.isnan(whole)
        return pd.Series(whole, index=index), pd.Series(False, index=index), missing
    text, missing = cells_text(cells)
    plain = [t.replace(",", "") if t is not None else None for t in text.tolist()]
    nums = pd.to_numeric(pd.Series(plain, index=index, dtype="str"), errors="coerce")
    return nums, nums.isna() & pd.Series(~missing, index=index), missing


def _absent(field: Field, m: int) -> dict[str, Any]:
    """The table's columns for a field the sheet has no column for: `m` blanks, as read (one
    blank repeated, not `m` blanks converted one by one)."""
    return {c: pd.array([None], dtype=d).repeat(m) for c, d in _field_dtypes(field).items()}


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
        for c in cells.values():  # past the first column few rows are left to look at
            maybe = np.flatnonzero(blank)
            blank[maybe] = c.blank() if len(maybe) == n else c.take(maybe).blank()
        is_total = np.zeros(n, dtype=bool)
        for i in range(width):
            is_total |= (cells[i].text_matches(_TOTAL_LABEL.match, "total") if i in cells
                         else _totals(matrix[:, i]))
        kept = np.flatnonzero(~blank & ~is_total)
    index = pd.Index(np.arange(header_r + 2, header_r + 2 + n)[kept])
    m = len(index)
    prefix = f"{grid.name} row "
    # the table's columns (those of `columns_of`) as arrays, made into one frame at the end
    out: dict[str, Any] = {
        "sheet": grid.name, "row": index.astype("int64"),
        "source": _read_text(_as_array(_numbered(prefix, index.to_numpy())))}
    problems: list[_Problem] = []
    drop = np.zeros(m, dtype=bool)
    uncached_rows: dict[str, list[int]] = {}
    invoice: tuple[np.ndarray, np.ndarray] | None = None  # its texts and keys, when shared
    if grid.uncached:
        present = set(index.tolist())
        for f in fields:
            if f.name in cols:
                hit = {r + 1 for r, c in grid.uncached if c == cols[f.name]}
                uncached_rows[f.name] = list(hit & present)

    for f in fields:
        if f.name not in cols:  # an optional column the sheet does not have
            out.update(_absent(f, m))
            continue
        header_text = str(header[cols[f.name]]).strip()
        raw = cells[cols[f.name]]
        if m < n:  # blank or totals rows skipped
            raw = raw.take(kept)
        # a never-calculated formula's placeholder (xlsxwriter/openpyxl write 0 or nothing) is no
        # value, nor is an Excel error (#N/A): both are told as what they are, not as bad values
        stale = (np.isin(index, uncached_rows[f.name]) if f.name in uncached_rows
                 else np.zeros(m, dtype=bool))
        errored = raw.text_matches(_EXCEL_ERROR.match, "#")
        shown_errors = raw.values_at(np.flatnonzero(errored)).tolist() if errored.any() else []
        if stale.any() or shown_errors:
            values = raw.values.copy()
            values[stale | errored] = None
            raw = Cells(values)
        bad = np.zeros(m, dtype=bool)
        if f.kind in ("id", "name"):
            text, key, missing = cells_text_and_key(raw, f.kind)
            if f.kind == "id" and raw.hardly_repeats():
                # a claim that is the row's invoice number needs no copy of its own (identifiers
                # that repeat are one object per text anyway, a key that is its text is that text)
                if f.name == "claim" and invoice is not None:
                    same = share_equal(text, invoice[0])
                    key[same] = invoice[1][same]
                if f.name == "invoice":
                    invoice = text, key
            out[f.name] = _read_text(text)
            out[f"{f.name}_key"] = _read_text(key)
            what = "a value"
        elif f.kind == "text":
            text, missing = cells_text(raw)
            out[f.name] = _read_text(text)
            what = "a value"
        elif f.kind == "money":
            typed, bad_s = cells_to_cents(raw, index, settings.decimal_comma)
            out[f"{f.name}_cents"] = typed.array
            bad = bad_s.to_numpy()
            what = "an amount such as 1,234.50"
        elif f.kind == "date":
            typed, bad_s = cells_to_dates(raw, index, settings.date_order)
            out[f.name] = typed.array
            bad = bad_s.to_numpy()
            what = "a date such as 03/15/2026"
        else:
            nums, bad_s, missing = _numbers(raw, index)
            if f.kind == "int":
                whole = nums.isna() | (nums == np.floor(nums))
                bad_s = bad_s | ~whole
                nums = nums.where(whole)
                out[f.name] = nums.astype("Float64").astype("Int64").array
            else:
                out[f.name] = nums.to_numpy(dtype="float64")
            bad = bad_s.to_numpy(dtype=bool)
            what = "a number"
        if not f.required:
            empty = np.zeros(m, dtype=bool)  # only a required value can be missing
        elif f.kind in ("money", "date"):
            empty = typed.isna().to_numpy() & ~bad
        else:
            empty = missing
        severity = "high" if f.required else "low"
        if stale.any():
            problems.append(_Problem(np.flatnonzero(stale), header_text,
                                     "a formula that was never calculated has no value "
                                     "(open the workbook in Excel and save it)", severity))
        if shown_errors:
            problems.append(_Problem(np.flatnonzero(errored), header_text,
                                     [f"the cell shows the Excel error {e} instead of {what} "
                                      "(correct its formula or type the value)"
                                      for e in shown_errors], severity))
            stale = stale | errored
        bad = bad & ~stale
        empty = empty & ~stale
        if bad.any():
            at = np.flatnonzero(bad)
            message = ([f"'{str(v)[:40]}' is not {what}" for v in raw.values_at(at).tolist()]
                       if f.kind in ("money", "date", "int", "number")
                       else f"the value is not {what}")
            problems.append(_Problem(at, header_text, message, severity))
        if f.required:
            if empty.any():
                problems.append(_Problem(np.flatnonzero(empty), header_text,
                                         f"the required value is missing (expected {what})",
                                         "high"))
            drop |= bad | empty | stale
    findings = (_invalid(sheet, grid.name, index.to_numpy(), problems, out) if problems
                else pd.DataFrame())
    frame = pd.DataFrame(out, index=index, copy=False)
    table, left_out = (frame[~drop], frame[drop]) if drop.any() else (frame, frame.iloc[:0])
    found = {name: str(header[i]).strip() for name, i in cols.items()}
    return SheetRead(table, findings, header_r + 1, found, left_out)


_DTYPES = {"date": "datetime64[us]", "int": "Int64", "number": "float64"}  # else "str"


def _field_dtypes(field: Field) -> dict[str, str]:
    """The table columns a field becomes when read, with their dtypes."""
    if field.kind in ("id", "name"):
        return {field.name: "str", f"{field.name}_key": "str"}
    if field.kind == "money":
        return {f"{field.name}_cents": "Int64"}
    return {field.name: _DTYPES.get(field.kind, "str")}


def empty_table(sheet: str) -> pd.DataFrame:
    """A table with the sheet's columns and no rows, for sheets the workbook does not have."""
    dtypes = {"sheet": "str", "row": "int64", "source": "str"}
    for f in SHEETS[sheet]:
        dtypes.update(_field_dtypes(f))
    return pd.DataFrame({c: pd.array([], dtype=d) for c, d in dtypes.items()})
