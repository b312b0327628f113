"""Money enters the engine here, once, and leaves as integer cents.

Workbooks hold amounts as numbers, as text (`$1,234.50`, `(45.00)`, `-45.00`, `45.00-`) and, in
some offices, with a decimal comma. Everything after this module is integer arithmetic on cents
(pandas `Int64`), so sums and comparisons are exact. A blank cell is "missing" (the caller decides
whether that is allowed); text that is not an amount is "unreadable" — never zero.
"""

from __future__ import annotations

import datetime as _dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd

_TEXT_AMOUNT = (
    r"^(?P<lead>[-(])?\s*(?:USD\s*)?\$?\s*(?P<lead2>-)?\s*"
    r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.(?P<frac>[0-9]*))?"
    r"\s*(?:USD)?\s*(?P<close>\))?(?P<trail>-)?$"
)
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
    s = text.astype("str").str.strip().str.replace("\u00a0", " ", regex=False)
    s = s.str.replace(" ", "", regex=False)
    if decimal_comma:
        s = s.str.replace(".", "\x00", regex=False).str.replace(",", ".", regex=False)
        s = s.str.replace("\x00", ",", regex=False)
    blank = s.isna() | (s == "")
    parts = s.str.extract(_TEXT_AMOUNT)
    int_part = parts["int"].str.replace(",", "", regex=False)
    frac = parts["frac"].fillna("")
    has_digits = (int_part.fillna("") != "") | (frac != "")
    paren_ok = parts["lead"].eq("(") == parts["close"].eq(")")
    signs = (parts["lead"].eq("-").astype(int) + parts["lead2"].eq("-").astype(int)
             + parts["trail"].eq("-").astype(int))
    ok = parts["int"].notna() | parts["frac"].notna()
    ok &= has_digits & paren_ok & (signs <= 1) & ~(parts["lead"].eq("(") & (signs > 0))
    ok &= frac.str.len() <= 2
    ok &= int_part.fillna("").str.len() <= _MAX_WHOLE_DIGITS
    ok &= ~blank
    whole = pd.to_numeric(int_part.where(ok & (int_part != ""), "0"), errors="coerce").fillna(0)
    frac2 = frac.where(ok, "").str.ljust(2, "0")
    cents = whole.astype("int64") * 100 + pd.to_numeric(frac2, errors="coerce").fillna(0).astype("int64")
    negative = parts["lead"].isin(["-", "("]) | parts["lead2"].eq("-") | parts["trail"].eq("-")
    cents = cents.where(~negative, -cents)
    result = pd.Series(pd.array(cents, dtype="Int64"), index=text.index).where(ok, pd.NA)
    bad = ~ok & ~blank
    return result.astype("Int64"), bad


def to_cents(values: pd.Series, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse a column of cell values (numbers, text, blanks) into (cents Int64, unreadable bool)."""
    kinds = values.map(type)
    is_num = kinds.isin((int, float, np.float64, np.int64)) & values.notna()
    is_text = kinds.eq(str)
    result = pd.Series(pd.NA, index=values.index, dtype="Int64")
    bad = pd.Series(False, index=values.index)
    if is_num.any():
        cents, nonfinite = _numbers_to_cents(values[is_num].astype("float64").to_numpy())
        result[is_num] = cents
        bad[is_num] = nonfinite
        result[is_num & bad] = pd.NA
    if is_text.any():
        cents, text_bad = text_to_cents(values[is_text], decimal_comma)
        result[is_text] = cents
        bad[is_text] = text_bad
    other = ~(is_num | is_text | values.isna())
    if other.any():
        # booleans, dates and other typed cells are not amounts
        bad[other] = True
    return result, bad


def parse_money_text(text: str, decimal_comma: bool = False) -> int | None:
    """One amount written as text, in cents; None when it is not an amount."""
    cents, bad = text_to_cents(pd.Series([text], dtype="object"), decimal_comma)
    if bad.iloc[0] or pd.isna(cents.iloc[0]):
        return None
    return int(cents.iloc[0])


def decimal_to_cents(text: str) -> int | None:
    """A plain decimal (as in X12: `123.4`, `-12`, `.5`) in cents; None when not one."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite():
        return None
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_cents(cents: int | None) -> str:
    """`-1234.5` dollars style for messages: 12345 → '$123.45', -4500 → '-$45.00'."""
    if cents is None or cents is pd.NA:
        return ""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}${whole:,}.{part:02d}"


__all__ = ["to_cents", "text_to_cents", "parse_money_text", "decimal_to_cents", "format_cents"]
_ = _dt  # dates are rejected as amounts through the `other` branch
