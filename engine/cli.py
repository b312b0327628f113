"""`recon`: the stable command line (run, demo, weekly).

Exit status: 0 the run completed (findings are results, not failures); 2 bad input or usage, with
one sentence naming the file, sheet, row or segment; 1 an internal error, with the traceback in
the log. Messages never contain patient names or identifiers.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

import pandas as pd

from engine.errors import InputError

log = logging.getLogger("engine")


def _as_of(text: str | None) -> pd.Timestamp:
    if text is None:
        return pd.Timestamp(date.today())
    try:
        return pd.Timestamp(date.fromisoformat(text))
    except ValueError:
        raise InputError(f"--as-of must be a date written YYYY-MM-DD, not {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="recon", description="Reconcile billing workbooks, payments, "
                                "835 remittances and deposits; write the findings back.")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="reconcile one workbook")
    run.add_argument("workbook", type=Path)
    run.add_argument("--remit", action="append", type=Path, default=[],
                     help="an 835 file or a folder of them (repeatable)")
    run.add_argument("--as-of", dest="as_of", help="the date to judge due dates by (YYYY-MM-DD)")
    run.add_argument("--out", type=Path, help="write results to this workbook; leave WORKBOOK as is")
    run.add_argument("--report", type=Path, help="write a discrepancy report (.html or .pdf)")
    run.add_argument("--export", type=Path, help="write the findings as .csv or .json")
    run.add_argument("--letters", type=Path,
                     help="write appeal letters and patient statements into this folder")
    run.add_argument("--redact", action="store_true",
                     help="mask patient names and identifiers in exports and reports")
    demo = sub.add_parser("demo", help="make a sample clinic workbook and 835 files, reconcile them")
    demo.add_argument("folder", nargs="?", type=Path, default=Path("recon-demo"))
    demo.add_argument("--invoices", type=int, default=200, help="size of the sample (default 200)")
    demo.add_argument("--as-of", dest="as_of", default="2026-03-31")
    weekly = sub.add_parser("weekly", help="reconcile every workbook in a folder, with history",
                            description="Reconcile every workbook in FOLDER (each with its 835 "
                            "drop folder), record the run in the history ledger, write a report "
                            "per workbook and the letters. Exit status: 0 all completed, 2 a "
                            "workbook had bad input, 1 a workbook failed with an internal error.")
    weekly.add_argument("folder", type=Path)
    weekly.add_argument("--as-of", dest="as_of", help="the date to judge due dates by (YYYY-MM-DD)")
    weekly.add_argument("--ledger", type=Path,
                        help="run history file (default: FOLDER/recon-history.sqlite)")
    weekly.add_argument("--report-dir", dest="report_dir", type=Path,
                        help="folder for one report per workbook (default: FOLDER/reports)")
    weekly.add_argument("--pdf", action="store_true",
                        help="also write each report and the letters as PDF (needs Chromium)")
    weekly.add_argument("--no-letters", dest="letters", action="store_false",
                        help="do not write appeal letters and patient statements")
    weekly.add_argument("--redact", action="store_true",
                        help="mask patient names and identifiers in reports and letters")
    weekly.add_argument("--jobs", type=int, default=None,
                        help="workbooks reconciled at once (default: one per CPU)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from engine import runner  # heavy imports only after argument parsing

    try:
        if args.command == "run":
            outcome = runner.run_workbook(
                args.workbook, remits=args.remit, as_of=_as_of(args.as_of), out=args.out,
                report=args.report, export=args.export, letters=args.letters,
                redact=args.redact)
            print(outcome.summary())
        elif args.command == "demo":
            for line in runner.demo(args.folder, invoices=args.invoices, as_of=_as_of(args.as_of)):
                print(line)
        elif args.command == "weekly":
            if args.jobs is not None and args.jobs < 1:
                raise InputError(f"--jobs must be 1 or more, not {args.jobs}")
            outcome = runner.weekly(
                args.folder, as_of=_as_of(args.as_of), ledger=args.ledger,
                report_dir=args.report_dir, report_formats=("html", "pdf") if args.pdf else ("html",),
                letters=args.letters, letters_pdf=args.pdf, redact=args.redact, jobs=args.jobs)
            return outcome.exit_status
        return 0
    except InputError as exc:
        print(f"recon: {exc.describe()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("recon: interrupted; the workbook was not changed", file=sys.stderr)
        return 1
    except Exception:
        log.exception("internal error")
        print("recon: internal error (details above); the workbook was not changed",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
