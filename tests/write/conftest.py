"""Fixtures for the writer tests (builders in staff_books.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.write.model import ResultSheet
from staff_books import FAKE_VBA, build_staff_workbook, discrepancies_sheet, summary_sheet


@pytest.fixture
def staff_xlsx(tmp_path: Path) -> Path:
    return build_staff_workbook(tmp_path / "billing.xlsx")


@pytest.fixture
def staff_xlsm(tmp_path: Path) -> Path:
    vba = tmp_path / "vbaProject.bin"
    vba.write_bytes(FAKE_VBA)
    return build_staff_workbook(tmp_path / "billing.xlsm", vba=vba)


@pytest.fixture
def result_sheets() -> list[ResultSheet]:
    return [summary_sheet(), discrepancies_sheet()]

