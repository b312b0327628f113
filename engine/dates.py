"""Dates enter the engine here: Excel dates, serial numbers and text, decided per column.

`03/04/2026` is March 4 in one office and April 3 in another. A column is read one way: if any of
its text dates can only be day-first (first part > 12) the column is DMY, if any can only be
month-first it is MDY, and the `date_order` setting, when present, decides outright. A column
that contradicts itself makes the contradicting cells unreadable rather than guessing per cell.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_MIN_SERIAL, _MAX_SERIAL = 1, 2958465  # 1900-01-01 .. 9999-12-31
# a time after the date, as exported by practice-management systems ("03/15/2026 12:00:00 AM"),
# is dropped like the ISO form's
_SLASHED = (r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})"
            r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?)?$")
_ISO = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_NAMED_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d %b %Y", "%d %B %Y", "%b %d %Y",
                  "%d-%b-%y", "%Y/%m/%d")


def _assemble(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"year": year, "month": month, "day": day}).astype("float64")
    return pd.to_datetime(frame, errors="coerce")


def text_to_dates(text: pd.Series, order: str | None) -> tuple[pd.Series, pd.Series, str | None]:
    """Parse text dates. Returns (datetime64, unreadable mask, the order used for a/b/y dates)."""
    s = text.astype("str").str.strip()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    blank = s.isna() | (s == "")
    iso = s.str.extract(_ISO)
    is_iso = iso[0].notna()
    if is_iso.any():
        out[is_iso] = _assemble(iso.loc[is_iso, 0], iso.loc[is_iso, 1], iso.loc[is_iso, 2])
    sl = s.str.extract(_SLASHED)
    is_sl = sl[0].notna() & ~is_iso
    used = order
    if is_sl.any():
        a = sl.loc[is_sl, 0].astype(int)
        b = sl.loc[is_sl, 1].astype(int)
        y = sl.loc[is_sl, 2].astype(int)
        y = y.where(y >= 100, y + 2000)
        if used is None:
            day_first = bool((a > 12).any())
            month_first = bool((b > 12).any())
            used = "DMY" if day_first and not month_first else "MDY"
        month, day = (a, b) if used == "MDY" else (b, a)
        out[is_sl] = _assemble(y, month, day)
    rest = ~(is_iso | is_sl | blank)
    for fmt in _NAMED_FORMATS:
        todo = rest & out.isna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(s[todo], format=fmt, errors="coerce")
    bad = out.isna() & ~blank
    return out, bad, used


def to_dates(values: pd.Series, order: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse a column of cell values into (datetime64 normalised to days, unreadable bool)."""
    kinds = values.map(type)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    bad = pd.Series(False, index=values.index)
    is_dt = kinds.isin((dt.datetime, dt.date, pd.Timestamp))
    if is_dt.any():
        out[is_dt] = pd.to_datetime(values[is_dt].astype("object"), errors="coerce")
    is_num = kinds.isin((int, float, np.float64, np.int64)) & values.notna()
    if is_num.any():
        serial = values[is_num].astype("float64")
        ok = (serial >= _MIN_SERIAL) & (serial <= _MAX_SERIAL)
        days = pd.to_timedelta(np.floor(serial.where(ok, 0)), unit="D")
        out[is_num] = (EXCEL_EPOCH + days).where(ok, pd.NaT)
        bad[is_num] = ~ok
    is_text = kinds.eq(str)
    if is_text.any():
        parsed, text_bad, _ = text_to_dates(values[is_text], order)
        out[is_text] = parsed
        bad[is_text] = text_bad
    other = ~(is_dt | is_num | is_text | values.isna())
    bad[other] = True
    return out.dt.normalize(), bad
