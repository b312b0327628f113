"""The staff's workbook survives: every part the engine does not own stays byte-identical,
re-runs replace (never duplicate) the result sheets, and the results read back exactly."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from staff_books import FAKE_VBA, discrepancies_sheet, summary_sheet
from engine.errors import InputError
from engine.write import xlsx
from engine.write.model import Block, Column, ResultSheet
from engine.write.xlsx import new_workbook, write_result_sheets

# parts the writer may patch (minimal string edits); everything else must be byte-identical
PATCHED = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
           "xl/styles.xml", "docProps/app.xml"}


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def raw_entries(path: Path) -> dict[str, tuple[int, int, int]]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: (i.CRC, i.compress_size, i.compress_type) for i in z.infolist()}


def referenced_parts(path: Path) -> set[str]:
    """Every part reachable from the package relationships (to find orphans)."""
    p = parts(path)
    seen, todo = set(), [""]
    while todo:
        part = todo.pop()
        if part in seen:
            continue
        seen.add(part)
        folder, base = part.rsplit("/", 1) if "/" in part else ("", part)
        rels = f"{folder}/_rels/{base}.rels".lstrip("/") if part else "_rels/.rels"
        if rels not in p:
            continue
        seen.add(rels)
        for target, mode in re.findall(r'Target="([^"]+)"(?: TargetMode="(\w+)")?',
                                       p[rels].decode()):
            if mode == "External":
                continue
            base_dir = folder if part else ""
            full = target.lstrip("/") if target.startswith("/") else \
                str(Path(base_dir, target)).replace("\\", "/")
            import posixpath
            todo.append(posixpath.normpath(full))
    return seen - {""}


@pytest.mark.parametrize("fixture", ["staff_xlsx", "staff_xlsm"])
def test_staff_parts_byte_identical_and_reruns_replace(fixture, request, tmp_path,
                                                       result_sheets):
    src: Path = request.getfixturevalue(fixture)
    out1, out2 = tmp_path / f"o1{src.suffix}", tmp_path / f"o2{src.suffix}"
    write_result_sheets(src, out1, result_sheets)
    write_result_sheets(out1, out2, result_sheets)

    before, after1, after2 = parts(src), parts(out1), parts(out2)
    raw_before, raw_after = raw_entries(src), raw_entries(out2)
    for name, data in before.items():
        assert name in after1, f"{name} lost"
        if name not in PATCHED:
            assert after1[name] == data, f"{name} changed"
            assert after2[name] == data, f"{name} changed on the second run"
            assert raw_after[name] == raw_before[name], f"{name} was recompressed"
    # the second run replaces: same parts, same bytes, nothing accumulates
    assert after2 == after1
    assert out2.read_bytes() == out1.read_bytes()
    # no orphans: every part is reachable from the relationships (content types aside)
    assert set(after2) - {"[Content_Types].xml"} <= referenced_parts(out2)

    wb = openpyxl.load_workbook(out2)
    assert wb.sheetnames == ["Invoices", "Payments", "Recon Summary", "Discrepancies"]
    if src.suffix == ".xlsm":
        assert after2["xl/vbaProject.bin"] == FAKE_VBA
        ct = after2["[Content_Types].xml"].decode()
        assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in ct


def test_staff_features_still_present(staff_xlsx, tmp_path, result_sheets):
    out = tmp_path / "out.xlsx"
    write_result_sheets(staff_xlsx, out, result_sheets)
    p = parts(out)
    sheet1 = p["xl/worksheets/sheet1.xml"].decode()
    assert "x14:sparklineGroup" in sheet1 and "x14:dataBar" in sheet1
    assert "<v>" in sheet1  # cached formula values kept
    assert any(n.startswith("xl/media/") for n in p)
    assert "vmlDrawing" in "".join(p)  # comments + form button
    wb = openpyxl.load_workbook(out, data_only=True)
    assert wb["Invoices"]["E2"].value == pytest.approx(100 + 12.5 - 51)
    assert "TotalBilled" in wb.defined_names
    assert set(wb["Invoices"].tables) == {"StaffTable"}


def test_values_read_back_exactly(staff_xlsx, tmp_path, result_sheets):
    out = tmp_path / "out.xlsx"
    write_result_sheets(staff_xlsx, out, result_sheets)
    disc = result_sheets[1].blocks[0].data

    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Discrepancies").to_python()
    assert rows[0] == list(disc.columns)
    for i, row in enumerate(rows[1:]):
        cents = disc["Amount"][i]
        if pd.isna(cents):
            assert row[3] == ""
        else:
            # the XML holds the exact decimal; the float readers see is its nearest double
            assert row[3] == float(f"{int(cents) / 100:.2f}")
        assert row[0] == disc["Finding"][i]
    wb = openpyxl.load_workbook(out)
    ws = wb["Discrepancies"]
    assert ws["C2"].value == "=SUM(A1)" and ws["C2"].data_type == "s"
    assert ws["C3"].value == "00100"
    assert ws["C4"].value == "a<b>&c\"'"
    assert ws["C5"].value == "bellchar"  # the illegal control character is dropped
    assert ws["C8"].value == "multi\nline"
    assert ws["C9"].value == "ünïcödé ✓ 😀"
    assert ws["E2"].value == dt.datetime(2026, 3, 15) and ws["E2"].number_format == "yyyy\\-mm\\-dd"
    assert ws["E5"].value is None  # NaT
    assert ws["F2"].value == dt.datetime(2026, 4, 1, 13, 45)
    assert "$" in ws["D3"].number_format
    assert ws["H2"].number_format == "0%"
    assert ws.freeze_panes == "A2"
    assert ws["A2"].hyperlink.location == "'Invoices'!A2"
    assert ws.tables["Discrepancies"].ref == "A1:I51"
    assert len(ws.conditional_formatting) == 1
    xml = parts(out)["xl/worksheets/sheet4.xml"].decode()
    assert "<v>-0.99</v>" not in xml and "<f>" not in xml
    assert re.search(r'<c r="D3" s="\d+"><v>122\.46</v>', xml)

    summ = wb["Recon Summary"]
    assert summ["A1"].value == "Run date: 2026-04-01"
    assert summ["B6"].value == pytest.approx(12345.67)
    assert set(summ.tables) == {"Totals", "FindingsByType"}
    assert summ.freeze_panes is None  # several blocks: nothing frozen
    assert len(summ._charts) == 1


def test_money_written_exactly():
    from engine.write.sheetxml import money_strings
    import numpy as np
    got = money_strings(np.array([0, 1, -1, 99, -100, 12345, -12345, 10**15 + 7]))
    assert list(got) == ["0.00", "0.01", "-0.01", "0.99", "-1.00", "123.45", "-123.45",
                         "10000000000000.07"]


def test_foreign_sheet_with_a_result_name_is_not_replaced(tmp_path):
    src = tmp_path / "b.xlsx"
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(src))
    wb.add_worksheet("Invoices").write(0, 0, "x")
    wb.add_worksheet("discrepancies").write(0, 0, "the clerk's own sheet")
    wb.close()
    with pytest.raises(InputError, match="did not write"):
        write_result_sheets(src, tmp_path / "o.xlsx", [discrepancies_sheet()])


def test_replaced_sheet_keeps_its_position_and_table_names_avoid_staff(tmp_path, staff_xlsx):
    out1, out2 = tmp_path / "o1.xlsx", tmp_path / "o2.xlsx"
    clash = ResultSheet("Aging", (Block("StaffTable", (Column("Payer"),),
                                       pd.DataFrame({"Payer": ["BCBS"]})),))
    write_result_sheets(staff_xlsx, out1, [clash])
    wb = openpyxl.load_workbook(out1)
    assert "StaffTable" in wb["Invoices"].tables
    assert list(wb["Aging"].tables) == ["StaffTable_2"]
    # a staff sheet added after the result sheet: the re-run keeps the result sheet's slot
    write_result_sheets(out1, out2, [clash, summary_sheet()])
    assert openpyxl.load_workbook(out2).sheetnames == ["Invoices", "Payments", "Aging",
                                                       "Recon Summary"]


def test_fewer_charts_on_rerun_leaves_no_orphans(staff_xlsx, tmp_path):
    out1, out2 = tmp_path / "o1.xlsx", tmp_path / "o2.xlsx"
    write_result_sheets(staff_xlsx, out1, [summary_sheet()])
    s = summary_sheet()
    plain = ResultSheet(s.name, s.blocks, notes=s.notes)
    write_result_sheets(out1, out2, [plain])
    p = parts(out2)
    assert sorted(n for n in p if "chart" in n) == ["xl/charts/chart1.xml"]  # the staff's
    assert set(p) - {"[Content_Types].xml"} <= referenced_parts(out2)
    ct = p["[Content_Types].xml"].decode()
    for name in re.findall(r'PartName="/([^"]+)"', ct):
        assert name in p, f"content type for a missing part {name}"


def test_app_xml_titles_updated(staff_xlsx, tmp_path, result_sheets):
    out = tmp_path / "o.xlsx"
    write_result_sheets(staff_xlsx, out, result_sheets)
    app = parts(out)["docProps/app.xml"].decode()
    assert "<vt:lpstr>Recon Summary</vt:lpstr><vt:lpstr>Discrepancies</vt:lpstr>" in app
    assert "<vt:i4>4</vt:i4>" in app


def test_styles_not_renumbered_and_not_growing(staff_xlsx, tmp_path, result_sheets):
    out1, out2 = tmp_path / "o1.xlsx", tmp_path / "o2.xlsx"
    write_result_sheets(staff_xlsx, out1, result_sheets)
    write_result_sheets(out1, out2, result_sheets)
    before = parts(staff_xlsx)["xl/styles.xml"].decode()
    after = parts(out1)["xl/styles.xml"].decode()
    for section in ("cellXfs", "fonts", "numFmts"):
        old = re.search(rf"<{section}[^>]*>(.*?)</{section}>", before, re.S)
        new = re.search(rf"<{section}[^>]*>(.*?)</{section}>", after, re.S)
        if old:
            assert new.group(1).startswith(old.group(1))
    assert parts(out2)["xl/styles.xml"] == parts(out1)["xl/styles.xml"]


def test_date1904_workbook(tmp_path):
    import xlsxwriter
    src = tmp_path / "mac.xlsx"
    wb = xlsxwriter.Workbook(str(src), {"date_1904": True})
    wb.add_worksheet("Invoices").write(0, 0, "x")
    wb.close()
    out = tmp_path / "o.xlsx"
    write_result_sheets(src, out, [discrepancies_sheet(5)])
    ws = openpyxl.load_workbook(out)["Discrepancies"]
    assert ws["E2"].value == dt.datetime(2026, 3, 15)


def test_calc_chain_entries_of_a_replaced_sheet_are_dropped(tmp_path, staff_xlsx):
    out1 = tmp_path / "o1.xlsx"
    write_result_sheets(staff_xlsx, out1, [discrepancies_sheet(3)])
    # simulate Excel having recorded a formula the clerk typed into the result sheet (sheetId 3)
    patched = tmp_path / "with_chain.xlsx"
    with zipfile.ZipFile(out1) as zin, zipfile.ZipFile(patched, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/calcChain.xml" '
                                    b'ContentType="application/vnd.openxmlformats-officedocument.'
                                    b'spreadsheetml.calcChain+xml"/></Types>')
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http://'
                                    b'schemas.openxmlformats.org/officeDocument/2006/relationships'
                                    b'/calcChain" Target="calcChain.xml"/></Relationships>')
            zout.writestr(info, data)
        zout.writestr("xl/calcChain.xml", '<?xml version="1.0"?><calcChain xmlns="http://schemas.'
                      'openxmlformats.org/spreadsheetml/2006/main"><c r="E2" i="1"/><c r="E3"/>'
                      '<c r="Z9" i="3"/></calcChain>')
    out2 = tmp_path / "o2.xlsx"
    write_result_sheets(patched, out2, [discrepancies_sheet(3)])
    chain = parts(out2)["xl/calcChain.xml"].decode()
    assert '<c r="E2" i="1"/><c r="E3" i="1"/></calcChain>' in chain


def test_new_workbook_and_zip64(tmp_path, monkeypatch, result_sheets):
    out = tmp_path / "export.xlsx"
    new_workbook(out, result_sheets)
    assert openpyxl.load_workbook(out).sheetnames == ["Recon Summary", "Discrepancies"]
    assert CalamineWorkbook.from_path(str(out)).sheet_names == ["Recon Summary", "Discrepancies"]
    monkeypatch.setattr(xlsx, "_ZIP64_LIMIT", 100)  # force the zip64 code paths on a small file
    monkeypatch.setattr(xlsx, "_ZIP64_COUNT", 3)
    out64 = tmp_path / "export64.xlsx"
    new_workbook(out64, result_sheets)
    assert parts(out64) == parts(out)
    with zipfile.ZipFile(out64) as z:
        assert z.testzip() is None


def test_empty_block_and_invalid_input(tmp_path, staff_xlsx):
    empty = ResultSheet("Plans", (Block("Plans", (Column("Plan"), Column("Due", "money")),
                                        pd.DataFrame({"Plan": pd.Series([], dtype=object),
                                                      "Due": pd.array([], dtype="Int64")})),))
    out = tmp_path / "o.xlsx"
    write_result_sheets(staff_xlsx, out, [empty])
    assert openpyxl.load_workbook(out)["Plans"].tables["Plans"].ref == "A1:B2"
    bad = ResultSheet("Plans", (Block("Plans", (Column("Due", "money"),),
                                      pd.DataFrame({"Due": [1.5]})),))
    with pytest.raises(TypeError, match="cents"):
        write_result_sheets(staff_xlsx, tmp_path / "x.xlsx", [bad])
    with pytest.raises(ValueError, match="sheet name"):
        write_result_sheets(staff_xlsx, tmp_path / "x.xlsx",
                            [ResultSheet("a/b", empty.blocks)])
    with pytest.raises(InputError):
        (tmp_path / "junk.xlsx").write_bytes(b"not a zip")
        write_result_sheets(tmp_path / "junk.xlsx", tmp_path / "x.xlsx", [empty])
