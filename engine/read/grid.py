"""Raw cell grids out of an xlsx/xlsm file, fast, with the facts calamine does not give.

python-calamine reads cell values 10–20× faster than openpyxl, but it cannot say whether an empty
cell is a formula Excel never calculated, and it hands an Excel error (#N/A from a failed
XLOOKUP, #VALUE!, #REF!, …) over as an empty cell. Both matter: a never-calculated total is not
zero, and "the cell shows #N/A" is what a clerk needs to hear, not "the value is missing". So the
sheet's XML is streamed once and searched for `<f` tags and for the `#` every error shows; only
at those is a byte regex tried — cheap, and nothing more when the sheet has neither.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from engine.errors import InputError

try:  # ISA-L (python-isal) inflates sheet XML about 3× as fast as zlib, when installed
    from isal import isal_zlib as _zlib
except ImportError:
    import zlib as _zlib

_REL = re.compile(rb"<Relationship\b[^>]*>")
_ATTR = re.compile(rb'(\w+(?::\w+)?)="([^"]*)"')
_SHEET = re.compile(rb"<sheet\b[^>]*>")
# a cell with a formula and no (or an empty) cached value
_FORMULA_CELL = re.compile(
    rb'<c\b([^>]*?)\br="([A-Z]+)(\d+)"([^>]*)>\s*(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)\s*'
    rb'(?:<v\s*/>|<v>([^<]*)</v>)?\s*(?:<is>.*?</is>\s*)?</c>', re.DOTALL)
_FORMULA_TAG = re.compile(rb"<f\b")
_LT = ord("<")
# a cell holding an Excel error: its tag (whose attributes must hold the `t="e"` found) and value
_ERROR_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*>(?:\s*<f\b[^>]*/>|\s*<f\b[^>]*>[^<]*</f>)?'
                         rb'\s*<v>([^<]*)</v>')
_ERROR_TYPE = b't="e"'
# what an error cell shows, as Excel writes it into the file (and xlwings' err_to_str reads it)
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!",
                          "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#EXTERNAL!", "#DATA!"})
_CHUNK = 1 << 20
_PACKED_CHUNK = 1 << 16
ZIP_BOMB_RATIO = 200
ZIP_BOMB_MIN_BYTES = 64 << 20
_STR_RESULT = re.compile(rb'\bt="str"')
# Written by a library that never calculated the workbook: Excel is told to recalculate on load,
# and the stored results are placeholders (0) rather than values.
_FULL_CALC = re.compile(rb'<calcPr\b[^>]*\bfullCalcOnLoad="(?:1|true)"')


def _attrs(tag: bytes) -> dict[str, str]:
    return {k.decode(): v.decode("utf-8", "replace") for k, v in _ATTR.findall(tag)}


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


@dataclass
class Grid:
    """One sheet's values, row 0 = Excel row 1, column 0 = column A. A cell holding an Excel
    error holds the text Excel shows for it (`"#N/A"`, one of EXCEL_ERRORS)."""

    name: str
    rows: list[list]
    uncached: set[tuple[int, int]] = field(default_factory=set)  # (row0, col0) of uncalculated formulas


class Workbook:
    """An xlsx/xlsm opened for reading; sheets by name, case- and space-insensitively."""

    def __init__(self, path: Path):
        from python_calamine import CalamineWorkbook  # not on Pyodide; engine.excel reads via xlwings

        self.path = Path(path)
        _refuse_zip_bomb(self.path)
        try:
            self._book = CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine raises its own error types for corrupt files
            raise InputError(f"cannot be opened as an Excel workbook ({type(exc).__name__})",
                             file=self.path.name) from None
        self.sheet_names: list[str] = list(self._book.sheet_names)
        self._parts: dict[str, str] | None = None

    @staticmethod
    def _fold(name: str) -> str:
        return re.sub(r"[\s_\-]", "", name).lower()

    def find(self, wanted: str) -> str | None:
        target = self._fold(wanted)
        for name in self.sheet_names:
            if self._fold(name) == target:
                return name
        return None

    def _sheet_parts(self) -> dict[str, str]:
        if self._parts is None:
            parts: dict[str, str] = {}
            try:
                with zipfile.ZipFile(self.path) as zf:
                    wb = zf.read("xl/workbook.xml")
                    rels = zf.read("xl/_rels/workbook.xml.rels")
            except (KeyError, zipfile.BadZipFile, OSError):
                self._parts = parts
                return parts
            targets = {}
            for tag in _REL.findall(rels):
                a = _attrs(tag)
                target = a.get("Target", "")
                full = target.lstrip("/") if target.startswith("/") else str(
                    PurePosixPath("xl") / target)
                targets[a.get("Id")] = full
            for tag in _SHEET.findall(wb):
                a = _attrs(tag)
                rid = a.get("r:id") or next((v for k, v in a.items() if k.endswith(":id")), None)
                if a.get("name") and rid in targets:
                    parts[_unescape(a["name"])] = targets[rid]
            self._parts = parts
        return self._parts

    def _scan(self, sheet: str) -> tuple[set[tuple[int, int]], dict[tuple[int, int], str]]:
        """The sheet's uncalculated formula cells and its Excel error cells (with their text),
        by (row0, col0)."""
        found: set[tuple[int, int]] = set()
        errors: dict[tuple[int, int], str] = {}
        part = self._sheet_parts().get(sheet)
        if not part:
            return found, errors
        placeholder: list[set[bytes]] = []
        try:
            # streamed: most sheets hold no formula, and a whole sheet's XML can be hundreds of MB
            rest = b""
            for chunk in _inflated(self.path, part):
                # whole cells only (they do not nest): the cell the last chunk cut off is made
                # whole with this one's first `</c>`, the one this chunk cuts off waits for the
                # next; the chunk between is searched where it lies, not copied
                first = chunk.find(b"</c>")
                if first < 0:
                    rest += chunk
                    continue
                head = rest + chunk[:first + 4]
                last = chunk.rfind(b"</c>") + 4
                for xml, start, end in ((head, 0, len(head)), (chunk, first + 4, last)):
                    self._formula_cells(xml, start, end, found, placeholder)
                    _error_cells(xml, start, end, errors)
                rest = chunk[last:]
            self._formula_cells(rest, 0, len(rest), found, placeholder)
            _error_cells(rest, 0, len(rest), errors)
        except (KeyError, zipfile.BadZipFile, OSError, _zlib.error):  # a damaged part: calamine
            return set(), {}                                           # says so in its own words
        return found, errors

    def _formula_cells(self, xml: bytes, start: int, end: int, found: set[tuple[int, int]],
                       placeholder: list[set[bytes]]) -> None:
        """Add the uncalculated formula cells of xml[start:end] (whole cells) to `found`."""
        # an `f` is found at memory speed, and few follow a `<`; `<f` is looked for far slower
        at = xml.find(b"f", start + 1, end)
        while at >= 0:
            tag, at = at - 1, xml.find(b"f", at + 1, end)
            if xml[tag] != _LT or _FORMULA_TAG.match(xml, tag) is None:  # <fill>, <formula>, …
                continue
            # only cells holding an <f> can match: try the pattern at the tag just before it
            # (attribute values hold no `<`), not at every cell of the sheet
            m = _FORMULA_CELL.match(xml, xml.rfind(b"<", 0, tag), end)
            if m is None:
                continue
            if not placeholder:
                placeholder.append({b"", b"0"} if self._never_calculated() else {b""})
            before, c, r, after, v = m.groups(b"")
            # t="str" with an empty value is a formula Excel calculated to "" (=IF(A2="","",...))
            if v.strip() in placeholder[0] and not _STR_RESULT.search(before + after):
                found.add((int(r) - 1, _col_index(c)))

    def _never_calculated(self) -> bool:
        try:
            with zipfile.ZipFile(self.path) as zf:
                return bool(_FULL_CALC.search(zf.read("xl/workbook.xml")))
        except (KeyError, zipfile.BadZipFile, OSError):
            return False

    def grid(self, sheet: str) -> Grid:
        try:
            rows = self._book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except Exception as exc:
            raise InputError("the sheet cannot be read: the file may be damaged — open it in "
                             f"Excel and save it again ({type(exc).__name__})",
                             file=self.path.name, sheet=sheet) from None
        uncached, errors = self._scan(sheet)
        for (r, c), text in errors.items():  # calamine gives them as "": show what Excel shows
            if r < len(rows) and c < len(rows[r]) and rows[r][c] in ("", None):
                rows[r][c] = text
        return Grid(sheet, rows, uncached)

    def close(self) -> None:
        self._book.close()


def _refuse_zip_bomb(path: Path) -> None:
    """Refuse a package with a part that would unpack far beyond what spreadsheet XML does.

    Sheet XML packs 5–15×, and even blank styled cells stay well under 100×; a part packed 200×
    or more and unpacking past 64 MB is built to exhaust memory (a "zip bomb"), and reading it
    would take the machine down rather than tell anyone anything. The sizes are the package's
    own record of them; reading then stops at the recorded size (and the CRC check fails a lie).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            parts = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a readable package: calamine says so in its own words
    for part in parts:
        if part.file_size > ZIP_BOMB_MIN_BYTES and \
                part.file_size > ZIP_BOMB_RATIO * max(part.compress_size, 1):
            raise InputError(
                f"its part {part.filename} would unpack to {part.file_size >> 20:,} MB from "
                f"{max(part.compress_size >> 10, 1):,} KB, which no spreadsheet does; the file was "
                "not read (it may be damaged or built to harm)", file=path.name)


def _inflated(path: Path, part: str):
    """The part's bytes, a chunk at a time, inflated straight from the file: faster than zipfile's
    reader, and as safe — it stops at the size the package records and fails (BadZipFile) when
    the size or the CRC does not match."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(part)
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 1:  # stored, encrypted
        with zipfile.ZipFile(path) as zf, zf.open(part) as xml:
            while chunk := xml.read(_CHUNK):
                yield chunk
        return
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        local = file.read(30)  # the local file header; name and extra field follow it
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"no local header for {part}")
        file.seek(int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little"), 1)
        inflate = _zlib.decompressobj(-15)  # a raw deflate stream
        packed_left, size, crc = info.compress_size, 0, 0
        while not inflate.eof:
            packed = inflate.unconsumed_tail
            if not packed and packed_left:
                packed = file.read(min(packed_left, _PACKED_CHUNK))
                packed_left -= len(packed)
                if not packed:
                    break
            # all read, the inflater can still hold back output a chunk had no room for
            chunk = inflate.decompress(packed, _CHUNK)
            if not (chunk or packed):
                break
            size += len(chunk)
            if size > info.file_size:
                raise zipfile.BadZipFile(f"{part} unpacks past its recorded size")
            crc = _zlib.crc32(chunk, crc)
            if chunk:
                yield chunk
    if size != info.file_size or crc != info.CRC:
        raise zipfile.BadZipFile(f"{part} does not unpack to its recorded size and CRC")


def _error_cells(xml: bytes, start: int, end: int, errors: dict[tuple[int, int], str]) -> None:
    """Add the Excel error cells of xml[start:end] (whole cells) to `errors`, with what they show.

    Every error Excel shows begins with `#`, a `#` byte in the XML however it is escaped: the
    cells are found from the `#`s, a byte sheet XML holds few of and that is found at memory
    speed, rather than from their `t="e"`, whose bytes are among its commonest (a search 7× as
    slow: 0.3 s of the 1M-row benchmark's two sheets).
    """
    at = xml.find(b"#", start, end)
    while at >= 0:
        cell = xml.rfind(b"<c", 0, at)
        if cell >= 0:
            # the `t="e"` must be this cell tag's own attribute, not text inside some other cell
            tag_end = xml.find(b">", cell, end)
            m = (_ERROR_CELL.match(xml, cell, end)
                 if 0 <= xml.find(_ERROR_TYPE, cell, tag_end) else None)
            if m is not None:
                text = _unescape(m.group(3).decode("utf-8", "replace")).strip()
                if text in EXCEL_ERRORS:
                    errors[(int(m.group(2)) - 1, _col_index(m.group(1)))] = text
        at = xml.find(b"#", at + 1, end)


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))
