"""Money enters the engine here, once, and leaves as integer cents.

Workbooks hold amounts as numbers, as text (`$1,234.50`, `(45.00)`, `-45.00`, `45.00-`) and, in
some offices, with a decimal comma. Everything after this module is integer arithmetic on cents
(pandas `Int64`), so sums and comparisons are exact. A blank cell is "missing" (the caller decides
whether that is allowed); text that is not an amount is "unreadable" — never zero.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd

from engine.ids import Cells, of_type

_TEXT_AMOUNT = (
    r"^(?P<lead>[-(])?\s*(?:USD\s*)?\$?\s*(?P<lead2>-)?\s*"
    r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.(?P<frac>[0-9]*))?"
    r"\s*(?:USD)?\s*(?P<close>\))?(?P<trail>-)?$"
)
_TEXT_AMOUNT_RE = re.compile(_TEXT_AMOUNT)
_CENT = Decimal("0.01")
_MAX_WHOLE_DIGITS = 13  # as for number cells: amounts of 10^13 dollars or more are not amounts


def _round_cents(value: float) -> int:
    return int((Decimal(repr(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _numbers_to_cents(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole cents for float amounts; sub-cent values (formula results) round half up."""
    finite = np.isfinite(x) & (np.abs(x) < 1e13)
    safe = np.where(finite, x, 0.0)
    scaled = safe * 100.0
    cents = np.rint(scaled)
    inexact = finite & (np.abs(scaled - cents) > 1e-6)
    out = cents.astype(np.int64)
    for i in np.flatnonzero(inexact):
        out[i] = _round_cents(float(safe[i]))
    return out, ~finite


def text_to_cents(text: pd.Series, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse amounts written as text. Returns (cents Int64, unreadable bool); blanks are NA, not bad."""
    codes, uniques = pd.factorize(text.astype("str"))
    cents, missing, bad = _amounts(uniques.tolist(), decimal_comma)
    return (pd.Series(pd.arrays.IntegerArray(np.append(cents, 0)[codes],
                                             np.append(missing, True)[codes]), index=text.index),
            pd.Series(np.append(bad, False)[codes], index=text.index))


def _amounts(texts: list[str], decimal_comma: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cents, missing, unreadable) for each text."""
    n = len(texts)
    cents = np.zeros(n, dtype=np.int64)
    missing = np.ones(n, dtype=bool)
    bad = np.zeros(n, dtype=bool)
    for i, text in enumerate(texts):
        value = _amount(text, decimal_comma)
        if value is None:
            bad[i] = True
        elif value is not _BLANK:
            cents[i] = value
            missing[i] = False
    return cents, missing, bad


_BLANK = object()


def _amount(text: str, decimal_comma: bool):
    """Cents of one amount written as text; `_BLANK` for a blank, None when unreadable."""
    s = text.strip().replace("\u00a0", " ").replace(" ", "")
    if decimal_comma:
        s = s.replace(".", "\x00").replace(",", ".").replace("\x00", ",")
    if not s:
        return _BLANK
    m = _TEXT_AMOUNT_RE.search(s)
    if m is None:
        return None
    lead, lead2, whole, frac, close, trail = m.group("lead", "lead2", "int", "frac", "close",
                                                     "trail")
    whole = whole.replace(",", "")
    frac = frac or ""
    signs = (lead == "-") + (lead2 == "-") + (trail == "-")
    if (not (whole or frac) or (lead == "(") != (close == ")") or signs > 1
            or (lead == "(" and signs) or len(frac) > 2 or len(whole) > _MAX_WHOLE_DIGITS):
        return None
    cents = int(whole or "0") * 100 + int(frac.ljust(2, "0"))
    return -cents if lead in ("-", "(") or lead2 == "-" or trail == "-" else cents


def to_cents(values: pd.Series, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse a column of cell values (numbers, text, blanks) into (cents Int64, unreadable bool)."""
    return cells_to_cents(Cells.of(values), values.index, decimal_comma)


def cells_to_cents(cells: Cells, index: pd.Index,
                   decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """`to_cents` of cells split by type (text parsed once per distinct string)."""
    n = len(cells)
    cents = np.zeros(n, dtype=np.int64)
    missing = np.ones(n, dtype=bool)
    bad = np.zeros(n, dtype=bool)
    is_text = cells.is_str
    if is_text.any():
        codes, strings = cells.used()
        text_cents, text_missing, text_bad = _amounts(strings, decimal_comma)
        cents[is_text] = text_cents[codes]
        missing[is_text] = text_missing[codes]
        bad[is_text] = text_bad[codes]
    rest = ~is_text
    if rest.any():
        types, na = cells.rest_types()
        known = ~na
        is_num = of_type(types, int, float, np.float64, np.int64) & known
        rest_cents = np.zeros(len(na), dtype=np.int64)
        rest_missing = np.ones(len(na), dtype=bool)
        rest_bad = np.zeros(len(na), dtype=bool)
        if is_num.any():
            if (is_num & ~of_type(types, float, np.float64)).any():  # whole numbers typed as int
                values = cells.rest()[0]
                numbers = values[is_num].astype(np.float64)
            else:  # floats, as converted for the blanks already
                floats = cells.rest_floats()
                numbers = floats if is_num.all() else floats[is_num]  # usually all: not copied
            num_cents, nonfinite = _numbers_to_cents(numbers)
            rest_cents[is_num] = np.where(nonfinite, 0, num_cents)
            rest_missing[is_num] = nonfinite
            rest_bad[is_num] = nonfinite
        # booleans, dates and other typed cells are not amounts
        rest_bad[known & ~is_num] = True
        cents[rest], missing[rest], bad[rest] = rest_cents, rest_missing, rest_bad
    result = pd.Series(pd.arrays.IntegerArray(cents, missing), index=index)
    return result, pd.Series(bad, index=index)


def parse_money_text(text: str, decimal_comma: bool = False) -> int | None:
    """One amount written as text, in cents; None when it is not an amount."""
    cents, bad = text_to_cents(pd.Series([text], dtype="object"), decimal_comma)
    if bad.iloc[0] or pd.isna(cents.iloc[0]):
        return None
    return int(cents.iloc[0])


def decimal_to_cents(text: str) -> int | None:
    """A plain decimal (as in X12: `123.4`, `-12`, `.5`) in cents; None when not one, or when
    its cents have more digits than Decimal's precision holds (`1E26`: no amount anyone paid)."""
    try:
        value = Decimal(text)
        if not value.is_finite():
            return None
        return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return None


def format_cents(cents: int | None) -> str:
    """`-1234.5` dollars style for messages: 12345 → '$123.45', -4500 → '-$45.00'."""
    if cents is None or cents is pd.NA:
        return ""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}${whole:,}.{part:02d}"


def money_texts(cents: pd.Series) -> pd.Series:
    """`format_cents` of each amount, "" where missing: amounts as text for explanations."""
    return pd.Series([format_cents(None if pd.isna(c) else int(c))
                      for c in cents.to_numpy(dtype=object)], index=cents.index, dtype="str")


__all__ = ["cells_to_cents", "decimal_to_cents", "format_cents", "money_texts", "parse_money_text",
           "text_to_cents", "to_cents"]
_ = _dt  # dates are rejected as amounts through the `other` branch
