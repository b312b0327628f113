"""Fixtures shared by every test folder; the helpers themselves live in builders.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import build_workbook


@pytest.fixture
def make_workbook(tmp_path):
    def make(sheets: dict[str, list[list]], name: str = "book.xlsx", **kw) -> Path:
        return build_workbook(tmp_path / name, sheets, **kw)
    return make
