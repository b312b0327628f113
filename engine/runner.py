"""Runs around the pipeline: files in, result sheets and exports out.

Kept apart from engine.pipeline so the Excel button (which has no files) can reuse reconcile and
the result builders without any of this.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.errors import InputError
from engine.pipeline import Result, reconcile, sha256
from engine.read.memory import release_free_memory
from engine.read.workbook import read_workbook
from engine.results import Report, build_report, export_frame, result_sheets
from engine.write.export import export_findings

log = logging.getLogger("engine")


class Progress:
    """Steps of a run on one status line, only when a person is watching a terminal."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, what: str) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[Krecon: {what}…")
            self.stream.flush()

    def done(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


@dataclass
class Outcome:
    workbook: Path
    written: Path
    result: Result
    backup: Path | None = None
    note: str | None = None
    extra_files: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        f = self.result.findings
        counts = f["severity"].value_counts()
        by_sev = ", ".join(f"{counts[s]} {s}" for s in ("high", "medium", "low", "info")
                           if s in counts)
        t = self.result.ctx.invoice_totals
        lines = [f"Reconciled {self.workbook.name} as of {self.result.ctx.as_of:%Y-%m-%d}: "
                 f"{len(t)} invoices, {len(self.result.ctx.payments)} payments.",
                 f"{len(f)} findings" + (f" ({by_sev})" if by_sev else "") + ".",
                 f"Results written to {self.written}"
                 + (f" (previous version kept as {self.backup.parent.name}/{self.backup.name})"
                    if self.backup else "") + "."]
        if self.note:
            lines.append(self.note)
        lines += [f"Also written: {p}" for p in self.extra_files]
        return "\n".join(lines)


def remit_paths(workbook: Path, given: list[Path], folder_setting: str | None) -> list[Path]:
    """--remit paths, else the Settings remit_folder (relative to the workbook)."""
    if given:
        missing = [p for p in given if not Path(p).exists()]
        if missing:
            raise InputError("remittance file or folder not found", file=str(missing[0]))
        return [Path(p) for p in given]
    if folder_setting:
        folder = Path(folder_setting)
        if not folder.is_absolute():
            folder = workbook.parent / folder
        if not folder.exists():
            raise InputError(f"the remit_folder in Settings does not exist: {folder}",
                             file=workbook.name, sheet="Settings")
        return [folder]
    return []


def remit_files(paths: list[Path]) -> list[Path]:
    from engine.x12 import SUFFIXES

    files = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
        else:
            files.append(p)
    return files


def reconcile_file(path: Path, *, remits: list[Path] | None, as_of: pd.Timestamp,
                   step=None) -> tuple[Result, Report]:
    """Read a workbook and its remittances, reconcile, and compute the result tables."""
    step = step or (lambda _what: None)
    step("reading the workbook")
    inputs = read_workbook(path)
    files = [(path.name, "workbook", sha256(path))]
    paths = remit_paths(path, list(remits or []), inputs.settings.remit_folder)
    remit = None
    if paths:
        from engine.x12 import read_remits
        step("reading remittances")
        remit = read_remits(paths, path.parent)
        release_free_memory()
        for f in remit_files(paths):
            files.append((f.name, "835 remittance", sha256(f)))
    step("reconciling")
    result = reconcile(inputs, as_of, remit)
    result.files = files
    return result, build_report(result)


def export_redactor(result: Result, redact: bool):
    """With --redact, the function that masks patient names and IDs in free text."""
    if not redact:
        return None
    from engine.report import Redactor
    return Redactor.from_result(result).text


def run_workbook(path: Path, *, remits: list[Path] | None = None, as_of: pd.Timestamp,
                 out: Path | None = None, report: Path | None = None, export: Path | None = None,
                 letters: Path | None = None, redact: bool = False) -> Outcome:
    path = Path(path)
    if out is not None and Path(out).resolve() == path.resolve():
        out = None
    step = Progress()
    result, rep = reconcile_file(path, remits=remits, as_of=as_of, step=step)
    step("writing results")
    sheets = result_sheets(rep, result, pd.Timestamp.now().floor("min"))
    from engine.write import safe

    if out is not None:
        safe.write_copy(path, Path(out), sheets)
        outcome = Outcome(path, Path(out), result)
    else:
        w = safe.write_in_place(path, sheets, backups_kept=result.inputs.settings.backups_kept)
        outcome = Outcome(path, w.written, result, w.backup, w.sibling_reason)
    if export is not None:
        export_findings(export_frame(rep.findings), Path(export), redacted=redact,
                        scrub=export_redactor(result, redact))
        outcome.extra_files.append(Path(export))
    if report is not None:
        from engine.report import write_report
        write_report(rep, result, Path(report), redacted=redact)
        outcome.extra_files.append(Path(report))
    if letters is not None:
        from engine.letters import write_letters
        outcome.extra_files.append(write_letters(result, Path(letters), redacted=redact).folder)
    step.done()
    return outcome


def demo(folder: Path, *, invoices: int = 200, as_of: pd.Timestamp) -> list[str]:
    from engine.sample import generate

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = generate(folder, invoices=invoices, as_of=as_of.date())
    outcome = run_workbook(manifest.workbook, as_of=as_of, export=folder / "findings.csv",
                           report=folder / "report.html")
    return [f"Sample clinic workbook: {manifest.workbook}",
            f"Sample 835 remittances: {len(manifest.remits)} files in {folder / 'remits'}",
            outcome.summary(),
            f"Open {outcome.written} and look at the Recon Summary and Discrepancies sheets."]


def weekly(folder: Path, *, as_of: pd.Timestamp, ledger: Path | None = None,
           report_dir: Path | None = None, report_formats: tuple[str, ...] = ("html",),
           letters: bool = True, letters_pdf: bool = False, redact: bool = False,
           jobs: int | None = None):
    """Reconcile every workbook in `folder` with run history (engine.weekly); one failing
    workbook does not stop the others. Returns the engine.weekly.WeeklyOutcome, whose
    `exit_status` is 0 (all completed), 2 (bad input in one) or 1 (one crashed)."""
    from engine.weekly import run_weekly

    return run_weekly(Path(folder), as_of=as_of, ledger=ledger, report_dir=report_dir,
                      report_formats=report_formats, letters=letters, letters_pdf=letters_pdf,
                      redact=redact, jobs=jobs)
