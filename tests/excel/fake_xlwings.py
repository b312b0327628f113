"""A small, strict stand-in for the part of xlwings' object model engine.excel uses.

Backed by real workbook data (an .xlsx loaded with openpyxl) and behaving like Excel where it
matters for the adapter:

- values read back the way xlwings returns them: numbers as float, dates as datetime, empty as
  None, an Excel error cell (#N/A) as None unless `options(err_to_str=True)` asks for its text;
  `used_range` starts at the first used cell (not necessarily A1);
- a string written with `range.value` is taken as if typed: a leading apostrophe makes it text
  (the apostrophe is not part of the value), `=...` becomes a formula (only HYPERLINK is
  evaluated, to its friendly name), and number-like text becomes a number — so a missing text
  prefix shows up in the tests as a changed value;
- it refuses what engine.excel must not do: touching `.api`, reading a cell written during the
  same click (`new_click()` starts the next one), adding a duplicate table or defined name;
- it records formats, colours, widths, tables, freeze panes and alerts for assertions.

Values, formats and fonts set on a range are kept as they were passed and turned into per-cell
records only when something looks at the sheet (`cells`, `formulas`, `hyperlinks`,
`number_formats`, `fills`, `fonts`, a read, the used range). Storing cells is Excel's work, not the adapter's: the benchmark times a click up to
the last call into the book, the way a real Excel receives a whole block in one call. Likewise
the stand-in's own work when asked for the used range or a range's values (a real Excel holds the
sheet as a grid and hands it out in one call) is counted in `book.excel_cpu`, so the benchmark can
time it apart.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import time
from pathlib import Path
from typing import Any

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_HYPERLINK = re.compile(r'^=HYPERLINK\("((?:[^"]|"")*)","((?:[^"]|"")*)"\)$')


class ForbiddenAPI(AssertionError):
    pass


def _excel_side(method):
    """Count the CPU time of a stand-in's own work (finding the used range, handing out values)
    in `book.excel_cpu`: that work is Excel's in a real click, not the adapter's."""
    @functools.wraps(method)
    def timed(self, *args, **kwargs):
        book = self.book if isinstance(self, Sheet) else self.sheet.book
        if book._excel_depth:
            return method(self, *args, **kwargs)
        book._excel_depth += 1
        start = time.process_time()
        try:
            return method(self, *args, **kwargs)
        finally:
            book.excel_cpu += time.process_time() - start
            book._excel_depth -= 1
    return timed


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(index: int) -> str:
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def parse_cell(text: str) -> tuple[int, int]:
    m = _CELL.match(text.strip())
    if not m:
        raise ValueError(f"not a cell address: {text!r}")
    return int(m.group(2)), col_index(m.group(1))


class App:
    def __init__(self):
        self.alerts: list[dict] = []

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append({"prompt": prompt, "title": title, "buttons": buttons, "mode": mode})
        return "ok"

    @property
    def api(self):
        raise ForbiddenAPI("App.api used")


class Font:
    def __init__(self, rng: "Range"):
        self._rng = rng

    def _set(self, key, value):
        self._rng.sheet._pending.append(("font", self._rng, key, value))

    bold = property(lambda self: None, lambda self, v: self._set("bold", v))
    size = property(lambda self: None, lambda self, v: self._set("size", v))
    color = property(lambda self: None, lambda self, v: self._set("color", v))
    italic = property(lambda self: None, lambda self, v: self._set("italic", v))


class Range:
    def __init__(self, sheet: "Sheet", r1: int, c1: int, r2: int | None = None,
                 c2: int | None = None, ndim: int | None = None, err_to_str: bool = False):
        self.sheet = sheet
        self.r1, self.c1 = r1, c1
        self.r2, self.c2 = (r2 if r2 is not None else r1), (c2 if c2 is not None else c1)
        if self.r2 < self.r1 or self.c2 < self.c1:
            raise ValueError("range corners out of order")
        self._ndim = ndim
        self._err_to_str = err_to_str

    # geometry
    @property
    def row(self) -> int:
        return self.r1

    @property
    def column(self) -> int:
        return self.c1

    @property
    def shape(self) -> tuple[int, int]:
        return (self.r2 - self.r1 + 1, self.c2 - self.c1 + 1)

    @property
    def address(self) -> str:
        a = f"${col_letters(self.c1)}${self.r1}"
        if (self.r1, self.c1) == (self.r2, self.c2):
            return a
        return a + f":${col_letters(self.c2)}${self.r2}"

    def _cells(self):
        for r in range(self.r1, self.r2 + 1):
            for c in range(self.c1, self.c2 + 1):
                yield (r, c)

    def options(self, ndim=None, err_to_str=False, **_kw) -> "Range":
        return Range(self.sheet, self.r1, self.c1, self.r2, self.c2, ndim=ndim,
                     err_to_str=err_to_str)

    @property
    def api(self):
        raise ForbiddenAPI("Range.api used")

    # values
    @property
    @_excel_side
    def value(self):
        self.sheet.book._reads += 1
        self.sheet._flush()
        cells = self.sheet.cells
        for r, c in self.sheet.written:
            if self.r1 <= r <= self.r2 and self.c1 <= c <= self.c2:
                raise ForbiddenAPI(f"read back {self.sheet.name}!{col_letters(c)}{r}, "
                                   "a cell written in the same click")
        get, columns = cells.get, range(self.c1, self.c2 + 1)
        rows = [[get((r, c)) for c in columns] for r in range(self.r1, self.r2 + 1)]
        for r, c in self.sheet.errors:  # xlwings gives an error cell as None, or as its text
            if self.r1 <= r <= self.r2 and self.c1 <= c <= self.c2 and not self._err_to_str:
                rows[r - self.r1][c - self.c1] = None
        if self._ndim == 2:
            return rows
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        if len(rows) == 1:
            return rows[0]
        if all(len(r) == 1 for r in rows):
            return [r[0] for r in rows]
        return rows

    @value.setter
    def value(self, data):
        self.sheet.book._writes += 1
        if not isinstance(data, (list, tuple)):
            data = [[data]]
        elif data and not isinstance(data[0], (list, tuple)):
            data = [list(data)]
        self.sheet._pending.append(("value", self, data))

    # formats
    number_format = property(lambda self: None,
                             lambda self, v: self.sheet._fmt(self, "number_formats", v))
    color = property(lambda self: None, lambda self, v: self.sheet._fmt(self, "fills", v))

    @property
    def column_width(self):
        return None

    @column_width.setter
    def column_width(self, value):
        for c in range(self.c1, self.c2 + 1):
            self.sheet.column_widths[c] = value

    @property
    def font(self) -> Font:
        return Font(self)

    def add_hyperlink(self, address, text_to_display=None, screen_tip=None):
        self.sheet._flush()
        self.sheet._hyperlinks[(self.r1, self.c1)] = address
        self.sheet._set_cell(self.r1, self.c1, "'" + str(text_to_display or address))


class Table:
    def __init__(self, sheet, name, rng, style):
        self.parent, self.name, self.range, self.table_style = sheet, name, rng, style


class Tables:
    def __init__(self, sheet: "Sheet"):
        self.sheet = sheet
        self.items: list[Table] = []

    def __iter__(self):
        return iter(list(self.items))

    def __len__(self):
        return len(self.items)

    def add(self, source=None, name=None, source_type=None, link_source=None, has_headers=True,
            destination=None, table_style_name="TableStyleMedium2"):
        if not isinstance(has_headers, bool):  # xlwings Lite insists
            raise TypeError("has_headers must be True or False")
        for sh in self.sheet.book.sheets:
            for t in sh.tables:
                if t.name.casefold() == str(name).casefold():
                    raise ValueError(f"a table named {name!r} already exists")
            for t in sh.tables:  # Excel tables may not overlap
                a, b = t.range, source
                if (sh is self.sheet and a.r1 <= b.r2 and b.r1 <= a.r2
                        and a.c1 <= b.c2 and b.c1 <= a.c2):
                    raise ValueError("tables cannot overlap")
        t = Table(self.sheet, name, source, table_style_name)
        self.items.append(t)
        return t


class FreezePanes:
    def __init__(self, sheet):
        self.sheet = sheet

    def freeze_at(self, frozen_range):
        self.sheet.frozen = frozen_range

    def unfreeze(self):
        self.sheet.frozen = None


def _flushed(store: str) -> property:
    """A Sheet attribute that first turns pending range settings into per-cell records."""
    def get(sheet: Sheet) -> dict:
        sheet._flush()
        return getattr(sheet, store)
    return property(get)


class Sheet:
    def __init__(self, book: "Book", name: str):
        self.book = book
        self._name = name
        self._cells: dict[tuple[int, int], Any] = {}
        self._formulas: dict[tuple[int, int], str] = {}
        self._number_formats: dict[tuple[int, int], str] = {}
        self._fills: dict[tuple[int, int], Any] = {}
        self._fonts: dict[tuple[int, int], dict] = {}
        self.column_widths: dict[int, float] = {}
        self._hyperlinks: dict[tuple[int, int], str] = {}
        self._pending: list[tuple] = []
        self.tables = Tables(self)
        self.freeze_panes = FreezePanes(self)
        self.frozen = None
        self.written: set[tuple[int, int]] = set()
        self.errors: set[tuple[int, int]] = set()  # cells holding an Excel error, e.g. "#N/A"

    @property
    def name(self) -> str:
        return self._name

    @property
    def index(self) -> int:
        return self.book.sheets._items.index(self) + 1

    @property
    def api(self):
        raise ForbiddenAPI("Sheet.api used")

    def _flush(self) -> None:
        """Turn what was set on ranges so far into per-cell records, in the order it was set."""
        pending, self._pending = self._pending, []
        for kind, rng, *rest in pending:
            if kind == "value":
                for i, row in enumerate(rest[0]):
                    for j, v in enumerate(row):
                        self._set_cell(rng.r1 + i, rng.c1 + j, v)
            elif kind == "font":
                key, value = rest
                for cell in rng._cells():
                    self._fonts.setdefault(cell, {})[key] = value
            else:
                store = getattr(self, "_" + kind)
                for cell in rng._cells():
                    store[cell] = rest[0]

    # per-cell records, brought up to date with what was set on ranges before they are looked at
    cells = _flushed("_cells")
    formulas = _flushed("_formulas")
    hyperlinks = _flushed("_hyperlinks")
    number_formats = _flushed("_number_formats")
    fills = _flushed("_fills")
    fonts = _flushed("_fonts")

    def _set_cell(self, r, c, v):
        self.written.add((r, c))
        self.errors.discard((r, c))
        self._formulas.pop((r, c), None)
        self._hyperlinks.pop((r, c), None)
        if isinstance(v, str):
            if v.startswith("'"):
                v = v[1:]
            elif v.startswith("="):
                self._formulas[(r, c)] = v
                m = _HYPERLINK.match(v)
                if m:
                    self._hyperlinks[(r, c)] = m.group(1).replace('""', '"')
                    v = m.group(2).replace('""', '"')
                else:
                    v = None
            elif _NUMBER.match(v):  # Excel turns number-like typed text into a number
                v = float(v)
            elif v == "":
                v = None
        elif isinstance(v, bool):
            pass
        elif isinstance(v, int):
            v = float(v)
        elif isinstance(v, dt.date) and not isinstance(v, dt.datetime):
            v = dt.datetime(v.year, v.month, v.day)
        if v is None:
            self._cells.pop((r, c), None)
        else:
            self._cells[(r, c)] = v

    def _fmt(self, rng: Range, attr: str, value):
        self._pending.append((attr, rng, value))

    def range(self, a, b=None) -> Range:
        def corner(x):
            if isinstance(x, tuple):
                return int(x[0]), int(x[1])
            if isinstance(x, Range):
                return x.r1, x.c1
            return parse_cell(x)
        if b is None and isinstance(a, str) and ":" in a:
            a, b = a.split(":")
        r1, c1 = corner(a)
        if b is None:
            return Range(self, r1, c1)
        r2, c2 = corner(b)
        return Range(self, r1, c1, r2, c2)

    def __getitem__(self, item):
        return self.range(item)

    @property
    @_excel_side
    def used_range(self) -> Range:
        cells = self.cells
        if not cells:
            return Range(self, 1, 1)
        rows = [r for r, _ in cells]
        cols = [c for _, c in cells]
        return Range(self, min(rows), min(cols), max(rows), max(cols))

    def delete(self):
        self.book.sheets._items.remove(self)
        self.book.deleted.append(self._name)

    def clear(self):
        raise ForbiddenAPI("Sheet.clear: engine.excel replaces its sheets instead")

    def activate(self):
        self.book.active = self

    def __repr__(self):
        return f"<Sheet {self._name!r}>"


class Sheets:
    def __init__(self, book: "Book"):
        self.book = book
        self._items: list[Sheet] = []

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)

    def __getitem__(self, key) -> Sheet:
        if isinstance(key, int):
            return self._items[key]
        for s in self._items:
            if s.name.casefold() == str(key).casefold():
                return s
        raise KeyError(key)

    def __call__(self, key):
        return self._items[key - 1] if isinstance(key, int) else self[key]

    def add(self, name=None, before=None, after=None) -> Sheet:
        name = name or f"Sheet{len(self._items) + 1}"
        if any(s.name.casefold() == name.casefold() for s in self._items):
            raise ValueError(f"a sheet named {name!r} already exists")
        if len(name) > 31 or re.search(r"[:\\/?*\[\]]", name):
            raise ValueError(f"invalid sheet name {name!r}")
        s = Sheet(self.book, name)
        if before is not None:
            self._items.insert(self._items.index(before), s)
        elif after is not None:
            self._items.insert(self._items.index(after) + 1, s)
        else:
            self._items.insert(0, s)  # Excel adds before the active sheet; close enough
        self.book.added.append(name)
        return s


class Name:
    def __init__(self, book, name, refers_to):
        self.book, self.name, self._refers_to = book, name, refers_to

    @property
    def refers_to(self):
        return self._refers_to

    @refers_to.setter
    def refers_to(self, value):
        self._refers_to = value

    def delete(self):
        self.book.names._items.remove(self)


class Names:
    def __init__(self, book):
        self.book = book
        self._items: list[Name] = []

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)

    def add(self, name, refers_to):
        if any(n.name.casefold() == name.casefold() for n in self._items):
            raise ValueError(f"the name {name!r} already exists (Office.js refuses duplicates)")
        n = Name(self.book, name, refers_to)
        self._items.append(n)
        return n


class Book:
    def __init__(self, fullname: str | Path):
        self.fullname = str(fullname)
        self.name = Path(self.fullname).name
        self.app = App()
        self.sheets = Sheets(self)
        self.names = Names(self)
        self.active = None
        self.added: list[str] = []
        self.deleted: list[str] = []
        self._reads = 0
        self._writes = 0
        self.excel_cpu = 0.0  # CPU seconds of the stand-in's own reads (Excel's side of a click)
        self._excel_depth = 0

    @property
    def api(self):
        raise ForbiddenAPI("Book.api used")

    def new_click(self) -> None:
        """The next click: cells written before may be read again."""
        for s in self.sheets:
            s._flush()
            s.written.clear()
        self.app.alerts.clear()
        self.added.clear()
        self.deleted.clear()

    @classmethod
    def from_xlsx(cls, path: Path, *, fullname: str | Path | None = None) -> "Book":
        """Cell values (cached results for formulas) of every sheet, plus defined names."""
        import openpyxl

        wb = openpyxl.load_workbook(path, data_only=True)
        book = cls(fullname or path)
        for ws in wb.worksheets:
            s = Sheet(book, ws.title)
            book.sheets._items.append(s)
            for row in ws.iter_rows():
                for cell in row:
                    v = cell.value
                    if v is None or v == "":
                        continue
                    if cell.data_type == "e":  # the error's text, as Excel shows it
                        s.errors.add((cell.row, cell.column))
                    if isinstance(v, bool):
                        pass
                    elif isinstance(v, (int, float)):
                        v = float(v)
                    elif isinstance(v, dt.date) and not isinstance(v, dt.datetime):
                        v = dt.datetime(v.year, v.month, v.day)
                    elif isinstance(v, dt.time):
                        v = v.isoformat()
                    s.cells[(cell.row, cell.column)] = v
        for name, dn in wb.defined_names.items():
            book.names._items.append(Name(book, name, "=" + str(dn.attr_text)))
        wb.close()
        return book

    def snapshot(self, sheet: str) -> dict:
        s = self.sheets[sheet]
        return {"cells": dict(s.cells), "formulas": dict(s.formulas),
                "formats": dict(s.number_formats), "fills": dict(s.fills),
                "fonts": {k: dict(v) for k, v in s.fonts.items()},
                "widths": dict(s.column_widths), "tables": [t.name for t in s.tables]}
