"""In-place writes are atomic, keep backups, and never touch a workbook open in Excel."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openpyxl
import pytest

from staff_books import build_staff_workbook, discrepancies_sheet, summary_sheet
from engine.write.safe import backup_path, write_copy, write_in_place

ROOT = Path(__file__).resolve().parents[2]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_in_place_with_rotating_backups(staff_xlsx):
    versions = [digest(staff_xlsx)]
    for n in range(5):
        out = write_in_place(staff_xlsx, [discrepancies_sheet(10 + n)], backups_kept=3)
        assert out.written == staff_xlsx and out.sibling_reason is None
        assert out.backup == backup_path(staff_xlsx, 1)
        assert digest(out.backup) == versions[-1]
        versions.append(digest(staff_xlsx))
    backups = sorted((staff_xlsx.parent / "Recon backups").iterdir())
    assert len(backups) == 3
    assert digest(backup_path(staff_xlsx, 3)) == versions[-4]
    assert not [p for p in staff_xlsx.parent.iterdir() if p.name.endswith(".tmp")]
    assert openpyxl.load_workbook(staff_xlsx)["Discrepancies"].max_row == 15


def test_open_in_excel_writes_a_sibling(staff_xlsx):
    before = digest(staff_xlsx)
    (staff_xlsx.parent / f"~${staff_xlsx.name}").write_bytes(b"owner")
    out = write_in_place(staff_xlsx, [summary_sheet()])
    assert digest(staff_xlsx) == before
    assert out.written == staff_xlsx.parent / "billing (reconciled).xlsx"
    assert "open in Excel" in out.sibling_reason and out.written.name in out.sibling_reason
    assert "Recon Summary" in openpyxl.load_workbook(out.written).sheetnames


def test_write_copy_leaves_source_alone(staff_xlsm, tmp_path):
    before = digest(staff_xlsm)
    dst = tmp_path / "out" / "copy.xlsm"
    dst.parent.mkdir()
    out = write_copy(staff_xlsm, dst, [summary_sheet()])
    assert out.written == dst and digest(staff_xlsm) == before
    assert "Recon Summary" in openpyxl.load_workbook(dst, keep_vba=True).sheetnames


CHILD = textwrap.dedent("""
    import sys, time
    sys.path[:0] = [{root!r}, {tests!r}]
    from pathlib import Path
    import conftest
    from engine.write import safe, xlsx, sheetxml
    marker = Path({marker!r})
    stage = {stage!r}
    if stage == "sheet":  # stall while the new workbook is half written
        real = sheetxml._rows_chunk
        def slow(*a, **k):
            marker.write_text("mid-write")
            time.sleep(60)
            return real(*a, **k)
        sheetxml._rows_chunk = slow
    else:  # stall after the backup, just before the atomic replace
        real_replace = safe.os.replace
        def slow_replace(a, b):
            if str(b).endswith(".xlsx") and "backup" not in str(b):
                marker.write_text("before-replace")
                time.sleep(60)
            return real_replace(a, b)
        safe.os.replace = slow_replace
    safe.write_in_place(Path({path!r}), [conftest.discrepancies_sheet(2000)])
""")


@pytest.mark.parametrize("stage", ["sheet", "replace"])
def test_killed_mid_write_leaves_the_original_intact(tmp_path, stage):
    path = build_staff_workbook(tmp_path / "billing.xlsx")
    before = digest(path)
    marker = tmp_path / "marker"
    code = CHILD.format(root=str(ROOT), tests=str(ROOT / "tests" / "write"),
                        marker=str(marker), stage=stage, path=str(path))
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.time() + 60
        while not marker.exists():
            assert child.poll() is None, "child ended before reaching the slow step"
            assert time.time() < deadline
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert digest(path) == before
    assert openpyxl.load_workbook(path).sheetnames == ["Invoices", "Payments"]
    # the next run succeeds despite the stray temporary file
    write_in_place(path, [summary_sheet()])
    assert "Recon Summary" in openpyxl.load_workbook(path).sheetnames
