"""Identifiers stay text; matching uses a normalised key.

Staff type `INV-00123`, `inv 123 ` and `INV123` for the same invoice, and a number cell holding
1001 arrives as 1001.0. The display value is kept exactly as typed; the key is what joins.

Reading works on `Cells`: a column of grid values split once by exact type, its text cells coded
by distinct string. Payers, codes, names and dates typed as text repeat across thousands of rows,
so text work is done once per distinct string and spread back by code (row ids, which hardly
repeat, are worked on as they are, in one pass over their joined text); numbers and typed dates
are handled as whole numpy arrays.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import numpy as np
import pandas as pd

try:  # to read the addresses an object array holds (not on every interpreter)
    import ctypes
except ImportError:  # pragma: no cover
    ctypes = None

try:  # the hash tables pd.factorize picks for str and other objects (pandas internals)
    from pandas._libs.hashtable import PyObjectHashTable as _ObjectHashTable
    from pandas._libs.hashtable import StringHashTable as _StringHashTable
except ImportError:  # pragma: no cover - a pandas without them: pd.factorize, a dict
    _ObjectHashTable = _StringHashTable = None

Types = tuple[np.ndarray, list[type]]  # a code per cell, the type of each code


class _TypeCodes(dict):
    """Type → code, numbered as first met."""

    def __missing__(self, kind: type) -> int:
        code = self[kind] = len(self)
        return code


def type_codes(values) -> Types:
    """The exact type of each value, as small codes (cheaper to compare than type objects),
    numbered as first met. The types are coded by the address each cell of an array of them
    holds (one type, one address), on pandas' integer hash table: under half the cost of hashing
    the type objects on its object hash table (≈ 0.15 s less on a million rows of 12 cells),
    which is what is done where those addresses cannot be read."""
    types = np.fromiter(map(type, values), dtype=object, count=len(values))
    addresses = _addresses(types)
    if addresses is not None:
        found, uniques = pd.factorize(addresses)
        # the type at each address: those of the first cells, else the first cell holding it
        near = {id(t): t for t in set(types[:4096].tolist())}
        kinds = [near[a] if a in near else types[np.argmax(addresses == a)]
                 for a in uniques.tolist()]
        return found.astype(np.intp, copy=False), kinds
    if _ObjectHashTable is None:
        codes = _TypeCodes()
        found = np.fromiter(map(codes.__getitem__, types), dtype=np.intp, count=len(values))
        return found, list(codes)
    kinds, found = _ObjectHashTable(8).factorize(types, na_sentinel=-1, na_value=None,
                                                 mask=None, ignore_na=False)
    return found, kinds.tolist()


def _addresses(objects: np.ndarray) -> np.ndarray | None:
    """The address each cell of a contiguous object array holds, as integers: a view of its
    memory, valid while the array is; None where ctypes cannot read them."""
    if ctypes is None or not objects.flags.c_contiguous or objects.itemsize != ctypes.sizeof(
            ctypes.c_void_p) or np.dtype(np.uintp).itemsize != objects.itemsize:
        return None
    if not len(objects):
        return np.empty(0, dtype=np.uintp)
    cells = (ctypes.c_char * objects.nbytes).from_address(objects.ctypes.data)
    return np.frombuffer(cells, dtype=np.uintp)


def none_at(values: np.ndarray) -> np.ndarray | None:
    """Which cells of an object array hold None, told by address, without touching the objects
    the other cells hold; None where addresses cannot be read."""
    values = np.ascontiguousarray(values)
    addresses = _addresses(values)
    return None if addresses is None else addresses == id(None)


def of_type(types: Types, *kinds: type) -> np.ndarray:
    """Mask of cells whose exact type is one of `kinds` (a subclass does not count)."""
    codes, found = types
    wanted = np.array([any(k is w for w in kinds) for k in found] + [False], dtype=bool)
    return wanted[codes]


# cells of these exact types are never NA (pd.NaT has a type of its own)
_NEVER_NA = (str, int, bool, dt.date, dt.datetime, pd.Timestamp)


class _Column:
    """What the cells of one column share, worked out once: exact types, the text values (coded;
    distinct unless they hardly repeat) and their display texts, which cells are NA."""

    __slots__ = ("_distinct", "_floats", "_joined", "_lengths", "_lowered", "_na", "_texts",
                 "as_is", "codes", "is_str", "str_subclass", "strings", "types", "values")

    def __init__(self, values: np.ndarray, types: Types | None = None):
        n = len(values)
        self.values = values
        self.types = types if types is not None else type_codes(values)
        self.is_str = is_str = of_type(self.types, str)
        self._distinct = np.empty(0, dtype=object)  # `strings` as an array
        all_str = bool(n) and bool(is_str.all())
        # all text, each cell its own string (codes are positions): row ids, not coded
        self.as_is = all_str and _hardly_repeat(values)
        if self.as_is:
            self.codes, self._distinct = np.arange(n), values
        elif all_str:
            self.codes, self._distinct = _factorize_str(values)
        else:
            self.codes = np.full(n, -1, dtype=np.intp)
            if is_str.any():
                self.codes[is_str], self._distinct = _coded(values[is_str])
        self.strings: list[str] = self._distinct.tolist()
        codes, kinds = self.types
        self.str_subclass = False
        if any(issubclass(k, str) and k is not str for k in kinds):
            present = np.bincount(codes[~is_str], minlength=len(kinds)) > 0
            self.str_subclass = any(issubclass(k, str) and k is not str
                                    for k, p in zip(kinds, present) if p)
        self._na: np.ndarray | None = None
        self._floats: tuple[np.ndarray, np.ndarray] | None = None
        self._texts: tuple[np.ndarray, np.ndarray] | None = None
        self._lengths: np.ndarray | None = None
        self._joined: str | None = None
        self._lowered: str | None = None

    def na(self) -> np.ndarray:
        """NA cells (None, NaN, NaT, …)."""
        if self._na is None:
            self._na = np.zeros(len(self.values), dtype=bool)
            maybe = ~of_type(self.types, *_NEVER_NA)
            if maybe.any():
                is_float, floats = self.floats()
                self._na[is_float] = np.isnan(floats[is_float])
                maybe &= ~is_float
                if maybe.any():
                    self._na[maybe] = pd.isna(self.values[maybe])
        return self._na

    def floats(self) -> tuple[np.ndarray, np.ndarray]:
        """(which cells are exactly float, their values as float64, NaN for the other cells):
        converted once, for blanks, amounts and numbers alike."""
        if self._floats is None:
            is_float = of_type(self.types, float, np.float64)
            if is_float.all():
                floats = self.values.astype(np.float64)
            else:
                floats = np.full(len(self.values), np.nan)
                if is_float.any():
                    floats[is_float] = self.values[is_float].astype(np.float64)
            self._floats = is_float, floats
        return self._floats

    def joined(self) -> str:
        """The strings joined by line breaks: one text to search or to make keys of."""
        if self._joined is None:
            self._joined = "\n".join(self.strings)
        return self._joined

    def may_hold(self, needle: str) -> bool:
        """Whether a string may hold `needle` once lower-cased: false when the strings are ASCII
        and hold its first character in neither case (row ids hold no "t" of "total"), found
        without lower-casing them all."""
        joined = self.joined()
        return not joined.isascii() or needle[0].lower() in joined or needle[0].upper() in joined

    def lowered(self) -> str:
        """`joined`, lower-cased: searched for totals labels, then for Excel errors."""
        if self._lowered is None:
            self._lowered = self.joined().lower()
        return self._lowered

    def texts(self) -> tuple[np.ndarray, np.ndarray]:
        """(display text of each string, stripped, None when blank; the blank mask). Read only:
        where no string is blank or spaced (row ids, as a rule) it is the strings themselves."""
        if self._texts is None:
            n = len(self.strings)
            joined = self.joined()
            bounds = _line_bounds(joined, n)
            if bounds is None:
                texts = _objects(map(str.strip, self.strings), n)
                blank = texts == ""
                texts[blank] = None
            else:  # the usual column: only the strings with a space at an end are stripped
                spaced, blank = _spaced_and_empty(*bounds, joined)
                texts = self._distinct
                lengths = bounds[2] - bounds[1]
                if spaced.any():
                    texts = texts.copy()
                    at = np.flatnonzero(spaced)
                    stripped = _objects((self.strings[i].strip() for i in at.tolist()), len(at))
                    texts[at] = stripped
                    blank[at] = stripped == ""
                    lengths[at] = np.fromiter(map(len, stripped), dtype=np.intp, count=len(at))
                if blank.any():
                    texts = texts.copy() if texts is self._distinct else texts
                    texts[blank] = None
                self._lengths = lengths
            self._texts = texts, blank
        return self._texts

    def lengths(self) -> np.ndarray | None:
        """The length of each string's display text (0 when blank), when the strings are ASCII
        without a line break inside; else None."""
        self.texts()
        return self._lengths


# ASCII white space, as str.strip sees it
_WHITE = np.array([chr(c).strip() == "" for c in range(128)] + [False] * 128)


def _line_bounds(joined: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(the bytes, where each line starts, where it stops) of the `n` strings joined by line
    breaks in `joined`; None unless they are ASCII without a line break inside."""
    if not (n and joined.isascii()):
        return None
    chars = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    breaks = np.flatnonzero(chars == ord("\n"))
    if len(breaks) != n - 1:
        return None
    return chars, np.concatenate(([0], breaks + 1)), np.concatenate((breaks, [len(chars)]))


_WHITE_BUT_BREAK = "".join(chr(c) for c in range(128) if _WHITE[c] and chr(c) != "\n")


def _spaced_and_empty(chars: np.ndarray, starts: np.ndarray, stops: np.ndarray,
                      joined: str) -> tuple[np.ndarray, np.ndarray]:
    """(which lines have white space at an end, which are empty) of ASCII text (`_line_bounds`
    of `joined`), read off its bytes rather than string by string; text with no white space but
    its line breaks (row ids, as a rule) has no spaced line."""
    empty = starts == stops
    if not any(c in joined for c in _WHITE_BUT_BREAK):
        return np.zeros(len(starts), dtype=bool), empty
    full = ~empty
    spaced = np.zeros(len(starts), dtype=bool)
    spaced[full] = _WHITE[chars[starts[full]]] | _WHITE[chars[stops[full] - 1]]
    return spaced, empty


def _coded(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values); values that hardly repeat (row ids) are kept as they are, since
    coding them would cost more than it saves."""
    if _hardly_repeat(strings):
        return np.arange(len(strings)), strings
    return _factorize_str(strings)


def _hardly_repeat(strings: np.ndarray) -> bool:
    """Whether the strings (judged by the first thousand) hardly repeat, blanks aside: claim
    numbers are a million distinct strings and some blanks, not worth coding either."""
    sample = strings[:1000].tolist()
    filled = [s for s in sample if s]
    return 2 * len(filled) >= len(sample) and len(set(filled)) > 0.95 * len(filled)


def _factorize_str(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`pd.factorize` of values that are all exactly `str` (the same codes and uniques), straight
    on the string hash table pd.factorize picks for them, without first checking every value to
    learn that they are str: a pass over a million scattered objects per column."""
    if _StringHashTable is None:  # pragma: no cover
        return pd.factorize(strings)
    table = _StringHashTable(len(strings))
    uniques, codes = table.factorize(strings, na_sentinel=-1, na_value=None, mask=None,
                                     ignore_na=True)
    return codes.astype(np.intp, copy=False), uniques


class Cells:
    """Cells of one column, split by exact type.

    Text cells (exactly str) are coded by value: `codes` indexes `strings`, -1 for any other
    cell. The other cells ("rest": numbers, dates, booleans, blanks) are read by their own
    exact type, since 1, 1.0 and True are equal values that do not read alike.
    """

    __slots__ = ("_column", "_rows", "codes", "is_str")

    def __init__(self, values: np.ndarray, types: Types | None = None):
        """`types`: the exact type of each value (`type_codes`), when known."""
        self._column = _Column(values, types)
        self._rows: np.ndarray | None = None
        self.codes, self.is_str = self._column.codes, self._column.is_str

    @classmethod
    def of(cls, values: pd.Series) -> Cells:
        return cls(values.to_numpy(dtype=object))

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def strings(self) -> list[str]:
        """The text values (some may belong only to cells left out by `take`)."""
        return self._column.strings

    def hardly_repeats(self) -> bool:
        """More distinct texts than half the cells: row ids such as invoice numbers, a million
        strings at 1M rows."""
        return len(self.strings) > len(self) // 2

    def joined(self) -> str:
        """`strings` joined by line breaks."""
        return self._column.joined()

    @property
    def values(self) -> np.ndarray:
        values = self._column.values
        return values if self._rows is None else values[self._rows]

    def values_at(self, at: np.ndarray) -> np.ndarray:
        """`values[at]`, without gathering the others first."""
        return self._column.values[at if self._rows is None else self._rows[at]]

    def take(self, rows: np.ndarray) -> Cells:
        """The cells at positions `rows`."""
        new = object.__new__(Cells)
        new._column = self._column
        new._rows = rows if self._rows is None else self._rows[rows]
        new.codes, new.is_str = self.codes[rows], self.is_str[rows]
        return new

    def rest(self) -> tuple[np.ndarray, Types, np.ndarray]:
        """(values, exact types, NA mask) of the cells that are not str, in order."""
        at = self._rest_at()
        values = self._column.values
        return (values if at is None else values[at]), *self.rest_types()

    def rest_types(self) -> tuple[Types, np.ndarray]:
        """`rest` but the values (the cells themselves are not gathered)."""
        column = self._column
        codes, kinds = column.types
        at = self._rest_at()
        if at is None:
            return (codes, kinds), column.na()
        return (codes[at], kinds), column.na()[at]

    def rest_floats(self) -> np.ndarray:
        """The value of each cell of `rest` that is exactly float, as float64 (NaN for the
        others), converted once per column."""
        floats = self._column.floats()[1]
        at = self._rest_at()
        return floats if at is None else floats[at]

    def rest_factorized(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`pd.factorize` of the cells of `rest` at `wanted` (the codes of equal values agree;
        the distinct values may come in another order). Where those are most of the column
        (a date column with a few dates typed as text), the whole column is coded rather than
        a copy of its million cells made first."""
        values = self._column.values
        at = self._rest_at()
        if at is None:
            return pd.factorize(values if wanted.all() else values[wanted])
        at = at[wanted]
        if len(at) < 0.9 * len(values):
            return pd.factorize(values[at])
        codes, distinct = pd.factorize(values)
        codes = codes[at]
        present = np.bincount(codes, minlength=len(distinct)) > 0
        if present.all():
            return codes, distinct
        return (np.cumsum(present) - 1)[codes], distinct[present]

    def _rest_at(self) -> np.ndarray | None:
        """Positions in the column of the cells that are not str; None for all of them."""
        if self._rows is None and not self._column.is_str.any():
            return None
        at = np.flatnonzero(~self.is_str)
        return at if self._rows is None else self._rows[at]

    def used(self) -> tuple[np.ndarray, list[str]]:
        """(for each str cell, its index in the list), the str values some cell has."""
        codes = self.codes[self.is_str]
        present = np.zeros(len(self.strings), dtype=bool)
        present[codes] = True
        if present.all():
            return codes, self.strings
        return np.cumsum(present)[codes] - 1, [s for s, p in zip(self.strings, present) if p]

    def texts(self) -> tuple[np.ndarray, np.ndarray]:
        return self._column.texts()

    def lengths(self) -> np.ndarray | None:
        return self._column.lengths()

    def as_is(self) -> bool:
        """Each cell is text, its own string: `strings` are the cells, in order."""
        return self._rows is None and self._column.as_is

    def spread(self, per_string: np.ndarray, default) -> np.ndarray:
        """Per-cell values from one value per string; `default` for the other cells."""
        if self.as_is():
            return per_string.copy()
        if len(self.codes) and self.codes.min() >= 0:  # all text
            return per_string[self.codes]
        table = np.full(len(per_string) + 1, default, dtype=per_string.dtype)
        table[:-1] = per_string
        return table[self.codes]

    def blank(self) -> np.ndarray:
        """Cells that hold nothing: NA, or text that is only spaces."""
        out = self.spread(self.texts()[1], False)
        if not self.is_str.all():
            if self._column.str_subclass:
                values, _types, na = self.rest()
                na = na | np.fromiter((isinstance(v, str) and not v.strip() for v in values),
                                      dtype=bool, count=len(values))
            else:  # the NA mask alone, without gathering the cells themselves
                at = np.flatnonzero(~self.is_str)
                na = self._column.na()[at if self._rows is None else self._rows[at]]
            out[~self.is_str] = na
        return out

    def text_matches(self, match, needle: str) -> np.ndarray:
        """Text cells (str subclasses included) for which `match(text)` is true; a text can only
        match when it holds `needle` once lower-cased."""
        out = np.zeros(len(self), dtype=bool)
        strings = self.strings
        if self._column.may_hold(needle) and needle in (lowered := self._column.lowered()):
            hits = np.zeros(len(strings), dtype=bool)
            for i in _lines_holding(strings, lowered, needle):
                hits[i] = match(strings[i]) is not None
            out = self.spread(hits, False)
        if self._column.str_subclass:
            values = self.rest()[0]
            out[~self.is_str] = np.fromiter(
                (isinstance(v, str) and match(v) is not None for v in values), dtype=bool,
                count=len(values))
        return out


def _lines_holding(strings: list[str], lowered: str, needle: str):
    """Positions of the strings that hold `needle` once lower-cased; `lowered` is the strings
    joined by line breaks, lower-cased."""
    if lowered.isascii() and lowered.count("\n") == len(strings) - 1:
        # lower-casing ASCII keeps lengths: the needle is found in the joined text, and each
        # place it is found in tells the string by where the strings end
        ends = np.cumsum(np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)) + 1)
        found = [m.start() for m in re.finditer(re.escape(needle), lowered)]
        return np.unique(np.searchsorted(ends, found, side="right")).tolist()
    return [i for i, s in enumerate(strings) if needle in s.lower()]


def _objects(items, n: int) -> np.ndarray:
    return np.fromiter(items, dtype=object, count=n)


def _other_texts(values: np.ndarray, types: Types, na: np.ndarray) -> np.ndarray:
    """Display text (str or None) of cells that are not exactly str."""
    out = np.empty(len(values), dtype=object)
    is_float = of_type(types, float, np.float64)
    if is_float.any():
        f = values[is_float].astype(np.float64)
        finite = np.isfinite(f)
        whole = finite & (f == np.floor(f)) & (np.abs(f) < 1e15)
        text = np.empty(len(f), dtype=object)
        if whole.any():
            text[whole] = _objects(map(str, f[whole].astype(np.int64).tolist()), int(whole.sum()))
        frac = finite & ~whole
        if frac.any():
            text[frac] = pd.Series(f[frac], dtype="float64").astype(str).to_numpy(dtype=object)
        out[is_float] = text
    is_int = of_type(types, int, np.int64)
    if is_int.any():
        out[is_int] = _objects(map(str, values[is_int].tolist()), int(is_int.sum()))
    other = ~(is_float | is_int | of_type(types, str) | na)
    if other.any():
        # numbers print without spaces; anything else is stripped like text
        shown = pd.Series(values[other], dtype=object).astype(str).tolist()
        out[other] = _objects(((t.strip() or None) for t in shown), len(shown))
    return out


def cells_text(cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """(display text of each cell as str or None, which cells have none); see `cell_text`."""
    texts, blank = cells.texts()
    text = cells.spread(texts, None)
    missing = cells.spread(blank, False)
    if not cells.is_str.all():
        rest = ~cells.is_str
        text[rest] = other = _other_texts(*cells.rest())
        missing[rest] = np.equal(other, None)
    return text, missing


def cells_text_and_key(cells: Cells, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(display text, matching key, which cells have no text); `kind` is "id" or "name". Where
    ids hardly repeat (a million strings at 1M rows), a key that is its display text is that
    text, one object rather than two."""
    batch = _keys if kind == "id" else _names
    texts, blank = cells.texts()
    share = kind == "id" and cells.hardly_repeats()
    # a key drops spaces: each string keys as its stripped text does, a blank one to None
    keys = _id_keys(cells, texts) if share else batch(cells.strings, cells.joined())
    text, missing = cells.spread(texts, None), cells.spread(blank, False)
    key = keys if cells.as_is() else cells.spread(keys, None)  # keys: made here, not shared
    if not cells.is_str.all():
        rest = ~cells.is_str
        text[rest] = other = _other_texts(*cells.rest())
        missing[rest] = none = np.equal(other, None)
        distinct = list(dict.fromkeys(other[~none].tolist()))
        distinct_keys = batch(distinct)
        if share:
            share_equal(distinct_keys, _objects(distinct, len(distinct)))
        keyed = dict(zip(distinct, distinct_keys.tolist()))
        keyed[None] = None
        key[rest] = _objects(map(keyed.__getitem__, other.tolist()), len(other))
    return text, key, missing


def _id_keys(cells: Cells, texts: np.ndarray) -> np.ndarray:
    """`_keys` of the cells' strings, a key equal to its string's display text (`texts`) being
    that text; only keys as long as their text are compared."""
    lengths = cells.lengths()
    if lengths is None:
        keys = _keys(cells.strings, cells.joined())
        share_equal(keys, texts)
        return keys
    joined = _ascii_keys(cells.joined())
    keys = _objects(joined.split("\n"), len(lengths))
    _, starts, stops = _line_bounds(joined, len(keys))
    key_lengths = stops - starts
    keys[key_lengths == 0] = None
    share_equal(keys, texts, np.flatnonzero(key_lengths == lengths))
    return keys


def share_equal(values: np.ndarray, other: np.ndarray, at: np.ndarray | None = None
                ) -> np.ndarray:
    """Where a value (of those at positions `at`, else any) equals the same position's value of
    `other`, hold that one object, not a copy; those positions."""
    at = np.flatnonzero(values == other) if at is None else at[values[at] == other[at]]
    values[at] = other[at]
    return at


def cell_text(values: pd.Series) -> pd.Series:
    """Cell values as display text: whole-number floats lose their `.0`, blanks become NA."""
    if values.dtype != object and values.dtype != "str":
        return _typed_cell_text(values)
    text, _ = cells_text(Cells.of(values))
    return pd.Series(text, index=values.index, dtype="str", name=values.name)


def _typed_cell_text(values: pd.Series) -> pd.Series:
    # a typed column (datetime64, …) formats its other values through its own dtype
    kinds = values.map(type)
    out = values.astype("object").copy()
    is_float = kinds.isin((float, np.float64))
    if is_float.any():
        f = values[is_float].astype("float64")
        whole = np.isfinite(f) & (f == np.floor(f)) & (f.abs() < 1e15)
        text = f.astype(str)
        text[whole] = f[whole].astype("int64").astype(str)
        text[~np.isfinite(f)] = None
        out[is_float] = text
    is_int = kinds.isin((int, np.int64))
    if is_int.any():
        out[is_int] = values[is_int].astype(str)
    other = ~(is_float | is_int | kinds.eq(str) | values.isna())
    if other.any():
        out[other] = values[other].astype(str)
    s = pd.Series(out, index=values.index, dtype="str").str.strip()
    return s.where(s != "", pd.NA)


_ACCENTS = re.compile(r"[\u0300-\u036f]")
_NOT_KEY = re.compile(r"[^0-9A-Z]")
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")
_NOT_NAME = re.compile(r"[^0-9A-Z ]")
_SPACES = re.compile(r"\s+")
# for ASCII text joined by line breaks: what _NOT_KEY drops, what _NOT_NAME makes a space
_ASCII_KEEP = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n")
_DROP_NOT_KEY = {c: None for c in range(128) if chr(c) not in _ASCII_KEEP}
_SPACE_NOT_NAME = {c: " " for c in range(128) if chr(c) not in _ASCII_KEEP | {" "}}
_SPACE_RUN = re.compile(r"  +")  # a single space stays as it is


def _fold(text: str) -> str:
    if text.isascii():  # NFKD leaves ASCII alone and it holds no combining marks
        return text
    return _ACCENTS.sub("", unicodedata.normalize("NFKD", text))


def _fold_accents(text: pd.Series) -> pd.Series:
    """`José` → `Jose`, full-width `１２` → `12`: letters are not dropped for carrying an accent."""
    s = text.astype("str").str.normalize("NFKD")
    return s.str.replace(r"[\u0300-\u036f]", "", regex=True)


def _key(text: str) -> str:
    return _LEADING_ZEROS.sub("", _NOT_KEY.sub("", _fold(text).upper()))


def _name(text: str) -> str:
    return _SPACES.sub(" ", _NOT_NAME.sub(" ", _fold(text).upper())).strip()


def _keys(texts: list[str], joined: str | None = None) -> np.ndarray:
    """`_key` of many texts (blank key → None): ASCII texts in one pass over their joined text
    (`joined`, when already made), lines apart, since neither pattern crosses a line break."""
    joined = "\n".join(texts) if joined is None else joined
    if not (joined.isascii() and joined.count("\n") == len(texts) - 1):
        return _objects((_key(t) or None for t in texts), len(texts))
    keys = _ascii_keys(joined)
    return _none_for_empty(keys.split("\n"), keys)


def _ascii_keys(joined: str) -> str:
    """`_key` of each line of ASCII text, lines apart."""
    return _drop_leading_zeros(joined.upper().translate(_DROP_NOT_KEY))


_ZERO = ord("0")


def _drop_leading_zeros(text: str) -> str:
    """`_LEADING_ZEROS.sub("", text)` of ASCII text, read off its bytes: a 0 goes when a digit
    follows it and no digit comes before its run of 0s. A regex pays for each 0 it drops (a
    million patient IDs such as 04901310: ≈ 0.19 s); here each run of 0s is followed from where
    it starts, a step at a time (IDs start with a 0 or two, not ten), and the 0s it drops are
    deleted from the bytes in one call (≈ 0.05 s); IDs with no 0 after a letter or line break
    are let through untouched (≈ 0.007 s)."""
    encoded = bytearray(text.encode("ascii"))
    chars = np.frombuffer(encoded, dtype=np.uint8)
    digit = (chars - _ZERO) < 10  # in bytes, whatever comes before "0" wraps round past 10
    starts = chars == _ZERO  # a run of 0s with no digit before it
    starts[1:] &= ~digit[:-1]
    if not starts.any():
        return text
    at = np.flatnonzero(starts)
    dropped = []
    while len(at):
        at = at[at < len(chars) - 1]  # a 0 that ends the text is followed by no digit
        after = chars[at + 1]
        dropped.append(at[(after - _ZERO) < 10])
        at = at[after == _ZERO] + 1
    drop = np.concatenate(dropped)
    if "\0" in text:  # no byte is free to mark the 0s with
        keep = np.ones(len(chars), dtype=bool)
        keep[drop] = False
        return chars[keep].tobytes().decode("ascii")
    chars[drop] = 0
    return encoded.translate(None, b"\0").decode("ascii")


def _names(texts: list[str], joined: str | None = None) -> np.ndarray:
    """`_name` of many texts (blank name → None), ASCII ones in one pass as `_keys` does."""
    joined = "\n".join(texts) if joined is None else joined
    if not (joined.isascii() and joined.count("\n") == len(texts) - 1):
        return _objects((_name(t) or None for t in texts), len(texts))
    # after the first pass a line holds only A-Z, 0-9 and spaces: `\s+` is a run of spaces
    names = _SPACE_RUN.sub(" ", joined.upper().translate(_SPACE_NOT_NAME)).split("\n")
    return _none_for_empty(list(map(str.strip, names)))


def _none_for_empty(texts: list[str], joined: str | None = None) -> np.ndarray:
    """The texts, None for each empty one; `joined`: the texts joined by line breaks, when made
    (a text that has no empty line has no empty text to look for)."""
    out = _objects(texts, len(texts))
    if joined is None or not joined or "\n" in (joined[0], joined[-1]) or "\n\n" in joined:
        out[out == ""] = None
    return out


def _per_distinct(text: pd.Series, batch) -> pd.Series:
    """`batch` once over the distinct texts (ids and names repeat across rows; texts that
    hardly repeat, such as claim numbers, are worked on as they are), blanks → NA.

    Same result as the element-wise pandas string methods, without their per-call overhead.
    """
    s = text.astype("str")
    known = s.notna().to_numpy()
    codes, strings = _coded(s.to_numpy(dtype=object)[known])
    keys = np.full(len(s), None, dtype=object)
    keys[known] = batch(strings.tolist())[codes]
    return pd.Series(keys, index=text.index, dtype="str", name=text.name)


def normalize_key(text: pd.Series) -> pd.Series:
    """Matching key: upper case, only letters and digits, no leading zeros in digit runs."""
    return _per_distinct(text, _keys)


def normalize_name(text: pd.Series) -> pd.Series:
    """Person or payer name key: upper case, single spaces, punctuation dropped."""
    return _per_distinct(text, _names)
