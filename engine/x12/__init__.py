"""X12 835 remittances: our own fast reader, balancing checks and code descriptions.

pyx12 validates strictly and is about 30× slower; real payer files have quirks it rejects, and the
engine needs flat tables rather than a segment tree. This package reads any number of 835 files
into one `Remit` (DataFrames linked by integer indices), turns a workbook Remittances sheet into
the same shape (`from_remittances_sheet`), and checks the remittances' own arithmetic.
"""

from __future__ import annotations

from pathlib import Path

from engine.x12.balance import check_balance, problems_to_findings
from engine.x12.read import Remit, concat, read_835, read_835_files
from engine.x12.sheet import from_remittances_sheet

SUFFIXES = (".835", ".txt", ".edi")


def _display_name(path: Path, base: Path | None) -> str:
    """`path` relative to `base` (already resolved) when it lies under it, else its file name."""
    if base is not None:
        try:
            return path.resolve().relative_to(base).as_posix()
        except ValueError:
            pass
    return path.name


def read_remits(paths: list[Path], base: Path | None = None) -> Remit:
    """Read 835 files and folders (non-recursive: *.835, *.txt, *.edi), sorted, into one Remit.

    Names shown in sources are relative to `base` when the file lies under it, else the file
    name. Indices stay unique across files. Unreadable files become problems, never exceptions.
    """
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(f for f in p.iterdir()
                         if f.is_file() and f.suffix.lower() in SUFFIXES)
        else:
            files.append(p)
    resolved_base = Path(base).resolve() if base is not None else None
    named = [(_display_name(f, resolved_base), str(f), f) for f in dict.fromkeys(files)]
    named.sort(key=lambda t: t[:2])
    return read_835_files([(f, name) for name, _, f in named])


__all__ = ["SUFFIXES", "Remit", "read_835", "read_remits", "concat", "check_balance",
           "problems_to_findings", "from_remittances_sheet"]
