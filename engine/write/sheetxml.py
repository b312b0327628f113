"""The XML parts of one result sheet: worksheet, tables, drawing and charts.

Why hand-written XML instead of an xlsx library: the result sheets go into the staff's own
workbook, and the only lossless way to do that is to add parts to its zip package (see
`engine.write.xlsx`). That needs the parts themselves, and building them directly from the
block's columns is also the fastest way to write 100k+ rows: each column becomes an array of
ready-made `<c>` strings with a handful of vectorised string operations, rows are concatenated
column by column, and the sheet is yielded in chunks so memory stays bounded.

Rules the output keeps:
- text is always an inline string (`t="inlineStr"`), never a formula: `=SUM(A1)` from the data
  stays inert text; XML specials are escaped, characters illegal in XML 1.0 are dropped, and
  Excel's own `_xHHHH_` escape is itself escaped so such text round-trips literally;
- money is Int64 cents written as an exact decimal (`12345` → `123.45`) using integer divmod;
- dates and datetimes are Excel serials (1900 or 1904 date system) with a date format;
- every block is an Excel table (ListObject) with filter buttons; severity colours are
  conditional formats; links are internal hyperlinks to a staff sheet's row.

This module only knows positions, style indices and table ids it is given; choosing free ids and
part names in a workbook is `engine.write.xlsx`'s job.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.write.model import Block, Chart, Column, ResultSheet

log = logging.getLogger(__name__)

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
NS_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"

REL_TABLE = NS_REL + "/table"
REL_DRAWING = NS_REL + "/drawing"
REL_CHART = NS_REL + "/chart"

MAX_CELL_TEXT = 32767  # Excel refuses longer cell text
MAX_HYPERLINKS = 65530  # Excel's limit of hyperlinks per worksheet
MAX_ROWS = 1_048_576
MAX_COLS = 16_384
TABLE_STYLE = "TableStyleMedium2"
SEVERITIES = ("high", "medium", "low", "info")
CHUNK_ROWS = 20_000

# XML 1.0 allows tab, LF, CR and everything from U+0020 except surrogates and U+FFFE/U+FFFF.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ILLEGAL_XML_KEEP_NUL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel decodes `_xHHHH_` in strings; `_x005F_` escapes the underscore so the text stays literal.
_EXCEL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_TWO_DIGITS = np.array([f"{i:02d}" for i in range(100)], dtype=object)


# --------------------------------------------------------------------------- small helpers

def col_letter(index: int) -> str:
    """0-based column index → Excel column letters (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def xml_escape(text: str, *, attr: bool = False) -> str:
    """Escape one string for XML text (or an attribute), dropping characters XML 1.0 forbids."""
    text = _ILLEGAL_XML.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attr:
        text = (text.replace('"', "&quot;").replace("\n", "&#10;")
                .replace("\r", "&#13;").replace("\t", "&#9;"))
    return text


def cell_text(text: str) -> str:
    """Escape one string for a cell's `<t>` (XML escape plus Excel's `_xHHHH_` escape)."""
    return xml_escape(_EXCEL_ESCAPE.sub(r"_x005F_\1", text[:MAX_CELL_TEXT]))


def quote_sheet(name: str) -> str:
    """A sheet name as it appears in a formula or hyperlink location: `'O''Brien'`."""
    return "'" + name.replace("'", "''") + "'"


def _escape_texts(values: list[str]) -> list[str]:
    """Vectorised `cell_text` for many strings: one pass of C-level replaces over a joined text.

    NUL is illegal in XML, so it is a safe separator once the values are known not to hold it.
    """
    if not values:
        return []
    if max(map(len, values)) > MAX_CELL_TEXT:
        values = [v[:MAX_CELL_TEXT] for v in values]
    big = "\x00".join(values)
    if big.count("\x00") != len(values) - 1:  # a value holds NUL itself: go one by one
        return [cell_text(v) for v in values]
    if "_x" in big:
        big = _EXCEL_ESCAPE.sub(r"_x005F_\1", big)
    big = _ILLEGAL_XML_KEEP_NUL.sub("", big)
    big = big.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return big.split("\x00")


_EDGE_CHARS = (" ", "\t", "\n", "\r", "\xa0")


def _edge_whitespace(vals: np.ndarray) -> np.ndarray:
    """Which strings start or end with whitespace (XML parsers may trim it unless the `<t>` says
    xml:space="preserve"). A few substring tests on the joined text first: almost always, none."""
    joined = "\x00" + "\x00".join(vals.tolist()) + "\x00"
    if not any(("\x00" + c) in joined or (c + "\x00") in joined for c in _EDGE_CHARS):
        return np.zeros(len(vals), dtype=bool)
    return np.fromiter((v[:1] in _EDGE_CHARS or v[-1:] in _EDGE_CHARS for v in vals), bool,
                       len(vals))


def _obj(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _int_strings(values: np.ndarray) -> np.ndarray:
    return _obj(list(map(str, np.asarray(values).tolist())))


def money_strings(cents: np.ndarray) -> np.ndarray:
    """Integer cents → exact decimal strings (`-12345` → `-123.45`), without floats."""
    cents = np.asarray(cents, dtype=np.int64)
    whole, frac = np.divmod(np.abs(cents), 100)
    sign = np.where(cents < 0, "-", "").astype(object)
    return sign + _int_strings(whole) + "." + _TWO_DIGITS[frac]


# --------------------------------------------------------------------------- layout

@dataclass(frozen=True)
class BlockLayout:
    """Where one block sits on the sheet (1-based Excel rows, 0-based first column)."""

    title_row: int | None
    header_row: int
    first_data_row: int
    n_rows: int  # data rows in the block (may be 0)
    headers: tuple[str, ...]  # the header cells / table column names (unique, cleaned)

    @property
    def last_row(self) -> int:
        """The table's last row: an empty table still needs one (blank) body row."""
        return self.first_data_row + max(self.n_rows, 1) - 1

    @property
    def n_cols(self) -> int:
        return len(self.headers)

    @property
    def ref(self) -> str:
        return f"A{self.header_row}:{col_letter(self.n_cols - 1)}{self.last_row}"


@dataclass(frozen=True)
class SheetLayout:
    notes_rows: tuple[int, ...]
    blocks: tuple[BlockLayout, ...]
    last_row: int
    n_cols: int
    freeze_row: int | None  # rows above and including it stay visible


def _clean_header(name: str) -> str:
    name = _ILLEGAL_XML.sub("", str(name)).replace("\r", " ").replace("\n", " ").strip()
    return name[:255] or "Column"


def table_headers(block: Block) -> tuple[str, ...]:
    """Header texts that are valid, unique (case-insensitively) table column names."""
    seen: set[str] = set()
    out = []
    for col in block.columns:
        base = _clean_header(col.name)
        name, n = base, 2
        while name.casefold() in seen:
            name, n = f"{base} {n}", n + 1
        seen.add(name.casefold())
        out.append(name)
    return tuple(out)


def plan_layout(sheet: ResultSheet) -> SheetLayout:
    """Rows of notes, then each block (title, header, data) with a blank row between."""
    if not sheet.blocks:
        raise ValueError(f"result sheet {sheet.name!r} has no blocks")
    row = 1
    notes_rows = []
    for _ in sheet.notes:
        notes_rows.append(row)
        row += 1
    if sheet.notes:
        row += 1
    blocks = []
    for block in sheet.blocks:
        _check_block(sheet.name, block)
        title_row = None
        if block.title:
            title_row = row
            row += 1
        header_row = row
        n = len(block.data)
        bl = BlockLayout(title_row, header_row, header_row + 1, n, table_headers(block))
        blocks.append(bl)
        row = bl.last_row + 2
    last_row = blocks[-1].last_row
    if last_row > MAX_ROWS:
        raise ValueError(f"result sheet {sheet.name!r} needs {last_row:,} rows; "
                         f"Excel allows {MAX_ROWS:,}")
    freeze = blocks[0].header_row if sheet.freeze_header and len(blocks) == 1 else None
    return SheetLayout(tuple(notes_rows), tuple(blocks), last_row,
                       max(b.n_cols for b in blocks), freeze)


def _check_block(sheet: str, block: Block) -> None:
    if not block.columns:
        raise ValueError(f"{sheet}: block {block.table_name!r} has no columns")
    if len(block.columns) > MAX_COLS:
        raise ValueError(f"{sheet}: block {block.table_name!r} has too many columns")
    names = [c.name for c in block.columns]
    missing = [n for n in names if n not in block.data.columns]
    if missing:
        raise ValueError(f"{sheet}: block {block.table_name!r} data lacks columns {missing}")
    for col in block.columns:
        if col.kind in ("money", "int"):
            dtype = block.data[col.name].dtype
            if not (pd.api.types.is_integer_dtype(dtype) or
                    (dtype == object and block.data[col.name].dropna().empty)):
                raise TypeError(f"{sheet}: column {col.name!r} is {col.kind} and must hold "
                                f"integers (money in Int64 cents), not {dtype}")
    if block.severity_column and block.severity_column not in names:
        raise ValueError(f"{sheet}: severity column {block.severity_column!r} is not a column")
    for link in block.links:
        if link.column not in names:
            raise ValueError(f"{sheet}: link column {link.column!r} is not a column")


# --------------------------------------------------------------------------- styles

@dataclass(frozen=True)
class StyleIds:
    """Indices into the workbook's cellXfs / dxfs that the sheet's cells refer to."""

    kinds: dict[str, int]  # column kind → cellXfs index (text usually 0)
    title: int
    note: int
    link: int  # text cells that carry a hyperlink
    severity: dict[str, int] = field(default_factory=dict)  # severity → dxfs index


NUMBER_FORMATS = {  # kind → format code (None: general); the writer maps them to numFmt ids
    "text": None,
    "money": '"$"#,##0.00;[Red]\\-"$"#,##0.00',
    "date": "yyyy\\-mm\\-dd",
    "datetime": "yyyy\\-mm\\-dd\\ hh:mm",
    "int": "#,##0",
    "percent": "0%",
    "number": "#,##0.00",
}

SEVERITY_COLOURS = {  # severity → (fill, font) ARGB
    "high": ("FFFFC7CE", "FF9C0006"),
    "medium": ("FFFFD9A8", "FF8A4500"),
    "low": ("FFFFF5C2", "FF6B5B00"),
    "info": ("FFDDEBF7", "FF1F4E78"),
}


# --------------------------------------------------------------------------- cell strings

def _excel_serials(series: pd.Series, kind: str,
                   date1904: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Datetime-like values → (serial strings, missing mask, too-early mask).

    Serials before 1900-03-01 are ambiguous (Excel's 1900 leap-year bug) and negative ones do
    not exist, so such dates are flagged for the caller to write as ISO text instead.
    """
    s = pd.to_datetime(series, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    missing = s.isna().to_numpy()
    epoch = pd.Timestamp("1904-01-01") if date1904 else pd.Timestamp("1899-12-30")
    if kind == "date":
        days = (s.dt.normalize() - epoch).dt.days.to_numpy(dtype="float64", na_value=0)
        serial = days
        out = _int_strings(days.astype(np.int64))
    else:
        secs = (s.dt.round("s") - epoch).dt.total_seconds().to_numpy(dtype="float64",
                                                                      na_value=0)
        serial = secs / 86400.0
        out = np.array([repr(x) for x in serial.tolist()], dtype=object)
    early = ~missing & (serial < (0 if date1904 else 61))
    return out, missing, early


@dataclass
class _Cells:
    """One column's cells for a chunk of rows, as pieces to be joined: for every row,
    `pre + row number + mid + value + end` (each piece a constant or a per-row array)."""

    pre: object
    mid: object
    vals: np.ndarray
    end: str
    missing: np.ndarray  # rows without a cell


def _column_cells(col: Column, series: pd.Series, letter: str, styles: StyleIds,
                  date1904: bool, linked: np.ndarray | None) -> _Cells:
    kind = col.kind
    n = len(series)
    pre = f'<c r="{letter}'
    if kind == "text":
        obj = series.to_numpy(dtype=object, na_value=None)
        missing = pd.isna(obj)
        vals = np.full(n, "", dtype=object)
        idx = np.flatnonzero(~missing)
        if len(idx):
            present = obj[idx].tolist()
            if not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
                present = [v if isinstance(v, str) else str(v) for v in present]
            vals[idx] = _escape_texts(present)
        s = styles.kinds.get("text", 0)
        style = f' s="{s}"' if s else ""
        plain = f'"{style} t="inlineStr"><is><t>'
        # only text with edge whitespace needs xml:space="preserve"; it costs bytes on every cell
        edge = _edge_whitespace(vals)
        mid: object = plain
        if edge.any():
            mid = np.where(edge, f'"{style} t="inlineStr"><is><t xml:space="preserve">', plain)
        if linked is not None and linked.any():
            link_plain = f'" s="{styles.link}" t="inlineStr"><is><t>'
            link_mid = link_plain
            if edge.any():
                link_mid = np.where(edge, f'" s="{styles.link}" t="inlineStr"><is>'
                                          '<t xml:space="preserve">', link_plain)
            mid = np.where(linked, link_mid, mid).astype(object)
        return _Cells(pre, mid, vals, "</t></is></c>", missing)
    if kind in ("money", "int"):
        missing = series.isna().to_numpy()
        ints = series.to_numpy(dtype="int64", na_value=0)
        vals = money_strings(ints) if kind == "money" else _int_strings(ints)
    elif kind in ("date", "datetime"):
        vals, missing, early = _excel_serials(series, kind, date1904)
        if early.any():  # written as ISO text rather than as a wrong or negative serial
            dt = pd.to_datetime(series, errors="coerce")
            iso = [d.isoformat(sep=" ") if e else "" for d, e in zip(dt, early)]
            vals = np.where(early, np.array(iso, dtype=object), vals)
            mid = np.where(early, '" t="inlineStr"><is><t>', f'" s="{styles.kinds[kind]}"><v>')
            end = np.where(early, "</t></is></c>", "</v></c>")
            return _Cells(pre, mid.astype(object), vals, end.astype(object), missing)
    else:  # number, percent
        floats = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        missing = ~np.isfinite(floats)
        vals = _obj(list(map(repr, np.where(missing, 0.0, floats).tolist())))
    return _Cells(pre, f'" s="{styles.kinds[kind]}"><v>', vals, "</v></c>", missing)


# --------------------------------------------------------------------------- widths

def _text_width(values: pd.Series) -> int:
    obj = values.dropna()
    if obj.empty:
        return 0
    longest = obj.astype(str).str.len().max()
    # the longest line matters for text with line breaks, but that is rare; keep it cheap
    return int(longest)


def column_width(col: Column, series: pd.Series, header: str) -> float:
    """A width in characters from the data, capped so one long note cannot make a wide column."""
    if col.width is not None:
        return float(col.width)
    kind = col.kind
    if kind == "text":
        data = _text_width(series)
    elif kind == "money":
        s = series.dropna()
        data = money_width(int(s.abs().max()) / 100 if len(s) else 0.0)
    elif kind == "int":
        s = series.dropna()
        data = count_width(int(s.abs().max()) if len(s) else 0)
    elif kind == "date":
        data = 10
    elif kind == "datetime":
        data = 16
    elif kind == "percent":
        data = 5
    else:
        data = 12
    return fitted_width(data, header)


def money_width(largest: float) -> int:
    """Characters of the largest amount (in currency units), with "$", sign and some air."""
    return len(f"{largest:,.2f}") + 3


def count_width(largest: int) -> int:
    return len(f"{largest:,}") + 1


def fitted_width(data: int, header: str) -> float:
    """The column width for `data` characters under `header`, capped so one long note cannot
    make a wide column."""
    width = max(data, len(header) + 3, 6) + 1.7  # +3: the filter button covers the header end
    return float(min(width, 60.0))


# --------------------------------------------------------------------------- worksheet

@dataclass(frozen=True)
class SheetRefs:
    """Relationship ids the worksheet refers to (assigned by the package writer)."""

    table_rids: tuple[str, ...]
    drawing_rid: str | None = None


def render_worksheet(sheet: ResultSheet, layout: SheetLayout, styles: StyleIds,
                     refs: SheetRefs, *, date1904: bool = False) -> Iterator[bytes]:
    """Yield the worksheet XML in chunks (UTF-8)."""
    widths: dict[int, float] = {}
    for block, bl in zip(sheet.blocks, layout.blocks):
        for i, (col, header) in enumerate(zip(block.columns, bl.headers)):
            w = column_width(col, block.data[col.name], header)
            widths[i] = max(widths.get(i, 0.0), w)

    head = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            f'<dimension ref="A1:{col_letter(layout.n_cols - 1)}{layout.last_row}"/>'
            '<sheetViews><sheetView workbookViewId="0">']
    if layout.freeze_row:
        top = layout.freeze_row + 1
        head.append(f'<pane ySplit="{layout.freeze_row}" topLeftCell="A{top}" '
                    f'activePane="bottomLeft" state="frozen"/>'
                    f'<selection pane="bottomLeft" activeCell="A{top}" sqref="A{top}"/>')
    head.append('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>')
    for i in sorted(widths):
        head.append(f'<col min="{i + 1}" max="{i + 1}" width="{widths[i]:.2f}" customWidth="1"/>')
    head.append("</cols><sheetData>")
    yield "".join(head).encode()

    for row, note in zip(layout.notes_rows, sheet.notes):
        s = f' s="{styles.note}"' if styles.note else ""
        yield (f'<row r="{row}"><c r="A{row}"{s} t="inlineStr"><is><t xml:space="preserve">'
               f'{cell_text(str(note))}</t></is></c></row>').encode()

    hyperlinks: list[str] = []
    n_links = 0
    for block, bl in zip(sheet.blocks, layout.blocks):
        if bl.title_row is not None:
            yield (f'<row r="{bl.title_row}" ht="21" customHeight="1"><c r="A{bl.title_row}" '
                   f's="{styles.title}" t="inlineStr"><is><t xml:space="preserve">'
                   f'{cell_text(block.title or "")}</t></is></c></row>').encode()
        cells = "".join(f'<c r="{col_letter(i)}{bl.header_row}" t="inlineStr"><is>'
                        f'<t xml:space="preserve">{cell_text(h)}</t></is></c>'
                        for i, h in enumerate(bl.headers))
        yield f'<row r="{bl.header_row}">{cells}</row>'.encode()
        links, wanted = _link_targets(block, bl, MAX_HYPERLINKS - len(hyperlinks))
        n_links += wanted
        for lo in range(0, bl.n_rows, CHUNK_ROWS):
            hi = min(lo + CHUNK_ROWS, bl.n_rows)
            yield _rows_chunk(block, bl, lo, hi, styles, date1904, links)
        for col_idx, rows, locations in links:
            letter = col_letter(col_idx)
            hyperlinks.extend(f'<hyperlink ref="{letter}{r}" location="{loc}"/>'
                              for r, loc in zip(rows.tolist(), locations))
    if n_links > MAX_HYPERLINKS:
        log.warning("%s: %d links left out; Excel allows %d hyperlinks per sheet",
                    sheet.name, n_links - MAX_HYPERLINKS, MAX_HYPERLINKS)

    tail = ["</sheetData>"]
    prio = 1
    for block, bl in zip(sheet.blocks, layout.blocks):
        if not block.severity_column or not styles.severity:
            continue
        sev_idx = [c.name for c in block.columns].index(block.severity_column)
        sev_col = col_letter(sev_idx)
        first = bl.first_data_row
        rules = []
        for sev in SEVERITIES:
            if sev in styles.severity:
                rules.append(f'<cfRule type="expression" dxfId="{styles.severity[sev]}" '
                             f'priority="{prio}"><formula>${sev_col}{first}="{sev}"</formula>'
                             f'</cfRule>')
                prio += 1
        sqref = f"A{first}:{col_letter(bl.n_cols - 1)}{bl.last_row}"
        tail.append(f'<conditionalFormatting sqref="{sqref}">{"".join(rules)}'
                    f'</conditionalFormatting>')
    if hyperlinks:
        tail.append("<hyperlinks>" + "".join(hyperlinks) + "</hyperlinks>")
    tail.append('<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.3" '
                'footer="0.3"/><pageSetup orientation="landscape" fitToWidth="1" '
                'fitToHeight="0"/>')
    # identifiers such as "00100" are text on purpose: hide Excel's "number stored as text" flag
    tail.append('<ignoredErrors><ignoredError sqref="A1:'
                f'{col_letter(layout.n_cols - 1)}{layout.last_row}" numberStoredAsText="1"/>'
                '</ignoredErrors>')
    if refs.drawing_rid:
        tail.append(f'<drawing r:id="{refs.drawing_rid}"/>')
    if refs.table_rids:
        tail.append(f'<tableParts count="{len(refs.table_rids)}">'
                    + "".join(f'<tablePart r:id="{rid}"/>' for rid in refs.table_rids)
                    + "</tableParts>")
    tail.append("</worksheet>")
    yield "".join(tail).encode()


def link_rows(block: Block, bl: BlockLayout, link) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """A Link's target sheets and rows, and the block rows (0-based) that get a link: those with
    a target inside the sheet and a value to click on."""
    sheet = pd.Series(link.target_sheet).reset_index(drop=True)
    row = pd.to_numeric(pd.Series(link.target_row).reset_index(drop=True), errors="coerce")
    if len(sheet) != bl.n_rows or len(row) != bl.n_rows:
        raise ValueError(f"link on {link.column!r} of {block.table_name!r} is not aligned "
                         "with the block's rows")
    ok = (sheet.notna() & row.notna() & (row >= 1) & (row <= MAX_ROWS)).to_numpy()
    ok = ok & block.data[link.column].notna().to_numpy()
    return sheet, row, np.flatnonzero(ok)


def _link_targets(block: Block, bl: BlockLayout,
                  room: int) -> tuple[list[tuple[int, np.ndarray, list[str]]], int]:
    """For each Link: (column index, sheet rows that link, `'Sheet'!A12` locations), the first
    `room` links of the block only (Excel keeps MAX_HYPERLINKS a sheet: a cell past them gets
    neither a link nor the look of one); and how many links the block wanted."""
    out = []
    wanted = 0
    names = [c.name for c in block.columns]
    for link in block.links:
        sheet, row, idx = link_rows(block, bl, link)
        wanted += len(idx)
        idx = idx[:max(room, 0)]
        room -= len(idx)
        quoted = {name: xml_escape(quote_sheet(str(name)), attr=True)
                  for name in pd.unique(sheet.to_numpy()[idx])}
        locs = [f"{quoted[s]}!A{r}" for s, r in
                zip(sheet.to_numpy()[idx].tolist(), row.to_numpy()[idx].astype(np.int64).tolist())]
        out.append((names.index(link.column), bl.first_data_row + idx, locs))
    return out, wanted


def _rows_chunk(block: Block, bl: BlockLayout, lo: int, hi: int, styles: StyleIds,
                date1904: bool, links: list[tuple[int, np.ndarray, list[str]]]) -> bytes:
    """Rows lo..hi of a block: every piece of every cell goes into one 2-D array that is joined
    once, so each byte is copied a single time (no growing row strings)."""
    data = block.data.iloc[lo:hi]
    n = hi - lo
    rows = np.arange(bl.first_data_row + lo, bl.first_data_row + hi)
    rn = _int_strings(rows)
    m = len(block.columns)
    pieces = np.empty((n, 3 + 5 * m + 1), dtype=object)
    pieces[:, 0] = '<row r="'
    pieces[:, 1] = rn
    pieces[:, 2] = '">'
    for i, col in enumerate(block.columns):
        linked = None
        for col_idx, link_rows, _ in links:
            if col_idx == i and col.kind == "text":
                # link rows ascend: those of this chunk are a slice of them
                inside = link_rows[np.searchsorted(link_rows, rows[0]):
                                   np.searchsorted(link_rows, rows[-1], side="right")]
                mask = np.zeros(n, dtype=bool)
                mask[inside - rows[0]] = True
                linked = mask if linked is None else (linked | mask)
        cells = _column_cells(col, data[col.name], col_letter(i), styles, date1904, linked)
        j = 3 + 5 * i
        pieces[:, j] = cells.pre
        pieces[:, j + 1] = rn
        pieces[:, j + 2] = cells.mid
        pieces[:, j + 3] = cells.vals
        pieces[:, j + 4] = cells.end
        if cells.missing.any():
            pieces[cells.missing, j:j + 5] = ""
    pieces[:, -1] = "</row>"
    return "".join(pieces.ravel().tolist()).encode()


# --------------------------------------------------------------------------- table part

def render_table(block: Block, bl: BlockLayout, table_id: int, name: str) -> bytes:
    cols = "".join(f'<tableColumn id="{i + 1}" name="{xml_escape(h, attr=True)}"/>'
                   for i, h in enumerate(bl.headers))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<table xmlns="{NS_MAIN}" id="{table_id}" name="{name}" displayName="{name}" '
            f'ref="{bl.ref}" totalsRowShown="0"><autoFilter ref="{bl.ref}"/>'
            f'<tableColumns count="{bl.n_cols}">{cols}</tableColumns>'
            f'<tableStyleInfo name="{TABLE_STYLE}" showFirstColumn="0" showLastColumn="0" '
            'showRowStripes="1" showColumnStripes="0"/></table>').encode()


# --------------------------------------------------------------------------- charts

CHART_COLS = 8  # size of a chart in cells
CHART_ROWS = 16


def render_drawing(anchors: Sequence[tuple[int, int]], chart_rids: Sequence[str]) -> bytes:
    """A drawing part holding one chart frame per (column, row) top-left anchor (0-based)."""
    frames = []
    for n, ((col, row), rid) in enumerate(zip(anchors, chart_rids), start=1):
        frames.append(
            f'<xdr:twoCellAnchor editAs="oneCell">'
            f'<xdr:from><xdr:col>{col}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{row}</xdr:row>'
            f'<xdr:rowOff>0</xdr:rowOff></xdr:from>'
            f'<xdr:to><xdr:col>{col + CHART_COLS}</xdr:col><xdr:colOff>0</xdr:colOff>'
            f'<xdr:row>{row + CHART_ROWS}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>'
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{n + 1}" '
            f'name="Chart {n}"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>'
            '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
            f'<a:graphic><a:graphicData uri="{NS_C}"><c:chart xmlns:c="{NS_C}" '
            f'xmlns:r="{NS_REL}" r:id="{rid}"/></a:graphicData></a:graphic></xdr:graphicFrame>'
            '<xdr:clientData/></xdr:twoCellAnchor>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<xdr:wsDr xmlns:xdr="{NS_XDR}" xmlns:a="{NS_A}">{"".join(frames)}'
            '</xdr:wsDr>').encode()


def chart_anchors(sheet: ResultSheet, layout: SheetLayout) -> list[tuple[int, int]]:
    """Charts sit right of the widest block, stacked downwards from the first block's top."""
    col = layout.n_cols + 1
    top = (layout.blocks[0].title_row or layout.blocks[0].header_row) - 1
    return [(col, top + i * (CHART_ROWS + 1)) for i in range(len(sheet.charts))]


def render_chart(sheet: ResultSheet, layout: SheetLayout, chart: Chart) -> bytes:
    """A clustered column chart of `value_column` per `category_column`, with cached values so
    viewers that do not recalculate still show the bars."""
    if not 0 <= chart.block < len(sheet.blocks):
        raise ValueError(f"{sheet.name}: chart {chart.title!r} refers to a missing block")
    block, bl = sheet.blocks[chart.block], layout.blocks[chart.block]
    names = [c.name for c in block.columns]
    for needed in (chart.category_column, chart.value_column):
        if needed not in names:
            raise ValueError(f"{sheet.name}: chart column {needed!r} is not in the block")
    ci, vi = names.index(chart.category_column), names.index(chart.value_column)
    vcol = block.columns[vi]
    first, last = bl.first_data_row, bl.last_row
    q = quote_sheet(sheet.name)
    cat_ref = f"{q}!${col_letter(ci)}${first}:${col_letter(ci)}${last}"
    val_ref = f"{q}!${col_letter(vi)}${first}:${col_letter(vi)}${last}"
    name_ref = f"{q}!${col_letter(vi)}${bl.header_row}"

    cats = block.data[chart.category_column]
    cat_pts = "".join(f'<c:pt idx="{i}"><c:v>{cell_text(str(v))}</c:v></c:pt>'
                      for i, v in enumerate(cats) if not pd.isna(v))
    vals = block.data[chart.value_column]
    if vcol.kind == "money":
        present = vals.notna().to_numpy()
        strings = money_strings(vals.to_numpy(dtype="int64", na_value=0))
    else:
        floats = pd.to_numeric(vals, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        present = np.isfinite(floats)
        strings = [repr(x) for x in np.where(present, floats, 0.0).tolist()]
    val_pts = "".join(f'<c:pt idx="{i}"><c:v>{s}</c:v></c:pt>'
                      for i, (s, p) in enumerate(zip(strings, present)) if p)
    n = max(bl.n_rows, 1)
    fmt = xml_escape(NUMBER_FORMATS.get(vcol.kind) or "General", attr=True)
    title = cell_text(chart.title)
    series_name = cell_text(bl.headers[vi])
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<c:chartSpace xmlns:c="{NS_C}" xmlns:a="{NS_A}" xmlns:r="{NS_REL}">'
        '<c:roundedCorners val="0"/><c:chart>'
        f'<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:pPr><a:defRPr sz="1200" b="1"/></a:pPr>'
        f'<a:r><a:rPr lang="en-US" sz="1200" b="1"/><a:t>{title}</a:t></a:r></a:p></c:rich>'
        '</c:tx><c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>'
        '<c:plotArea><c:layout/><c:barChart><c:barDir val="col"/><c:grouping val="clustered"/>'
        '<c:varyColors val="0"/><c:ser><c:idx val="0"/><c:order val="0"/>'
        f'<c:tx><c:strRef><c:f>{xml_escape(name_ref)}</c:f><c:strCache><c:ptCount val="1"/>'
        f'<c:pt idx="0"><c:v>{series_name}</c:v></c:pt></c:strCache></c:strRef></c:tx>'
        '<c:spPr><a:solidFill><a:srgbClr val="2F5597"/></a:solidFill></c:spPr>'
        '<c:invertIfNegative val="0"/>'
        f'<c:cat><c:strRef><c:f>{xml_escape(cat_ref)}</c:f><c:strCache><c:ptCount val="{n}"/>'
        f'{cat_pts}</c:strCache></c:strRef></c:cat>'
        f'<c:val><c:numRef><c:f>{xml_escape(val_ref)}</c:f><c:numCache>'
        f'<c:formatCode>{fmt}</c:formatCode><c:ptCount val="{n}"/>{val_pts}</c:numCache>'
        '</c:numRef></c:val></c:ser><c:gapWidth val="80"/>'
        '<c:axId val="50010001"/><c:axId val="50010002"/></c:barChart>'
        '<c:catAx><c:axId val="50010001"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="b"/><c:numFmt formatCode="General" sourceLinked="0"/>'
        '<c:majorTickMark val="none"/><c:minorTickMark val="none"/><c:tickLblPos val="low"/>'
        '<c:crossAx val="50010002"/><c:crosses val="autoZero"/><c:auto val="1"/>'
        '<c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>'
        '<c:valAx><c:axId val="50010002"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="l"/><c:majorGridlines/>'
        f'<c:numFmt formatCode="{fmt}" sourceLinked="0"/><c:majorTickMark val="none"/>'
        '<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/><c:crossAx val="50010001"/>'
        '<c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx></c:plotArea>'
        '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>'
    ).encode()


def rels_xml(rels: Sequence[tuple[str, str, str]]) -> bytes:
    """A relationships part from (id, type, target) triples."""
    body = "".join(f'<Relationship Id="{rid}" Type="{typ}" Target="{xml_escape(tgt, attr=True)}"/>'
                   for rid, typ, tgt in rels)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{NS_PKG_REL}">{body}</Relationships>').encode()
