"""One benchmark scenario per call, run in its own process by bench.run (so its peak RSS is its own).

    python -m bench.scenarios NAME '{"json": "arguments"}'

Each scenario times only its work (imports and interpreter start-up are left out, for all of them
alike) and prints one JSON line: {"seconds": ..., ...}. Scenarios that can run for very long
(naive, pyx12) also append progress to `progress` so the parent can report what a capped run got
through.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import sys
import time
from pathlib import Path

AS_OF = "2026-03-31"
RESULT_SHEETS = ("Recon Summary", "Reconciliation", "Discrepancies", "Aging", "Plans")
INPUT_SHEETS = ("Invoices", "Payments", "Deposits", "Remittances", "FeeSchedule", "PaymentPlans",
                "Settings")


def _peak_rss() -> int | None:
    """This process's own peak RSS in bytes (VmHWM of its memory map since exec).

    Not getrusage: its ru_maxrss carries over the parent's peak through fork + exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def generate(folder: str, invoices: int, lean: bool) -> dict:
    """Write a benchmark dataset (run as a scenario so the parent process stays small)."""
    from engine.sample import generate as make

    t = time.perf_counter()
    m = make(Path(folder), invoices=invoices, lean=lean)
    return {"seconds": time.perf_counter() - t, "rows": m.rows, "remit_files": len(m.remits),
            "remit_bytes": sum(p.stat().st_size for p in m.remits),
            "workbook_bytes": m.workbook.stat().st_size}


def _sheet_shapes(path: Path, names) -> dict[str, list[int]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in wb.sheet_names:
        if name in names:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            out[name] = [len(rows), max((len(r) for r in rows), default=0)]
    return out


# ------------------------------------------------------------------------------------ the engine
def engine(workbook: str, out: str) -> dict:
    """`recon run` end to end: read workbook + 835s, reconcile, write the result sheets."""
    import pandas as pd

    from engine.runner import run_workbook

    t, c = time.perf_counter(), time.process_time()
    outcome = run_workbook(Path(workbook), as_of=pd.Timestamp(AS_OF), out=Path(out))
    seconds = time.perf_counter() - t
    # the engine's own peak, before _sheet_shapes loads the written sheets back into lists
    # (a 1M-row Reconciliation sheet read back that way takes a gigabyte more)
    return {"seconds": seconds, "cpu": time.process_time() - c, "peak_rss": _peak_rss(),
            "findings": len(outcome.result.findings),
            "invoices": len(outcome.result.ctx.invoice_totals),
            "payments": len(outcome.result.ctx.payments),
            "sheets": _sheet_shapes(Path(out), RESULT_SHEETS)}


def profile_engine(workbook: str, out: str, report: str) -> dict:
    """The engine scenario under pyinstrument; the text report goes to `report`."""
    from pyinstrument import Profiler

    profiler = Profiler()
    profiler.start()
    result = engine(workbook, out)
    profiler.stop()
    Path(report).write_text(profiler.output_text(show_all=False))
    return result


# ------------------------------------------------------------------------------------ I/O floor
def _result_sheets_read_back(path: Path) -> list:
    """The result sheets the engine wrote, read back as typed columns: each column takes the kind
    most of its cells have (number, date or text), cells of another kind (a title, the header
    row) are left blank; numbers that are all whole cents become integer cents and text is `str`,
    as the engine hands them to the writer (the writer's cheapest paths). Values only: no
    formats, links or charts."""
    import numpy as np
    import pandas as pd
    from python_calamine import CalamineWorkbook

    from engine.write.model import Block, Column, ResultSheet

    wb = CalamineWorkbook.from_path(str(path))
    sheets = []
    for k, name in enumerate(n for n in wb.sheet_names if n in RESULT_SHEETS):
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        width = max((len(r) for r in rows), default=0)
        grid = np.empty((len(rows), width), dtype=object)
        for i, row in enumerate(rows):
            grid[i, :len(row)] = row
        cols, data = [], {}
        for j in range(width):
            cells = grid[:, j]
            types = np.array([type(v) for v in cells], dtype=object)
            number = (types == float) | (types == int)
            date = (types == dt.date) | (types == dt.datetime)
            text = (types == str) & (cells != "")
            kind = max((("number", number), ("date", date), ("text", text)),
                       key=lambda kv: kv[1].sum())[0]
            name_j = f"C{j + 1}"
            if kind == "number":
                floats = np.where(number, cells, np.nan).astype("float64")
                cents = np.rint(floats * 100)
                if np.nanmax(np.abs(cents - floats * 100), initial=0.0) < 1e-6:
                    kind = "money"  # written as the engine writes amounts (integer cents)
                    values = pd.Series(pd.array(cents, dtype="Int64"))
                else:
                    values = pd.Series(floats)
            elif kind == "date":
                values = pd.Series(pd.to_datetime(np.where(date, cells, None)))
            else:  # the engine's text columns are str, which the writer takes as they are
                values = pd.Series(np.where(text, cells, None), dtype="str")
            cols.append(Column(name_j, kind))
            data[name_j] = values
        sheets.append(ResultSheet(name, (Block(f"floor_{k}", tuple(cols), pd.DataFrame(data)),)))
    return sheets


def floor(workbook: str, out: str, result_from: str) -> dict:
    """Only the I/O: read the same input sheets with python-calamine into DataFrames, then stream
    the same result sheets (the values the engine wrote to `result_from`, read back before the
    clock starts) with the engine's own writer. No header detection, parsing, matching, checks,
    formats or links.

    The cyclic collector is off while it works, as the engine keeps it off while it reads
    (engine.read.memory.paused_gc): calamine's rows are millions of lists, and with the collector
    on, its full collections over them cost the floor's read ≈ 8 s CPU at 1M (≈ 30 % of it), time
    the fastest way to read does not spend."""
    import pandas as pd
    from python_calamine import CalamineWorkbook

    from engine.read.memory import paused_gc
    from engine.write.xlsx import write_result_sheets

    result = _result_sheets_read_back(Path(result_from))
    gc.collect()
    with paused_gc():
        t, c = time.perf_counter(), time.process_time()
        wb = CalamineWorkbook.from_path(workbook)
        frames = {}
        for name in wb.sheet_names:
            if name in INPUT_SHEETS:
                rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
                frames[name] = pd.DataFrame(rows[1:]) if len(rows) > 1 else pd.DataFrame()
        t_read, c_read = time.perf_counter() - t, time.process_time() - c
        write_result_sheets(Path(workbook), Path(out), result)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {"seconds": seconds, "cpu": cpu, "read_seconds": t_read, "read_cpu": c_read,
            "write_seconds": seconds - t_read, "write_cpu": cpu - c_read,
            "cells": sum(len(s.blocks[0].data) * len(s.blocks[0].columns) for s in result)}


# ------------------------------------------------------------------------------------ naive
def _money(col):
    import pandas as pd

    text = col.astype("str").str.replace(r"[$,\s]", "", regex=True)
    neg = text.str.startswith("(")
    value = pd.to_numeric(text.str.strip("()"), errors="coerce")
    return value.where(~neg, -value)


def naive(workbook: str, out: str, progress: str) -> dict:
    """What a competent analyst writes: pandas.read_excel (openpyxl) of the sheets, merges on the
    invoice number, results written back into the workbook with openpyxl load_workbook + save."""
    import openpyxl
    import pandas as pd

    def step(label):
        with open(progress, "a") as fh:
            fh.write(json.dumps({"step": label, "seconds": time.perf_counter() - t,
                                 "cpu": time.process_time() - c}) + "\n")

    t, c = time.perf_counter(), time.process_time()
    inv = pd.read_excel(workbook, sheet_name="Invoices", header=3, engine="openpyxl",
                        dtype={"Inv #": str, "MRN": str, "Claim #": str})
    step("read Invoices")
    pay = pd.read_excel(workbook, sheet_name="Payments", header=2, engine="openpyxl",
                        dtype={"Applied To": str, "Patient #": str, "Check/EFT #": str})
    step("read Payments")
    dep = pd.read_excel(workbook, sheet_name="Deposits", engine="openpyxl")
    step("read Deposits")
    inv = inv[inv["Inv #"].notna() & (inv["Inv #"] != "Total")]
    inv["Billed"] = _money(inv["Billed"])
    pay["Amount Paid"] = _money(pay["Amount Paid"])
    pay["key"] = pay["Applied To"].str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    billed = inv.groupby("Inv #", as_index=False).agg(
        Patient=("Patient Name", "first"), Payer=("Insurance", "first"),
        Billed=("Billed", "sum"), Date=("Bill Date", "first"))
    billed["key"] = billed["Inv #"].str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    paid = pay.groupby("key", as_index=False)["Amount Paid"].sum()
    rec = billed.merge(paid, on="key", how="left").fillna({"Amount Paid": 0})
    rec["Balance"] = rec["Billed"] - rec["Amount Paid"]
    rec["Status"] = pd.cut(rec["Balance"], [-1e12, -0.005, 0.005, 1e12],
                           labels=["Overpaid", "Settled", "Open"])
    unapplied = pay[~pay["key"].isin(billed["key"])]
    dupes = pay[pay.duplicated(["key", "Amount Paid", "Check/EFT #"], keep="first")]
    disc = pd.concat([
        rec[rec["Status"] != "Settled"].assign(Issue=lambda d: d["Status"].astype(str))[
            ["Inv #", "Patient", "Balance", "Issue"]],
        unapplied.assign(Issue="Unapplied payment").rename(
            columns={"Applied To": "Inv #", "Pt Name": "Patient", "Amount Paid": "Balance"})[
            ["Inv #", "Patient", "Balance", "Issue"]],
        dupes.assign(Issue="Possible duplicate payment").rename(
            columns={"Applied To": "Inv #", "Pt Name": "Patient", "Amount Paid": "Balance"})[
            ["Inv #", "Patient", "Balance", "Issue"]]])
    step(f"reconciled ({len(dep)} deposits read, not used)")
    book = openpyxl.load_workbook(workbook)
    step("load_workbook")
    for name, frame in (("Reconciliation", rec.drop(columns="key")), ("Discrepancies", disc)):
        if name in book.sheetnames:
            del book[name]
        ws = book.create_sheet(name)
        ws.append(list(frame.columns))
        for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False):
            ws.append(list(row))
    step("sheets filled")
    book.save(out)
    seconds = time.perf_counter() - t
    step("saved")
    return {"seconds": seconds, "cpu": time.process_time() - c, "reconciliation_rows": len(rec), "discrepancy_rows": len(disc)}


# ------------------------------------------------------------------------------------ 835
def x12_ours(folder: str) -> dict:
    from engine.x12 import read_remits

    t, c = time.perf_counter(), time.process_time()
    remit = read_remits([Path(folder)], Path(folder).parent)
    seconds = time.perf_counter() - t
    size = sum(p.stat().st_size for p in Path(folder).glob("*.835"))
    return {"seconds": seconds, "cpu": time.process_time() - c, "bytes": size, "claims": len(remit.claims),
            "lines": len(remit.lines)}


def x12_pyx12(folder: str, progress: str, mode: str = "validate") -> dict:
    """pyx12 on the same files. `validate`: x12n_document, pyx12's map-driven parse of the 835
    (the segment tree walked and checked against the 835 implementation guide: what pyx12 does to
    read an 835 into its loops). `tokenize`: X12Reader only iterating the raw segments."""
    logging.disable(logging.CRITICAL)  # pyx12 logs every validation note
    import pyx12.params
    import pyx12.x12file
    import pyx12.x12n_document

    param = pyx12.params.params()
    files = sorted(Path(folder).glob("*.835"))
    done = 0
    t, c = time.perf_counter(), time.process_time()
    for f in files:
        with open(f) as fh:
            if mode == "validate":
                pyx12.x12n_document.x12n_document(param=param, src_file=fh, fd_997=None,
                                                  fd_html=None, fd_xmldoc=None)
            else:
                for seg in pyx12.x12file.X12Reader(fh):
                    seg.get_seg_id()
        done += f.stat().st_size
        with open(progress, "a") as fh:
            fh.write(json.dumps({"bytes": done, "seconds": time.perf_counter() - t,
                                 "cpu": time.process_time() - c}) + "\n")
    return {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "bytes": done}


# ------------------------------------------------------------------------------------ button
def button(workbook: str) -> dict:
    """The Excel button adapter, `engine.excel.run`, on the test suite's fake xlwings book
    (tests/excel/fake_xlwings.py) holding `workbook`: the engine's own cost of a click, not
    Excel's (a real Excel adds its COM/Office.js calls). The fake keeps each written block as
    passed and stores it cell by cell only when looked at; that storing is Excel's side of the
    click and is timed apart (`excel_store_seconds`), after the click. Likewise its own work
    when the adapter asks for a sheet's used range and values (a dict of cells turned into rows;
    a real Excel hands out its grid) is counted by the fake (`book.excel_cpu`) and taken out of
    the click's CPU time (`excel_read_cpu`); wall time is reported as measured."""
    try:
        from engine import excel
    except ImportError:
        return {"seconds": None, "note": "engine.excel not present"}
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "excel"))
    try:
        import fake_xlwings
    except ImportError:
        return {"seconds": None, "note": "tests/excel/fake_xlwings.py not present"}
    book = fake_xlwings.Book.from_xlsx(Path(workbook))  # loading the fake is not timed,
    gc.collect()  # nor is collecting what loading it left behind (openpyxl's cyclic cells)
    t, c = time.perf_counter(), time.process_time()
    excel.run(book, as_of=AS_OF)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    excel_read = book.excel_cpu
    t = time.perf_counter()
    cells = sum(len(sheet.cells) for sheet in book.sheets)
    return {"seconds": seconds, "cpu": cpu - excel_read, "click_cpu": cpu,
            "excel_read_cpu": excel_read, "excel_store_seconds": time.perf_counter() - t,
            "cells_after": cells}


SCENARIOS = {"generate": generate, "engine": engine, "profile_engine": profile_engine, "floor": floor, "naive": naive,
             "x12_ours": x12_ours, "x12_pyx12": x12_pyx12, "button": button}


def main(argv: list[str]) -> None:
    name, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    logging.basicConfig(level=logging.WARNING)
    result = SCENARIOS[name](**args)
    result.setdefault("peak_rss", _peak_rss())
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
