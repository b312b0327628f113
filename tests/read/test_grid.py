"""Raw grids: opening files, finding sheets by name, spotting never-calculated formulas."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest
import xlsxwriter

from engine.errors import InputError
from engine.read.grid import Workbook


def test_not_a_zip_file_is_an_input_error(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_text("this is not a workbook")
    with pytest.raises(InputError) as err:
        Workbook(path)
    assert err.value.file == "book.xlsx"


def test_sheets_found_case_space_and_underscore_insensitively(make_workbook):
    book = Workbook(make_workbook({"invoices": [["Invoice"]], "Fee Schedule": [["Payer"]],
                                   "Payment_Plans": [["Plan"]]}))
    try:
        assert book.find("Invoices") == "invoices"
        assert book.find("FeeSchedule") == "Fee Schedule"
        assert book.find("PaymentPlans") == "Payment_Plans"
        assert book.find("Deposits") is None
    finally:
        book.close()


def test_grid_row_zero_is_excel_row_one_even_when_the_top_is_empty(tmp_path):
    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Invoices").write_row(3, 2, ["Invoice", "Amount"])
    wb.close()
    book = Workbook(path)
    try:
        rows = book.grid("Invoices").rows
    finally:
        book.close()
    assert rows[3][2:4] == ["Invoice", "Amount"]


def test_merged_title_cell_gives_its_value_in_the_first_cell(tmp_path):
    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Invoices")
    ws.merge_range(0, 0, 0, 3, "March billing", wb.add_format({"bold": True}))
    ws.write_row(1, 0, ["Invoice", "Amount"])
    wb.close()
    book = Workbook(path)
    try:
        rows = book.grid("Invoices").rows
    finally:
        book.close()
    assert rows[0][0] == "March billing" and not any(rows[0][1:])


def test_hidden_rows_are_in_the_grid(tmp_path):
    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Invoices")
    ws.write_row(0, 0, ["Invoice", "Amount"])
    ws.set_row(1, None, None, {"hidden": True})
    ws.write_row(1, 0, ["INV-1", 10])
    wb.close()
    book = Workbook(path)
    try:
        assert book.grid("Invoices").rows[1] == ["INV-1", 10.0]
    finally:
        book.close()


def test_cached_formula_values_are_read_and_not_flagged(tmp_path):
    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Invoices")
    ws.write_formula(0, 0, "=10/3", None, 3.335)
    wb.close()
    book = Workbook(path)
    try:
        grid = book.grid("Invoices")
    finally:
        book.close()
    assert grid.rows[0][0] == 3.335 and grid.uncached == set()


def test_openpyxl_formula_without_value_is_uncached(tmp_path):
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Invoices"
    ws.append(["Invoice", "Amount"])
    ws.append(["INV-1", "=1+1"])
    wb.save(path)
    book = Workbook(path)
    try:
        assert book.grid("Invoices").uncached == {(1, 1)}
    finally:
        book.close()


def test_xlsxwriter_default_formula_value_is_uncached_under_full_calc_on_load(tmp_path):
    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Invoices")
    ws.write_formula(2, 1, "=1+1")  # stored result: the placeholder 0
    wb.close()
    assert b'fullCalcOnLoad="1"' in zipfile.ZipFile(path).read("xl/workbook.xml")
    book = Workbook(path)
    try:
        assert book.grid("Invoices").uncached == {(2, 1)}
    finally:
        book.close()


def _excel_like(tmp_path, cell_xml: bytes):
    """An openpyxl workbook with B2 replaced by `cell_xml` and no fullCalcOnLoad (as Excel saves)."""
    src = tmp_path / "src.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Invoices"
    ws.append(["Invoice", "Amount"])
    ws.append(["INV-1", "=1+1"])
    wb.save(src)
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<c r="B2"><f>1+1</f><v /></c>', cell_xml)
                assert cell_xml in data
            if item.filename == "xl/workbook.xml":
                data = data.replace(b' fullCalcOnLoad="1"', b"")
            zout.writestr(item, data)
    return path


def test_calculated_zero_is_a_value_when_excel_saved_the_workbook(tmp_path):
    path = _excel_like(tmp_path, b'<c r="B2"><f>1-1</f><v>0</v></c>')
    book = Workbook(path)
    try:
        grid = book.grid("Invoices")
    finally:
        book.close()
    assert grid.rows[1][1] == 0.0 and grid.uncached == set()


def test_formula_calculated_to_empty_text_is_not_uncached(tmp_path):
    path = _excel_like(tmp_path, b'<c r="B2" t="str"><f>IF(1=1,"","x")</f><v></v></c>')
    book = Workbook(path)
    try:
        assert book.grid("Invoices").uncached == set()
    finally:
        book.close()


def test_shared_formula_without_value_is_uncached(tmp_path):
    path = _excel_like(tmp_path, b'<c r="B2"><f t="shared" si="0"/></c>')
    book = Workbook(path)
    try:
        assert book.grid("Invoices").uncached == {(1, 1)}
    finally:
        book.close()


@pytest.mark.parametrize("cell_xml, shown", [
    (b'<c r="B2" t="e"><f>XLOOKUP(A2,X:X,Y:Y)</f><v>#N/A</v></c>', "#N/A"),  # a failed lookup
    (b'<c r="B2" s="0" t="e"><v>#REF!</v></c>', "#REF!"),  # an error pasted as a value
    (b'<c t="e" r="B2"><v>#DIV/0!</v></c>', "#DIV/0!"),  # attributes in another order
])
def test_excel_error_cells_hold_the_error_excel_shows(tmp_path, cell_xml, shown):
    book = Workbook(_excel_like(tmp_path, cell_xml))
    try:
        grid = book.grid("Invoices")
    finally:
        book.close()
    assert grid.rows[1] == ["INV-1", shown] and grid.uncached == set()


def test_text_that_looks_like_an_error_attribute_is_not_an_error_cell(tmp_path):
    book = Workbook(_excel_like(tmp_path, b'<c r="B2" t="inlineStr"><is><t>t="e"</t></is></c>'))
    try:
        assert book.grid("Invoices").rows[1] == ["INV-1", 't="e"']
    finally:
        book.close()


def test_error_cells_are_found_among_texts_showing_errors(tmp_path):
    """Cells are looked at from each `#` in the sheet: only one whose own tag says `t="e"` is an
    error cell, not a text or a formula's text result that shows an error's words."""
    texts = b"".join(b'<c r="C2" t="inlineStr"><is><t>#N/A ref #%d</t></is></c>' % i
                     for i in range(500))
    text_result = b'<c r="D2" t="str"><f>"#REF!"</f><v>#REF!</v></c>'
    book = Workbook(_excel_like(tmp_path, texts + b'<c r="B2" t="e"><v>#N/A</v></c>'
                                + text_result))
    try:
        assert book._scan("Invoices") == (set(), {(1, 1): "#N/A"})
    finally:
        book.close()


@pytest.mark.parametrize("chunk", [7, 50, 1 << 20])
def test_cells_are_found_whole_however_the_xml_is_cut_into_chunks(tmp_path, monkeypatch, chunk):
    from engine.read import grid

    columns = [chr(c) for c in range(ord("C"), ord("Z") + 1)]
    cells = b"".join(
        (b'<c r="%s2" t="e"><f>NA()</f><v>#N/A</v></c>' if i % 3 == 0 else
         b'<c r="%s2"><f>1+1</f><v></v></c>' if i % 3 == 1 else
         b'<c r="%s2" t="inlineStr"><is><t>#3 of f</t></is></c>') % c.encode()
        for i, c in enumerate(columns))
    book = Workbook(_excel_like(tmp_path, b'<c r="B2"><v>5</v></c>' + cells))
    monkeypatch.setattr(grid, "_CHUNK", chunk)  # chunks of a few bytes: most hold no </c>
    try:
        uncached, errors = book._scan("Invoices")
    finally:
        book.close()
    assert errors == {(1, i + 2): "#N/A" for i in range(0, len(columns), 3)}
    assert uncached == {(1, i + 2) for i in range(1, len(columns), 3)}


def test_a_zip_bomb_part_is_refused_before_anything_unpacks_it(tmp_path, monkeypatch):
    from engine.read import grid

    monkeypatch.setattr(grid, "ZIP_BOMB_MIN_BYTES", 1 << 20)  # a 4 MB bomb stands for a 40 GB one
    path = _excel_like(tmp_path, b'<c r="B2"><v>5</v></c>')
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/image1.bin", b"\0" * (4 << 20))
    with pytest.raises(InputError) as err:
        Workbook(path)
    assert err.value.file == "book.xlsx"
    assert "xl/media/image1.bin would unpack to 4 MB" in str(err.value)


def test_an_ordinary_large_part_is_read(tmp_path, monkeypatch):
    from engine.read import grid

    monkeypatch.setattr(grid, "ZIP_BOMB_MIN_BYTES", 1 << 10)
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i * 7919 % 100003)
                    for i in range(3, 3000))
    # rows 3… go in after B2's row; the last one is closed by B2's own </row>
    book = Workbook(_excel_like(tmp_path, b'<c r="B2"><v>5</v></c></row>' + rows[:-6]))
    try:
        assert len(book.grid("Invoices").rows) == 2999
    finally:
        book.close()


def _zip_with(tmp_path, data: bytes, method=zipfile.ZIP_DEFLATED):
    path = tmp_path / "parts.zip"
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", data)
    return path


def _sheet_bytes(n: int) -> bytes:
    return b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i * 7919 % 100003)
                    for i in range(1, n))


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
@pytest.mark.parametrize("chunk", [7, 1 << 20])
def test_a_part_inflates_to_what_zipfile_reads(tmp_path, monkeypatch, method, chunk):
    from engine.read import grid

    data = _sheet_bytes(120_000 if chunk > 7 else 2000)  # several chunks
    path = _zip_with(tmp_path, data, method)
    monkeypatch.setattr(grid, "_CHUNK", chunk)  # small: output held back when all is read
    chunks = list(grid._inflated(path, "xl/worksheets/sheet1.xml"))
    assert len(chunks) > 1 and b"".join(chunks) == data


def _lie(path, field_at: int, value: int) -> None:
    """Overwrite a 4-byte field of the part's central directory record (16: CRC, 24: size)."""
    raw = bytearray(path.read_bytes())
    record = raw.rfind(b"PK\x01\x02")
    raw[record + field_at:record + field_at + 4] = value.to_bytes(4, "little")
    path.write_bytes(bytes(raw))


def test_inflating_stops_at_the_recorded_size_and_fails_past_it(tmp_path):
    from engine.read.grid import _CHUNK, _inflated

    data = _sheet_bytes(200_000)
    path = _zip_with(tmp_path, data)
    _lie(path, 24, _CHUNK + 10)  # the package says the part is barely more than a chunk
    seen = 0
    with pytest.raises(zipfile.BadZipFile):
        for chunk in _inflated(path, "xl/worksheets/sheet1.xml"):
            seen += len(chunk)
    assert seen <= _CHUNK + 10


def test_inflating_a_part_whose_crc_does_not_match_fails(tmp_path):
    from engine.read.grid import _inflated

    path = _zip_with(tmp_path, _sheet_bytes(1000))
    _lie(path, 16, 12345)
    with pytest.raises(zipfile.BadZipFile):
        list(_inflated(path, "xl/worksheets/sheet1.xml"))


def test_uncalculated_formulas_are_found_among_many_texts_holding_f(tmp_path):
    text = b'<c r="C2" t="inlineStr"><is><t>staff fee for office</t></is></c>'
    book = Workbook(_excel_like(tmp_path, text * 2000 + b'<c r="B2"><f>1+1</f><v /></c>'))
    try:
        assert book.grid("Invoices").uncached == {(1, 1)}
    finally:
        book.close()


def test_a_damaged_sheet_part_is_scanned_as_holding_nothing(tmp_path):
    """A deflate stream broken inside the sheet's part: the scan finds nothing rather than
    raising (calamine, which reads the part first, is the one to say the file is damaged)."""
    book = Workbook(_excel_like(tmp_path, b'<c r="B2"><f>1+1</f><v /></c>'))
    try:
        info = zipfile.ZipFile(book.path).getinfo("xl/worksheets/sheet1.xml")
        raw = bytearray(book.path.read_bytes())
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        raw[start:start + 8] = b"\xff" * 8  # an invalid deflate block header
        book.path.write_bytes(bytes(raw))
        assert book._scan("Invoices") == (set(), {})
    finally:
        book.close()


def test_a_sheet_calamine_cannot_read_is_an_input_error_naming_file_and_sheet(tmp_path):
    """A sheet part damaged in the middle: the clerk hears which file and sheet, and what to do."""
    from engine.errors import InputError

    path = _excel_like(tmp_path, b'<c r="B2"><v>2</v></c>')
    info = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml")
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start:start + info.compress_size] = b"\x00" * info.compress_size
    path.write_bytes(bytes(raw))
    book = Workbook(path)
    try:
        with pytest.raises(InputError) as caught:
            book.grid("Invoices")
    finally:
        book.close()
    said = caught.value.describe()
    assert "book.xlsx" in said and "Invoices" in said and "save it again" in said
