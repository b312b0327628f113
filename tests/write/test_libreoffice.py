"""A result workbook must open in a real spreadsheet program: LibreOffice converts it to PDF.

Skipped when LibreOffice is missing locally; a failure on CI (env CI set), which installs it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from engine.write.xlsx import write_result_sheets


def _soffice() -> str | None:
    return shutil.which("libreoffice") or shutil.which("soffice")


def test_libreoffice_opens_the_result(staff_xlsx, tmp_path, result_sheets):
    exe = _soffice()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice is not installed on CI")
        pytest.skip("LibreOffice not installed")
    out = tmp_path / "result.xlsx"
    write_result_sheets(staff_xlsx, out, result_sheets)
    pdf_dir = tmp_path / "pdf"
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(pdf_dir), str(out)],
                   check=False, timeout=180, capture_output=True)
    pdf = pdf_dir / "result.pdf"
    assert pdf.exists() and pdf.stat().st_size > 1000, "LibreOffice produced no PDF"
