"""Build `workbooks/Recon.xlsm`: the billing workbook template with a **Reconcile** button.

    python workbooks/build_template.py            # writes workbooks/Recon.xlsm
    python workbooks/build_template.py OUT.xlsm

Reproducible: the same xlwings version gives the same bytes (fixed document dates, fixed zip
times, no clock or random input anywhere).

Where the pieces come from:

- The VBA project is xlwings' own standalone quickstart workbook's (`quickstart_standalone.xlsm`
  inside the installed xlwings package — what `xlwings quickstart NAME --standalone` copies). It
  carries xlwings' VBA module (`RunPython`, BSD-licensed) matching the installed xlwings version.
  Its `Module1` holds a sample macro that imports a module named after the workbook file; that
  module's source is replaced here by

      Sub Reconcile()
          RunPython "import engine.excel; engine.excel.main()"
      End Sub

  so the button works whatever the clerk names the file. VBA cannot be compiled here, and need
  not be: the quickstart project is stored the way xlwings itself ships it — its `_VBA_PROJECT`
  stream has version 0xFFFF, which makes Excel discard cached compiled code and compile every
  module from its source on open (MS-OVBA 2.3.4.1), and xlwings' own module is already stored as
  source only. Module1 is stored the same way (source only, MODULEOFFSET 0 in the `dir` stream).
  The compound file is rewritten by a small CFB writer below (olefile can only read it).
- The sheets are written with xlsxwriter: a Start sheet with the button (bound to `Reconcile`)
  and the steps, the input sheets of the workbook contract (Invoices, Payments, Deposits,
  FeeSchedule, PaymentPlans, Settings) with headers, example rows and drop-down lists for Payer
  and Method, and an inactive `_xlwings.conf` sheet (rename it to `xlwings.conf` to point at a
  particular Python).
"""

from __future__ import annotations

import datetime as dt
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "Recon.xlsm"
MACRO = "Reconcile"
ENTRY = "import engine.excel; engine.excel.main()"
MODULE = "Module1"
MODULE_SOURCE = (f'Attribute VB_Name = "{MODULE}"\r\n'
                 "' The Reconcile button on the Start sheet runs this macro. It needs Python with\r\n"
                 "' the recon engine and xlwings installed (see docs/excel-button.md).\r\n"
                 f"Sub {MACRO}()\r\n"
                 f'    RunPython "{ENTRY}"\r\n'
                 "End Sub\r\n")
FIXED_DATE = dt.datetime(2026, 1, 1)


# =========================================================================== MS-OVBA compression

def ovba_compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.6 compression: a CompressedContainer of 4096-byte chunks."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), 4096):
        chunk = data[start:start + 4096]
        body = _compress_chunk(chunk)
        if len(body) + 2 > 4098:
            if len(chunk) != 4096:  # pragma: no cover - text always compresses
                raise ValueError("cannot store an incompressible partial chunk")
            out += struct.pack("<H", 0x3000 | (4096 - 1)) + chunk  # raw chunk (flag 0)
        else:
            out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
    return bytes(out)


def _copy_token_params(difference: int) -> tuple[int, int]:
    bit_count = max((difference - 1).bit_length(), 4)
    return bit_count, (0xFFFF >> bit_count) + 3  # (bit count, maximum length)


def _compress_chunk(chunk: bytes) -> bytes:
    out = bytearray()
    pos, n = 0, len(chunk)
    index: dict[bytes, list[int]] = {}
    while pos < n:
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            best_len, best_off = 0, 0
            if pos >= 1:
                bit_count, max_len = _copy_token_params(pos)
                limit = min(max_len, n - pos)
                for cand in reversed(index.get(chunk[pos:pos + 3], [])[-64:]):
                    length = 0
                    while length < limit and chunk[cand + length] == chunk[pos + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_off = length, pos - cand
                        if length == limit:
                            break
            if best_len >= 3:
                bit_count, _ = _copy_token_params(pos)
                token = ((best_off - 1) << (16 - bit_count)) | (best_len - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                step = best_len
            else:
                out.append(chunk[pos])
                step = 1
            for p in range(pos, pos + step):
                if p + 3 <= n:
                    index.setdefault(chunk[p:p + 3], []).append(p)
            pos += step
        out[flag_at] = flags
    return bytes(out)


def ovba_decompress(data: bytes) -> bytes:
    from oletools.olevba import decompress_stream

    return bytes(decompress_stream(bytearray(data)))


# =========================================================================== the dir stream

def set_module_offset(dir_stream: bytes, module: str, offset: int) -> bytes:
    """The `dir` stream with MODULEOFFSET of `module` set (records: id u16, size u32, data)."""
    d = bytearray(ovba_decompress(dir_stream))
    i, current, done = 0, None, False
    while i < len(d):
        rid, size = struct.unpack_from("<HI", d, i)
        if rid == 0x0009:  # PROJECTVERSION: its size field says 4, the data is 6 bytes
            size = 6
        body = bytes(d[i + 6:i + 6 + size])
        if rid == 0x0019:  # MODULENAME
            current = body.decode("latin-1")
        elif rid == 0x0031 and current == module:  # MODULEOFFSET
            struct.pack_into("<I", d, i + 6, offset)
            done = True
        i += 6 + size
    if not done:
        raise ValueError(f"module {module!r} not found in the VBA dir stream")
    return ovba_compress(bytes(d))


# =========================================================================== CFB (OLE) writer

ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR, MINI, CUTOFF = 512, 64, 4096


class _Node:
    def __init__(self, name: str, kind: int, data: bytes = b"", clsid: bytes = b"\0" * 16):
        self.name, self.kind, self.data, self.clsid = name, kind, data, clsid
        self.children: list[_Node] = []
        self.sid = 0
        self.left = self.right = self.child = NOSTREAM
        self.color = 1
        self.start, self.size = ENDOFCHAIN, 0


def _cfb_key(name: str) -> tuple[int, str]:
    return (len(name), name.upper())


def _tree(nodes: list[_Node], depth: int, max_depth: int) -> int:
    """A balanced binary search tree of siblings (middle split: every level but the deepest is
    full, so every path to a leaf crosses the same levels); nodes on the deepest level are red,
    all others black — a valid red-black tree as MS-CFB asks."""
    if not nodes:
        return NOSTREAM
    mid = len(nodes) // 2
    node = nodes[mid]
    node.left = _tree(nodes[:mid], depth + 1, max_depth)
    node.right = _tree(nodes[mid + 1:], depth + 1, max_depth)
    node.color = 0 if depth == max_depth and max_depth > 0 else 1
    return node.sid


def _levels(n: int) -> int:
    return n.bit_length() - 1 if n else 0  # index of the deepest level of a balanced tree


def write_cfb(root: _Node) -> bytes:
    order: list[_Node] = []

    def number(node: _Node) -> None:
        node.sid = len(order)
        order.append(node)
        node.children.sort(key=lambda c: _cfb_key(c.name))
        for c in node.children:
            number(c)
    number(root)
    for node in order:
        if node.children:
            node.child = _tree(node.children, 0, _levels(len(node.children)))

    mini = bytearray()
    mini_fat: list[int] = []
    big: list[tuple[_Node, bytes]] = []
    for node in order:
        if node.kind != 2:
            continue
        node.size = len(node.data)
        if node.size == 0:
            node.start = ENDOFCHAIN
        elif node.size < CUTOFF:
            first = len(mini_fat)
            k = -(-node.size // MINI)
            mini_fat += list(range(first + 1, first + k)) + [ENDOFCHAIN]
            mini += node.data + b"\0" * (k * MINI - node.size)
            node.start = first
        else:
            big.append((node, node.data))

    sectors: list[bytes] = []
    fat: list[int] = []

    def chain(data: bytes) -> int:
        k = -(-len(data) // SECTOR)
        first = len(sectors)
        for j in range(k):
            sectors.append(data[j * SECTOR:(j + 1) * SECTOR].ljust(SECTOR, b"\0"))
        fat.extend(list(range(first + 1, first + k)) + [ENDOFCHAIN])
        return first

    root.start = chain(bytes(mini)) if mini else ENDOFCHAIN
    root.size = len(mini)
    for node, data in big:
        node.start = chain(data)
    mfat_bytes = b"".join(struct.pack("<I", x) for x in mini_fat)
    mfat_bytes += struct.pack("<I", FREESECT) * ((-len(mini_fat)) % (SECTOR // 4))
    first_mfat = chain(mfat_bytes) if mini_fat else ENDOFCHAIN
    n_mfat = len(mfat_bytes) // SECTOR if mini_fat else 0

    entries = bytearray()
    for node in order:
        name = node.name.encode("utf-16-le") + b"\0\0"
        entries += struct.pack("<64sHBBIII16sIQQIQ", name.ljust(64, b"\0"), len(name), node.kind,
                               node.color, node.left, node.right, node.child, node.clsid, 0, 0, 0,
                               node.start, node.size)
    entries += (b"\0" * 64 + struct.pack("<HBBIII", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM)
                + b"\0" * 48) * ((-len(order)) % (SECTOR // 128))
    first_dir = chain(bytes(entries))

    n_fat = 1
    while (len(sectors) + n_fat) > n_fat * (SECTOR // 4):
        n_fat += 1
    if n_fat > 109:  # pragma: no cover - a VBA project is far smaller
        raise ValueError("compound file too large for this writer")
    fat_start = len(sectors)
    fat += [FATSECT] * n_fat
    fat += [FREESECT] * (n_fat * (SECTOR // 4) - len(fat))
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat)
    for j in range(n_fat):
        sectors.append(fat_bytes[j * SECTOR:(j + 1) * SECTOR])
    difat = [fat_start + j for j in range(n_fat)] + [FREESECT] * (109 - n_fat)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH6sIIIIIIIII", 0x003E, 0x0003, 0xFFFE, 9, 6, b"\0" * 6, 0, n_fat,
                            first_dir, 0, CUTOFF, first_mfat, n_mfat, ENDOFCHAIN, 0)
              + b"".join(struct.pack("<I", x) for x in difat))
    assert len(header) == SECTOR
    return header + b"".join(sectors)


def read_cfb(data: bytes) -> _Node:
    """An OLE file as a tree of _Node (names, streams, CLSIDs)."""
    import uuid

    import olefile

    ole = olefile.OleFileIO(data)

    def convert(entry, path: list[str]) -> _Node:
        clsid = uuid.UUID(entry.clsid).bytes_le if entry.clsid else b"\0" * 16
        if entry.entry_type == olefile.STGTY_STREAM:
            return _Node(entry.name, 2, ole.openstream("/".join(path)).read(), clsid)
        node = _Node(entry.name, 5 if not path else 1, clsid=clsid)
        node.children = [convert(k, path + [k.name]) for k in entry.kids]
        return node
    root = convert(ole.root, [])
    root.name = "Root Entry"
    ole.close()
    return root


# =========================================================================== the VBA project

def quickstart_path() -> Path:
    import xlwings

    return Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"


def build_vba_project(source: Path | None = None) -> bytes:
    """xlwings' quickstart VBA project with Module1 replaced by the Reconcile macro."""
    with zipfile.ZipFile(source or quickstart_path()) as zf:
        data = zf.read("xl/vbaProject.bin")
    root = read_cfb(data)
    vba = next(c for c in root.children if c.name == "VBA")
    streams = {c.name: c for c in vba.children}
    if streams["_VBA_PROJECT"].data[2:4] != b"\xff\xff":
        raise ValueError("the quickstart VBA project carries compiled code for one Office "
                         "version; this build relies on Excel compiling it from source")
    streams[MODULE].data = ovba_compress(MODULE_SOURCE.encode("latin-1"))
    streams["dir"].data = set_module_offset(streams["dir"].data, MODULE, 0)
    return write_cfb(root)


# =========================================================================== the workbook

PAYERS = ["Aetna", "Blue Cross", "Cigna", "Medicare", "Medicaid", "UnitedHealthcare", "Self-pay"]
METHODS = ["check", "EFT", "card", "cash"]
FREQUENCIES = ["weekly", "biweekly", "monthly"]

START_TEXT = [
    "Recon — billing reconciliation",
    "",
    "1. Keep your data on the sheets Invoices, Payments, Deposits, FeeSchedule, PaymentPlans "
    "(replace the example rows).",
    "2. Click Reconcile. Recon reads the sheets as they are on screen (saved or not) and adds the "
    "sheets Recon Summary, Reconciliation, Discrepancies and Aging.",
    "3. Work through Discrepancies: type in Status, Owner and Note — they are kept on the next run.",
    "",
    "Needs Python with the recon engine and xlwings installed: see docs/excel-button.md.",
    "Macros must be enabled for this workbook (File ▸ Info ▸ Enable Content).",
]

D = dt.date
SHEETS: dict[str, tuple[list[str], list[list]]] = {
    "Invoices": (["Invoice", "Patient ID", "Patient", "Service date", "Invoice date", "Due date",
                  "Payer", "Claim", "CPT", "Amount"], [
        ["INV-1001", "MRN-0001", "Example Patient A", D(2026, 1, 5), D(2026, 1, 6), None,
         "Aetna", "INV-1001", "99213", 180.00],
        ["INV-1002", "MRN-0002", "Example Patient B", D(2026, 1, 12), D(2026, 1, 13), None,
         "Self-pay", None, "99214", 95.00],
        ["INV-1003", "MRN-0003", "Example Patient C", D(2026, 2, 2), D(2026, 2, 3), D(2026, 3, 5),
         "Cigna", "INV-1003", "99203", 240.00],
    ]),
    "Payments": (["Payment ID", "Date", "Invoice", "Patient ID", "Payer", "Method", "Reference",
                  "Amount"], [
        ["PAY-5001", D(2026, 2, 10), "INV-1001", "MRN-0001", "Aetna", "EFT", "TRN-778812", 180.00],
        ["PAY-5002", D(2026, 1, 20), "INV-1002", "MRN-0002", "Self-pay", "card", "AUTH-5521",
         95.00],
    ]),
    "Deposits": (["Date", "Payer", "Reference", "Amount"], [
        [D(2026, 2, 10), "Aetna", "EFT TRN-778812", 180.00],
        [D(2026, 1, 21), "Self-pay", "Card batch 0121", 95.00],
    ]),
    "FeeSchedule": (["Payer", "CPT", "Modifier", "Expected"], [
        ["Aetna", "99213", None, 180.00],
        ["Cigna", "99203", None, 240.00],
    ]),
    "PaymentPlans": (["Plan", "Patient ID", "Invoice", "Total", "Installment", "Start",
                      "Frequency", "Count", "Grace days"], []),
    "Settings": (["Key", "Value"], [
        ["practice_name", "Your practice"],
        ["terms_days", "30"],
        ["tolerance", "1.00"],
    ]),
}
VALIDATION = {"Payer": PAYERS, "Method": METHODS, "Frequency": FREQUENCIES}
XLWINGS_CONF = [["Interpreter_Win", ""], ["Interpreter_Mac", ""], ["PYTHONPATH", ""],
                ["Conda Path", ""], ["Conda Env", ""], ["Show Console", False]]


def build_workbook(out: Path, vba_bin: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(out))
    wb.set_properties({"title": "Recon billing workbook", "created": FIXED_DATE,
                       "comments": "Built by workbooks/build_template.py"})
    wb.set_vba_name("ThisWorkbook")
    wb.add_vba_project(str(vba_bin))
    header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    money = wb.add_format({"num_format": "#,##0.00"})
    title = wb.add_format({"bold": True, "font_size": 16})

    start = wb.add_worksheet("Start")
    start.set_vba_name("Sheet1")
    start.set_column(0, 0, 100)
    start.write_string(0, 0, START_TEXT[0], title)
    for i, line in enumerate(START_TEXT[1:], start=1):
        if line:
            start.write_string(i, 0, line)
    start.insert_button(len(START_TEXT) + 1, 0, {"macro": MACRO, "caption": "Reconcile",
                                                 "width": 160, "height": 40})
    for n, (name, (headers, rows)) in enumerate(SHEETS.items()):
        ws = wb.add_worksheet(name)
        ws.set_vba_name(f"Sheet{n + 2}" if n else "Sheet2")
        ws.freeze_panes(1, 0)
        for c, h in enumerate(headers):
            ws.write_string(0, c, h, header)
            ws.set_column(c, c, max(len(h) + 4, 12))
            if h in VALIDATION:
                ws.data_validation(1, c, 5000, c, {
                    "validate": "list", "source": VALIDATION[h], "error_type": "warning",
                    "error_title": h, "error_message": f"Not one of the usual {h} values; keep "
                    "it anyway?"})
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
                elif isinstance(v, float):
                    ws.write_number(r, c, v, money)
                else:
                    ws.write_string(r, c, str(v))
    conf = wb.add_worksheet("_xlwings.conf")
    conf.set_vba_name(f"Sheet{len(SHEETS) + 2}")
    conf.set_column(0, 0, 18)
    conf.set_column(1, 1, 40)
    for r, (k, v) in enumerate(XLWINGS_CONF):
        conf.write_string(r, 0, k)
        if isinstance(v, bool):
            conf.write_boolean(r, 1, v)
        elif v:
            conf.write_string(r, 1, v)
    conf.write_string(len(XLWINGS_CONF) + 2, 0, "Rename this sheet to xlwings.conf (no leading "
                      "underscore) to use these settings, e.g. the full path of the Python that "
                      "has Recon installed in Interpreter_Win / Interpreter_Mac.")
    conf.hide()
    start.activate()
    wb.close()


def build(out: Path = TEMPLATE) -> Path:
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        vba = Path(tmp) / "vbaProject.bin"
        vba.write_bytes(build_vba_project())
        build_workbook(out, vba)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = build(Path(argv[0]) if argv else TEMPLATE)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
