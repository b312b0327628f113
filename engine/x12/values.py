"""The values inside X12 elements: amounts as integer cents, numbers, CCYYMMDD dates,
procedure composites — each parsed the same way by the segment-by-segment reader (engine.x12.read)
and by the column reader of clean claim loops (engine.x12.columnar).

Amounts never go through float: `123.4` is split at the point into whole and cents. Every parser
returns None for a value it cannot read, and the caller decides whether that is a problem.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
from itertools import chain

import numpy as np

from engine.money import decimal_to_cents
from engine.x12.tokenize import Delimiters, split_components, split_composite

# the dates and remark codes a claim and a line take, as both readers read them
CLAIM_DATES = {"232": "statement_from", "233": "statement_to", "050": "received_date"}  # DTM01
LINE_DATES = ("472", "150")  # DTM01 of a service line's date
REMARK_ELEMENTS = {"MOA": (3, 4, 5, 6, 7), "MIA": (5, 20, 21, 22, 23)}  # remark code elements

try:  # pandas' own rows-to-grid loops, several times faster than `np.fromiter`
    from pandas._libs.lib import to_object_array as _to_object_array
    from pandas._libs.lib import to_object_array_tuples as _to_object_array_tuples
except ImportError:  # pragma: no cover - a pandas without them: the generic path
    _to_object_array = _to_object_array_tuples = None


def object_grid(rows: list, width: int) -> np.ndarray:
    """Rows (all lists or all tuples, `width` long) as one (n, width) object array."""
    n = len(rows)
    if n and _to_object_array is not None:
        try:
            grid = (_to_object_array(rows) if type(rows[0]) is list
                    else _to_object_array_tuples(rows))
            if grid.shape == (n, width):
                return grid
        except (TypeError, ValueError):
            pass
    return np.fromiter(chain.from_iterable(rows), dtype=object,
                       count=n * width).reshape(n, width)


def element_grid(segments: list[list[str]], width: int,
                 take: np.ndarray | None = None) -> np.ndarray:
    """The first `width` elements of segments[take[0]], segments[take[1]] … (of every segment
    in order without `take`) as an object array of shape (len(take), width), "" where a
    segment is shorter."""
    if not segments:
        return np.full((0 if take is None else len(take), width), "", dtype=object)
    if _to_object_array is not None:
        grid = _to_object_array(segments, min_width=width)[:, :width]
        # the cells past the end of a shorter segment are None: found by the segments'
        # lengths, which costs a fraction of comparing every cell with None
        lengths = np.fromiter(map(len, segments), dtype=np.intp, count=len(segments))
        short = np.flatnonzero(lengths < width)
        if len(short):
            cells = grid[short]
            cells[np.arange(width) >= lengths[short, None]] = ""
            grid[short] = cells
    else:  # pragma: no cover - a pandas without it
        grid = object_grid([(seg + [""] * width)[:width] for seg in segments], width)
    return grid if take is None else grid[take]


_MAX_CENTS = 2 ** 63


@functools.lru_cache(maxsize=1 << 16)  # amounts repeat (fees, copays): parse each text once
def cents(token: str) -> int | None:
    """An X12 decimal (`123.4`, `-12`, `.5`) in cents; None when it is not one."""
    neg = token.startswith("-")
    body = token[1:] if neg else token
    whole, _, frac = body.partition(".")
    if (whole.isascii() and frac.isascii() and (whole.isdigit() or not whole)
            and (frac.isdigit() or not frac) and (whole or frac) and len(frac) <= 2):
        value = int(whole or "0") * 100 + int(frac.ljust(2, "0") if frac else "0")
        value = -value if neg else value
    else:
        value = decimal_to_cents(token) if token.strip() and "_" not in token else None
    # beyond 64-bit cents (`1E20`, 20+ digits) is no amount: a problem row, not a crash
    return value if value is None or abs(value) < _MAX_CENTS else None


@functools.lru_cache(maxsize=1 << 12)  # units and quantities repeat
def to_number(token: str) -> float | None:
    """An X12 decimal (`2`, `1.5`) as a float; None when it is not one (`float` alone would read
    `1_0` as 10)."""
    if "_" in token:
        return None
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@functools.lru_cache(maxsize=1 << 12)  # a file holds a few hundred distinct dates
def date_text(token: str) -> str | None:
    """`token` when it is a CCYYMMDD date, else None; equal dates come back as one object."""
    return token if valid_date(token) else None


DAY_TYPE = np.dtype("datetime64[us]")  # how the tables hold dates
NO_DAY = np.datetime64("NaT", "us")


@functools.lru_cache(maxsize=1 << 14)
def day(text: str) -> np.datetime64:
    """A CCYYMMDD date as the tables hold it; NaT for anything else."""
    if not isinstance(text, str) or not valid_date(text):
        return NO_DAY
    return np.datetime64(f"{text[:4]}-{text[4:6]}-{text[6:]}", "us")


@functools.lru_cache(maxsize=1 << 12)
def valid_date(token: str) -> bool:
    if len(token) != 8 or not token.isascii() or not token.isdigit():
        return False
    try:
        _dt.date(int(token[:4]), int(token[4:6]), int(token[6:]))
    except ValueError:
        return False
    return True


def element(seg: list[str], i: int) -> str:
    """Element i, already stripped by the tokenizer; blank when the segment is shorter."""
    return seg[i] if i < len(seg) else ""


BLANKS = [""] * 10  # pads a segment so its first elements can be unpacked at once


@functools.lru_cache(maxsize=1 << 12)  # a payer bills a few hundred distinct procedures
def procedure(composite: str, component: str, element: str) -> tuple[str | None, ...]:
    """SVC01 (`HC:99213:25`) → qualifier, code, modifiers joined by `:`, modifiers 1 to 4."""
    parts = [p.strip() for p in split_components(composite, component, element)]
    modifiers = [p for p in parts[2:6] if p]
    mods = modifiers + [None] * (4 - len(modifiers))
    code = parts[1] if len(parts) > 1 and parts[1] else None
    return (parts[0] or None, code, ":".join(modifiers) or None, *mods)


def service_elements(seg: list[str]) -> tuple[str, str, str, str, str, str]:
    """SVC01–SVC06: procedure composite, charge, payment, revenue code, units and the original
    procedure ("" for each one the segment does not have)."""
    if len(seg) == 6:  # the usual line: no original procedure (SVC06)
        _, composite, charge, paid, revenue, units = seg
        return composite, charge, paid, revenue, units, ""
    return tuple(seg[1:7] if len(seg) >= 7 else (seg + BLANKS)[1:7])


def original_procedure(token: str, delims: Delimiters) -> str | None:
    """SVC06 (`HC:99214`) → the procedure code the payer replaced (None when blank)."""
    if not token:
        return None
    parts = split_composite(token, delims)
    return (parts[1] if len(parts) > 1 else parts[0]).strip() or None
