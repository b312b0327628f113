"""Writing into the staff's workbook so that no failure can cost them their file.

The rules, and why:
- Never write into the workbook itself. The new version goes to a temporary file in the same
  folder (same file system, so the final rename is atomic), is flushed and fsync'ed, and only
  then replaces the original with `os.replace`. A crash, a kill or a full disk at any earlier
  moment leaves the original exactly as it was (plus, at worst, a stray temporary file that the
  next run removes).
- Keep the previous version: before the replace, the current workbook is copied to
  `Recon backups/<stem> (backup 1)<suffix>` in the workbook's folder; older backups move to
  `(backup 2)`, `(backup 3)` … and the oldest beyond `backups_kept` is deleted. A visible folder
  (not a dot-folder) so that billing staff can find and restore a backup themselves.
- Never overwrite a workbook that is open in Excel (Excel keeps a `~$<name>` lock file beside it
  while it is open; replacing the file would lose the user's unsaved edits or fail on Windows).
  The result goes to a sibling `<stem> (reconciled)<suffix>` instead, and the outcome says why.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InputError
from engine.write.model import ResultSheet
from engine.write.xlsx import write_result_sheets

BACKUP_FOLDER = "Recon backups"
_TMP_PREFIX = ".~recon-"
_STALE_TMP_SECONDS = 3600


@dataclass(frozen=True)
class WriteOutcome:
    written: Path  # the workbook that now holds the results
    backup: Path | None  # the copy of the previous version, if one was kept
    sibling_reason: str | None  # why the results went to a sibling file instead of `path`


def lock_file(path: Path) -> Path | None:
    """Excel's owner file for `path` if it exists (the workbook is open in Excel)."""
    path = Path(path)
    candidates = [path.with_name("~$" + path.name)]
    if len(path.name) > 2:  # Office shortens long names: `~$` replaces the first two letters
        candidates.append(path.with_name("~$" + path.name[2:]))
    return next((c for c in candidates if c.exists()), None)


def sibling_path(path: Path) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem} (reconciled){path.suffix}")


def backup_path(path: Path, n: int) -> Path:
    path = Path(path)
    return path.parent / BACKUP_FOLDER / f"{path.stem} (backup {n}){path.suffix}"


def write_in_place(path: Path, sheets: Sequence[ResultSheet], *,
                   backups_kept: int = 3) -> WriteOutcome:
    """Replace the result sheets in the workbook at `path`, atomically and with a backup.

    If the workbook is open in Excel, it is left alone and the results go to a sibling file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("the workbook does not exist", file=str(path))
    lock = lock_file(path)
    if lock is not None:
        target = sibling_path(path)
        n = 2
        while lock_file(target) is not None:
            target = path.with_name(f"{path.stem} (reconciled {n}){path.suffix}")
            n += 1
        _atomic_write(path, target, sheets)
        reason = (f"{path.name} is open in Excel (its lock file {lock.name} exists), so it was "
                  f"not changed; the results were written to {target.name} instead. Close the "
                  "workbook in Excel and run again to update it.")
        return WriteOutcome(target, None, reason)
    backup = _atomic_write(path, path, sheets, backups_kept=backups_kept)
    return WriteOutcome(path, backup, None)


def write_copy(src: Path, dst: Path, sheets: Sequence[ResultSheet]) -> WriteOutcome:
    """Write `src` plus the result sheets to `dst` (for `--out`); `src` is never modified."""
    src, dst = Path(src), Path(dst)
    if dst.exists() and src.resolve() == dst.resolve():
        return write_in_place(src, sheets)
    lock = lock_file(dst)
    if lock is not None:
        raise InputError(f"{dst.name} is open in Excel (its lock file {lock.name} exists); "
                         "close it or choose another output file", file=str(dst))
    _atomic_write(src, dst, sheets)
    return WriteOutcome(dst, None, None)


def _atomic_write(src: Path, dst: Path, sheets: Sequence[ResultSheet], *,
                  backups_kept: int = 0) -> Path | None:
    """Build the new workbook beside `dst`, then swap it in; returns the backup made, if any."""
    folder = dst.parent
    _remove_stale_temps(folder, dst.name)
    tmp = folder / f"{_TMP_PREFIX}{dst.name}.{secrets.token_hex(4)}.tmp"
    try:
        write_result_sheets(src, tmp, sheets)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        backup = None
        if backups_kept > 0 and dst.exists():
            backup = _rotate_backups(dst, backups_kept)
        if dst.exists():
            shutil.copymode(dst, tmp)
        os.replace(tmp, dst)
        _fsync_dir(folder)
        return backup
    finally:
        if tmp.exists():
            tmp.unlink()


def _rotate_backups(path: Path, kept: int) -> Path:
    """`(backup k)` → `(backup k+1)` (dropping the oldest), then copy `path` to `(backup 1)`.

    The copy is made under a temporary name and renamed, so a half-written backup never looks
    like a real one.
    """
    folder = path.parent / BACKUP_FOLDER
    folder.mkdir(exist_ok=True)
    oldest = backup_path(path, kept)
    if oldest.exists():
        oldest.unlink()
    for n in range(kept - 1, 0, -1):
        b = backup_path(path, n)
        if b.exists():
            os.replace(b, backup_path(path, n + 1))
    first = backup_path(path, 1)
    tmp = folder / f"{_TMP_PREFIX}{first.name}.{secrets.token_hex(4)}.tmp"
    try:
        shutil.copy2(path, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, first)
    finally:
        if tmp.exists():
            tmp.unlink()
    return first


def _remove_stale_temps(folder: Path, name: str) -> None:
    """Temporary files left by a run that was killed: ours by name, and over an hour old."""
    now = time.time()
    for stale in folder.glob(glob.escape(f"{_TMP_PREFIX}{name}") + ".*.tmp"):
        try:
            if now - stale.stat().st_mtime > _STALE_TMP_SECONDS:
                stale.unlink()
        except OSError:
            pass


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
