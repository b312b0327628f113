"""Dates enter the engine here: Excel dates, serial numbers and text, decided per column.

`03/04/2026` is March 4 in one office and April 3 in another. A column is read one way: if any of
its text dates can only be day-first (first part > 12) the column is DMY, if any can only be
month-first it is MDY, and the `date_order` setting, when present, decides outright. A column
that contradicts itself makes the contradicting cells unreadable rather than guessing per cell.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from engine.ids import Cells, of_type

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_MIN_SERIAL, _MAX_SERIAL = 1, 2958465  # 1900-01-01 .. 9999-12-31
# a time after the date, as exported by practice-management systems ("03/15/2026 12:00:00 AM"),
# is dropped like the ISO form's
_SLASHED = (r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})"
            r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?)?$")
_ISO = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_ISO_RE = re.compile(_ISO)
_SLASHED_RE = re.compile(_SLASHED)
_DIGIT = re.compile(r"\d")
_NAMED_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d %b %Y", "%d %B %Y", "%b %d %Y",
                  "%d-%b-%y", "%Y/%m/%d")


def _assemble(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"year": year, "month": month, "day": day}).astype("float64")
    return pd.to_datetime(frame, errors="coerce")


def text_to_dates(text: pd.Series, order: str | None) -> tuple[pd.Series, pd.Series, str | None]:
    """Parse text dates. Returns (datetime64, unreadable mask, the order used for a/b/y dates)."""
    codes, uniques = pd.factorize(text.astype("str"))
    strings = [u.strip() for u in uniques.tolist()]
    if not all(t.isascii() for t in strings):
        return _parse_text_dates(text, order)
    parsed, unreadable, used = _ascii_text_dates(strings, order)
    return (pd.Series(np.append(parsed, np.datetime64("NaT"))[codes], index=text.index,
                      dtype="datetime64[us]"),
            pd.Series(np.append(unreadable, False)[codes], index=text.index), used)


def _ascii_text_dates(strings: list[str],
                      order: str | None) -> tuple[np.ndarray, np.ndarray, str | None]:
    """`text_to_dates` of stripped ASCII texts (best distinct: each is read), as arrays."""
    # the plain forms (ISO, a/b/y) of ordinary dates are read here, one distinct text at a time;
    # anything else goes through pandas, with the column's order decided over all the texts
    dates: list[dt.date | None] = [None] * len(strings)
    bad = [False] * len(strings)
    slashed: dict[int, tuple[int, int, int]] = {}
    hard: list[int] = []

    def plain(i: int, year: int, month: int, day: int) -> None:
        # an ordinary year is read by the calendar, as pandas reads it (no such day: unreadable);
        # pandas reads other years its own way
        if not 1700 <= year <= 2200:
            hard.append(i)
            return
        try:
            dates[i] = dt.date(year, month, day)
        except ValueError:
            bad[i] = True

    for i, t in enumerate(strings):
        if not t:
            continue
        m = _ISO_RE.search(t)
        if m:
            plain(i, *map(int, m.groups()))
        elif m := _SLASHED_RE.search(t):
            slashed[i] = tuple(map(int, m.groups()))
        elif _DIGIT.search(t) is None and t not in ("now", "today"):
            bad[i] = True  # no named format reads a text without digits
        else:
            hard.append(i)
    used = order
    if slashed:
        if used is None:
            day_first = any(a > 12 for a, _b, _y in slashed.values())
            month_first = any(b > 12 for _a, b, _y in slashed.values())
            used = "DMY" if day_first and not month_first else "MDY"
        for i, (a, b, y) in slashed.items():
            month, day = (a, b) if used == "MDY" else (b, a)
            plain(i, y if y >= 100 else y + 2000, month, day)
    parsed = np.array(dates, dtype="datetime64[us]")
    unreadable = np.array(bad, dtype=bool)
    if hard:
        out, out_bad, _ = _parse_text_dates(pd.Series([strings[i] for i in hard], dtype=object),
                                            used)
        parsed[hard] = out.to_numpy()
        unreadable[hard] = out_bad.to_numpy(dtype=bool)
    return parsed, unreadable, used


def _parse_text_dates(text: pd.Series,
                      order: str | None) -> tuple[pd.Series, pd.Series, str | None]:
    """`text_to_dates` through pandas, for every form (named months, odd years, non-ASCII)."""
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
    return cells_to_dates(Cells.of(values), values.index, order)


def cells_to_dates(cells: Cells, index: pd.Index,
                   order: str | None = None) -> tuple[pd.Series, pd.Series]:
    """`to_dates` of cells split by type (text parsed once per distinct string, dates converted
    once per distinct date)."""
    out = np.full(len(cells), np.datetime64("NaT"), dtype="datetime64[us]")
    bad = np.zeros(len(cells), dtype=bool)
    if not cells.is_str.all():
        rest = np.flatnonzero(~cells.is_str)
        types, na = cells.rest_types()
        known = ~na
        is_dt = of_type(types, dt.datetime, dt.date, pd.Timestamp)
        is_num = of_type(types, int, float, np.float64, np.int64) & known
        if is_dt.any():
            # equal dates, datetimes and Timestamps convert alike: once per distinct value
            # (the usual column holds only dates: no copy of its million cells)
            codes, distinct = cells.rest_factorized(is_dt)
            converted = pd.to_datetime(pd.Series(distinct, dtype=object), errors="coerce")
            out[rest[is_dt]] = _exact(converted.to_numpy(), out.dtype)[codes]
        if is_num.any():
            serial = pd.Series(cells.rest()[0][is_num], dtype=object).astype("float64")
            ok = (serial >= _MIN_SERIAL) & (serial <= _MAX_SERIAL)
            days = pd.to_timedelta(np.floor(serial.where(ok, 0)), unit="D")
            _put(out, rest[is_num], (EXCEL_EPOCH + days).where(ok, pd.NaT).to_numpy())
            bad[rest[is_num]] = ~ok.to_numpy()
        bad[rest[known & ~is_dt & ~is_num]] = True
    if cells.is_str.any():
        codes, strings = cells.used()
        stripped = [s.strip() for s in strings]
        if all(t.isascii() for t in stripped):
            parsed, text_bad, _ = _ascii_text_dates(stripped, order)
        else:
            parsed_s, text_bad_s, _ = text_to_dates(pd.Series(strings, dtype=object), order)
            parsed, text_bad = parsed_s.to_numpy(), text_bad_s.to_numpy(dtype=bool)
        out[cells.is_str] = _exact(parsed, out.dtype)[codes]
        bad[cells.is_str] = text_bad[codes]
    # to the day, as Series.dt.normalize (numpy's day unit floors, before 1970 too)
    days = out.astype("datetime64[D]").astype("datetime64[us]")
    return pd.Series(days, index=index), pd.Series(bad, index=index)


def _put(out: np.ndarray, at: np.ndarray, values: np.ndarray) -> None:
    """out[at] = values, refusing (as a datetime64[us] Series would) to drop sub-microseconds."""
    out[at] = _exact(values, out.dtype)


def _exact(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`values` as `dtype`, refusing (as a datetime64[us] Series would) to drop sub-microseconds;
    checked on the distinct values, before they are spread over a million cells."""
    exact = values.astype(dtype)
    if not np.array_equal(exact.astype(values.dtype), values, equal_nan=True):
        raise TypeError(f"Invalid value '{values}' for dtype '{dtype}'")
    return exact
