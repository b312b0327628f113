"""Builders for the writer tests: a staff workbook built with every feature that must
survive (made with xlsxwriter, like real files made by Excel), and sample result sheets."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pandas as pd
import xlsxwriter

from engine.write.model import Block, Chart, Column, Link, ResultSheet


def _tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"\x00\xff\x00\x00"  # one red pixel, filter byte 0
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# A stand-in for a VBA project: the writer must carry it byte for byte, whatever it holds.
FAKE_VBA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8


def build_staff_workbook(path: Path, *, vba: Path | None = None) -> Path:
    import io
    wb = xlsxwriter.Workbook(str(path))
    if vba is not None:
        wb.add_vba_project(str(vba))
    money = wb.add_format({"num_format": "$#,##0.00"})
    ws = wb.add_worksheet("Invoices")
    ws.write_row(0, 0, ["Invoice", "Patient", "Amount", "Paid", "Balance"])
    for i in range(1, 21):
        ws.write_string(i, 0, f"INV-{i:04d}")
        ws.write_string(i, 1, f"Patient {i}")
        ws.write_number(i, 2, 100 + i * 12.5, money)
        ws.write_number(i, 3, 50 + i, money)
        ws.write_formula(i, 4, f"=C{i + 1}-D{i + 1}", money, 100 + i * 12.5 - 50 - i)
    ws.add_table(0, 6, 5, 8, {"name": "StaffTable", "columns": [
        {"header": "Code"}, {"header": "Rate"}, {"header": "Note"}]})
    ws.data_validation(1, 9, 20, 9, {"validate": "list", "source": ["Open", "Closed"]})
    ws.write_comment(1, 0, "Check this one with the payer")
    ws.conditional_format(1, 2, 20, 2, {"type": "data_bar", "data_bar_2010": True})
    ws.add_sparkline(0, 10, {"range": "Invoices!C2:C21"})
    ws.insert_textbox(3, 12, "Staff notes: call BCBS on Monday")
    ws.insert_button(10, 12, {"macro": "say_hello" if vba else None, "caption": "Press"}
                     if vba else {"caption": "Press"})
    ws.insert_image(14, 12, "dot.png", {"image_data": io.BytesIO(_tiny_png())})
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Invoices!$C$2:$C$21", "categories": "=Invoices!$A$2:$A$21"})
    ws.insert_chart(20, 12, chart)
    wb.define_name("TotalBilled", "=SUM(Invoices!$C$2:$C$21)")
    wb.define_name("Invoices!LocalName", "=Invoices!$A$1")
    pay = wb.add_worksheet("Payments")
    pay.write_row(0, 0, ["Payment", "Amount"])
    pay.write_row(1, 0, ["P-1", 12.5])
    pay.write_formula(2, 1, "=SUM(B2:B2)", None, 12.5)
    wb.close()
    return path


TRICKY_TEXT = ["=SUM(A1)", "00100", "a<b>&c\"'", "bell\x07char", "_x0041_ literal",
               "  padded  ", "multi\nline", "ünïcödé ✓ 😀"]


def discrepancies_sheet(n: int = 50) -> ResultSheet:
    idx = range(n)
    data = pd.DataFrame({
        "Finding": [f"F{i:05d}" for i in idx],
        "Severity": [("high", "medium", "low", "info")[i % 4] for i in idx],
        "Invoice": [TRICKY_TEXT[i % len(TRICKY_TEXT)] if i < 16 else f"INV-{i:04d}" for i in idx],
        "Amount": pd.array([(i * 12345 - 99) if i % 7 else None for i in idx], dtype="Int64"),
        "Service date": pd.to_datetime(["2026-03-15"] * n) + pd.to_timedelta(list(idx), unit="D"),
        "Found at": pd.to_datetime(["2026-04-01 13:45:00"] * n),
        "Days": pd.array([i if i % 5 else None for i in idx], dtype="Int64"),
        "Confidence": [0.5 + (i % 50) / 100 for i in idx],
        "Ratio": [1.25 * i for i in idx],
    })
    if n > 3:
        data.loc[3, "Service date"] = pd.NaT
    cols = (Column("Finding"), Column("Severity"), Column("Invoice"), Column("Amount", "money"),
            Column("Service date", "date"), Column("Found at", "datetime"), Column("Days", "int"),
            Column("Confidence", "percent"), Column("Ratio", "number"))
    link = Link("Finding", pd.Series(["Invoices"] * n), pd.Series([i % 20 + 2 for i in idx]))
    return ResultSheet("Discrepancies", (Block("Discrepancies", cols, data, links=(link,),
                                                severity_column="Severity"),))


def summary_sheet() -> ResultSheet:
    totals = pd.DataFrame({"Measure": ["Billed", "Paid by insurance", "Outstanding"],
                           "Amount": pd.array([1234567, 800000, 434567], dtype="Int64")})
    by_type = pd.DataFrame({"Type": ["UNDERPAID", "DENIED", "UNMATCHED_PAYMENT"],
                            "Count": pd.array([3, 2, 7], dtype="Int64"),
                            "Amount": pd.array([12000, 55000, -3000], dtype="Int64")})
    return ResultSheet(
        "Recon Summary",
        (Block("Totals", (Column("Measure"), Column("Amount", "money")), totals, title="Totals"),
         Block("FindingsByType", (Column("Type"), Column("Count", "int"),
                                  Column("Amount", "money")), by_type, title="Findings by type")),
        charts=(Chart("Findings by type", 1, "Type", "Amount"),),
        notes=("Run date: 2026-04-01", "As of: 2026-03-31"),
    )
