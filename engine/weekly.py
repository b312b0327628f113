"""`recon weekly FOLDER`: reconcile every workbook in a folder, with run history.

Which workbooks: every `.xlsx` / `.xlsm` directly in FOLDER except Excel lock files (`~$…`), hidden
files (`.…`), results written beside a workbook open in Excel (`… (reconciled).xlsx`) and anything
in sub-folders (so `Recon backups/` is never read).

Which 835 files: the folder named by the workbook's Settings `remit_folder` (relative to the
workbook); else `remits/<workbook name without extension>/` when that folder exists (several
practices in one folder); else a sibling `remits/` folder; else none.

Workbooks are reconciled in parallel on a process pool (`--jobs`, default: one per CPU, at most one
per workbook). Each worker reads, reconciles, compares with the ledger's earlier weeks (read only),
writes the results into the workbook (the `Recon Summary` sheet gains a week-over-week block), the
report and the letters, and returns plain data; the parent process alone writes the ledger. A
workbook that fails (bad input, or a crash) is reported and the others carry on.

Exit status (`exit_status`): 0 every workbook completed; 2 at least one had bad input (and none
crashed); 1 at least one crashed (internal error).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import pandas as pd

from engine.errors import InputError
from engine.history import DEFAULT_NAME, History, Ledger, RunRecord, finding_rows, history_for, iso_week

log = logging.getLogger("engine")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def find_workbooks(folder: Path) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in WORKBOOK_SUFFIXES
                  and not p.name.startswith(("~$", "."))
                  and not p.stem.endswith("(reconciled)") and ".backup-" not in p.name)


def remit_folders(book: Path, remit_setting: str | None) -> list[Path]:
    """The 835 folders to pass as --remit: none when Settings names one (the runner uses it)."""
    if remit_setting:
        return []
    own = book.parent / "remits" / book.stem
    if own.is_dir():
        return [own]
    shared = book.parent / "remits"
    return [shared] if shared.is_dir() else []


@dataclass
class Job:
    book: Path
    as_of: str  # YYYY-MM-DD
    ledger: Path | None
    report_dir: Path | None
    report_formats: tuple[str, ...] = ("html",)
    letters_dir: Path | None = None  # the per-run folder; a sub-folder per workbook is made
    letters_pdf: bool = False
    redact: bool = False


@dataclass
class BookResult:
    workbook: str
    status: str  # "done" | "input" | "crash"
    message: str = ""
    summary: str = ""
    record: RunRecord | None = None
    counts: dict = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------------------------- one workbook
def trend_block(history: History):
    from engine.write.model import Block, Column

    t = history.trend
    data = pd.DataFrame({
        "Week": t["week"].astype("object"), "As of": pd.to_datetime(t["as_of"]),
        "Open findings": t["open"].astype("Int64"), "Amount at stake": t["amount_cents"].astype("Int64"),
        "New": t["new"].astype("Int64"), "Reopened": t["reopened"].astype("Int64"),
        "Resolved": t["resolved"].astype("Int64")})
    cols = (Column("Week"), Column("As of", "date"), Column("Open findings", "int"),
            Column("Amount at stake", "money"), Column("New", "int"), Column("Reopened", "int"),
            Column("Resolved", "int"))
    return Block("ReconTrend", cols, data, title="Week over week (from the run history)")


def with_history(sheets: list, history: History) -> list:
    """The result sheets with the week-over-week block appended to `Recon Summary`."""
    out = []
    for s in sheets:
        if s.name == "Recon Summary":
            c = history.counts()
            note = (f"This week ({history.week}): {c['new']} new, {c['open']} still open, "
                    f"{c['reopened']} reopened, {c['resolved']} resolved since "
                    f"{history.previous_week or 'the last run'}.")
            s = replace(s, blocks=s.blocks + (trend_block(history),), notes=s.notes + (note,))
        out.append(s)
    return out


def reconcile_book(job: Job) -> BookResult:
    """Worker: one workbook end to end. Returns plain data; never raises."""
    started = time.monotonic()
    name = job.book.name
    try:
        return _reconcile_book(job, started)
    except InputError as exc:
        return BookResult(name, "input", exc.describe(), seconds=time.monotonic() - started)
    except Exception as exc:  # a bug: report it, keep the other workbooks going
        log.error("internal error while reconciling %s:\n%s", name, traceback.format_exc())
        return BookResult(name, "crash", f"internal error ({type(exc).__name__}); "
                          "details in the log", seconds=time.monotonic() - started)


def _reconcile_book(job: Job, started: float) -> BookResult:
    from engine.read.workbook import read_settings
    from engine.results import result_sheets
    from engine.runner import reconcile_file
    from engine.write import safe

    book = job.book
    setting = read_settings(book).remit_folder
    result, rep = reconcile_file(book, remits=remit_folders(book, setting),
                                 as_of=pd.Timestamp(job.as_of))
    inputs, files = result.inputs, result.files
    current = finding_rows(rep.findings)
    history = history_for(job.ledger, book.name, current, job.as_of)
    sheets = with_history(result_sheets(rep, result, pd.Timestamp.now().floor("min")), history)
    written = safe.write_in_place(book, sheets, backups_kept=inputs.settings.backups_kept)
    out_files = [str(written.written)]
    if job.report_dir is not None:
        from engine.report import write_report
        for fmt in job.report_formats:
            path = Path(job.report_dir) / f"{book.stem}.{fmt}"
            write_report(rep, result, path, redacted=job.redact, history=history)
            out_files.append(str(path))
    letters = None
    if job.letters_dir is not None:
        from engine.letters import write_letters
        letters = write_letters(result, Path(job.letters_dir) / book.stem, redacted=job.redact,
                                pdf=job.letters_pdf)
    totals = dict(zip(rep.totals["Measure"], (int(v) for v in rep.totals["Amount"])))
    record = RunRecord(book.name, job.as_of, files, len(result.ctx.invoice_totals), totals,
                       current)
    c = history.counts()
    summary = (f"{book.name}: {len(current)} findings ({c['new']} new, {c['open']} still open, "
               f"{c['reopened']} reopened, {c['resolved']} resolved since last week)"
               + (f"; {letters.appeals} appeals, {letters.statements} statements" if letters else "")
               + (f" ({letters.held} held back until unreadable rows are corrected)"
                  if letters and letters.held else "")
               + (f"; {written.sibling_reason}" if written.sibling_reason else ""))
    return BookResult(book.name, "done", summary=summary, record=record, counts=c,
                      files=out_files + ([str(letters.folder)] if letters else []),
                      seconds=time.monotonic() - started)


# ---------------------------------------------------------------------------------- the folder
@dataclass
class WeeklyOutcome:
    folder: Path
    as_of: str
    ledger: Path
    results: list[BookResult]

    @property
    def exit_status(self) -> int:
        if any(r.status == "crash" for r in self.results):
            return 1
        if any(r.status == "input" for r in self.results):
            return 2
        return 0

    def failed(self) -> list[BookResult]:
        return [r for r in self.results if r.status != "done"]


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: TextIO):
        self.total, self.done, self.stream = total, 0, stream
        self.live = total > 0 and hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self.draw("")

    def draw(self, name: str) -> None:
        if not self.live:
            return
        width = 28
        filled = int(width * self.done / self.total)
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                          f"workbooks  {elapsed:5.0f}s  {name[:40]:<40}")
        self.stream.flush()

    def step(self, name: str) -> None:
        self.done += 1
        self.draw(name)

    def close(self) -> None:
        if self.live:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


def run_weekly(folder: Path, *, as_of: pd.Timestamp, ledger: Path | None = None,
               report_dir: Path | None = None, report_formats: tuple[str, ...] = ("html",),
               letters: bool = True, letters_pdf: bool = False, redact: bool = False,
               jobs: int | None = None, out: TextIO | None = None,
               err: TextIO | None = None) -> WeeklyOutcome:
    out = out or sys.stdout
    err = err or sys.stderr
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a folder", file=str(folder))
    day = pd.Timestamp(as_of).strftime("%Y-%m-%d")
    ledger = Path(ledger) if ledger is not None else folder / DEFAULT_NAME
    report_dir = Path(report_dir) if report_dir is not None else folder / "reports"
    books = find_workbooks(folder)
    letters_dir = folder / "letters" / day if letters else None
    work = [Job(b, day, ledger, report_dir, report_formats, letters_dir, letters_pdf, redact)
            for b in books]
    results: list[BookResult] = []
    with Ledger(ledger) as db:  # created up front, so workers read a valid file
        progress = Progress(len(work), err)

        def finish(res: BookResult) -> None:
            if res.record is not None:
                try:
                    db.record(res.record)
                except Exception as exc:  # the ledger is history; the workbook is already done
                    res.status = "crash"
                    res.message = f"results written, but the run history failed ({exc})"
            results.append(res)
            progress.step(res.workbook)

        workers = max(1, min(jobs or os.cpu_count() or 1, len(work) or 1))
        if workers == 1:
            for job in work:
                finish(reconcile_book(job))
        else:
            with cf.ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(reconcile_book, job): job for job in work}
                for fut in cf.as_completed(futures):
                    job = futures[fut]
                    try:
                        res = fut.result()
                    except Exception as exc:  # the worker process itself died
                        res = BookResult(job.book.name, "crash",
                                         f"the worker stopped ({type(exc).__name__})")
                    finish(res)
        progress.close()
    results.sort(key=lambda r: r.workbook)
    outcome = WeeklyOutcome(folder, day, ledger, results)
    for line in summary_lines(outcome):
        print(line, file=out)
    return outcome


def summary_lines(outcome: WeeklyOutcome) -> list[str]:
    done = [r for r in outcome.results if r.status == "done"]
    lines = [f"Weekly reconciliation of {outcome.folder} as of {outcome.as_of} "
             f"(week {iso_week(outcome.as_of)[0]}): {len(done)} of {len(outcome.results)} "
             f"workbooks completed."]
    for r in outcome.results:
        if r.status == "done":
            lines.append(f"  {r.summary}")
        else:
            kind = "bad input" if r.status == "input" else "FAILED"
            lines.append(f"  {r.workbook}: {kind}: {r.message}")
    lines.append(f"Run history: {outcome.ledger}")
    return lines
