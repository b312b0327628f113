"""Shared test helpers: tiny workbooks built inside the tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xlsxwriter

AS_OF = dt.date(2026, 3, 31)


def build_workbook(path: Path, sheets: dict[str, list[list]], *, title_rows: int = 0) -> Path:
    """Write `sheets` (name → rows, first row the header) as an xlsx; dates stay Excel dates."""
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": dt.datetime(2026, 1, 1)})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for t in range(title_rows):
            ws.write(t, 0, f"{name} — title line {t + 1}")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                at = r + title_rows
                if value is None:
                    continue
                if isinstance(value, (dt.date, dt.datetime)):
                    ws.write_datetime(at, c, value, date_fmt)
                else:
                    ws.write(at, c, value)
    wb.close()
    return path


@pytest.fixture
def make_workbook(tmp_path):
    def make(sheets: dict[str, list[list]], name: str = "book.xlsx", **kw) -> Path:
        return build_workbook(tmp_path / name, sheets, **kw)
    return make
