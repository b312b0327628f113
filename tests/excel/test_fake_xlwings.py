"""The stand-in Excel must stay strict while it records lazily: the button's tests and its
benchmark lean on it refusing what a real click must not do."""

import pytest
from fake_xlwings import Book, ForbiddenAPI


def _book():
    book = Book("/tmp/Billing.xlsx")
    sheet = book.sheets.add(name="Inputs")
    sheet.range((1, 1)).value = [["Inv #", "Billed"], ["A1", 12.5]]
    book.new_click()
    return book, sheet


def test_values_written_are_stored_as_typed_cells_in_write_order():
    book, _ = _book()
    out = book.sheets.add(name="Out")
    out.range((2, 2)).value = [["'=SUM(A1)", "00100", 3], [None, "'00100", "=HYPERLINK(\"#'Inputs'!A2\",\"A1\")"]]
    out.range((2, 4)).value = "'later wins"
    assert out.cells == {(2, 2): "=SUM(A1)", (2, 3): 100.0, (2, 4): "later wins",
                         (3, 3): "00100", (3, 4): "A1"}
    assert out.hyperlinks == {(3, 4): "#'Inputs'!A2"}


def test_reading_a_cell_written_in_the_same_click_is_refused():
    book, sheet = _book()
    assert sheet.range((1, 1), (2, 2)).options(ndim=2).value == [["Inv #", "Billed"], ["A1", 12.5]]
    sheet.range((3, 2)).value = 7
    with pytest.raises(ForbiddenAPI):
        _ = sheet.used_range.options(ndim=2).value
    assert sheet.range((1, 1), (2, 2)).value == [["Inv #", "Billed"], ["A1", 12.5]]
    book.new_click()
    assert sheet.range((3, 2)).value == 7.0


def test_formats_fills_and_fonts_land_on_every_cell_of_their_range():
    _, sheet = _book()
    rng = sheet.range((1, 1), (2, 2))
    rng.number_format = "0.00"
    rng.color = (1, 2, 3)
    rng.font.bold = True
    sheet.range((2, 2)).font.color = (9, 9, 9)
    cells = {(1, 1), (1, 2), (2, 1), (2, 2)}
    assert sheet.number_formats == dict.fromkeys(cells, "0.00")
    assert sheet.fills == dict.fromkeys(cells, (1, 2, 3))
    assert sheet.fonts[(2, 2)] == {"bold": True, "color": (9, 9, 9)}
    assert sheet.fonts[(1, 1)] == {"bold": True}


def test_the_api_escape_hatch_is_refused():
    book, sheet = _book()
    with pytest.raises(ForbiddenAPI):
        _ = book.api
    with pytest.raises(ForbiddenAPI):
        _ = sheet.api
    with pytest.raises(ForbiddenAPI):
        _ = sheet.range("A1").api


def test_its_own_reading_time_is_counted_apart_and_only_once(monkeypatch):
    import fake_xlwings
    ticks = iter(range(100))
    monkeypatch.setattr(fake_xlwings.time, "process_time", lambda: float(next(ticks)))
    book, sheet = _book()
    sheet.used_range.options(ndim=2).value  # used_range: one tick; value (reads cells): one
    assert book.excel_cpu == 2.0
    sheet.range((3, 2)).value = 7  # writing is recorded, not counted here
    with pytest.raises(ForbiddenAPI):
        _ = sheet.used_range.options(ndim=2).value
    assert book.excel_cpu == 4.0 and book._excel_depth == 0


def test_error_cells_read_as_none_unless_err_to_str(tmp_path):
    import openpyxl

    path = tmp_path / "e.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Amount", "#N/A"])  # openpyxl stores an error text as an error cell
    wb.save(path)
    sheet = Book.from_xlsx(path).sheets[0]
    assert sheet.used_range.options(ndim=2).value == [["Amount", None]]
    assert sheet.used_range.options(ndim=2, err_to_str=True).value == [["Amount", "#N/A"]]
