"""`recon weekly`: a folder of three generated workbooks over three consecutive weeks."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from builders import INVOICE_HEADER, build_workbook
from engine.history import Ledger
from engine.sample import generate
from engine.weekly import Progress, find_workbooks, remit_folders, run_weekly

WEEKS = ("2026-03-17", "2026-03-24", "2026-03-31")
BOOKS = {"east": 13, "north": 11, "south": 12}


def set_remit_folder(book: Path, value: str) -> None:
    """Rewrite the sample's Settings `remit_folder` value (a shared string) in place."""
    tmp = book.with_suffix(".tmp")
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/sharedStrings.xml":
                assert data.count(b"<t>remits</t>") == 1
                data = data.replace(b"<t>remits</t>", f"<t>{value}</t>".encode())
            dst.writestr(item, data)
    tmp.replace(book)


def sheet_rows(book: Path, sheet: str) -> list[list]:
    return CalamineWorkbook.from_path(str(book)).get_sheet_by_name(sheet).to_python()


def discrepancies(book: Path) -> pd.DataFrame:
    rows = sheet_rows(book, "Discrepancies")
    h = next(i for i, r in enumerate(rows) if "ID" in r and "Type" in r)
    return pd.DataFrame(rows[h + 1:], columns=rows[h]).query("ID != ''")


@pytest.fixture(scope="module")
def weeks(tmp_path_factory):
    root = tmp_path_factory.mktemp("weekly")
    folder = root / "practices"
    folder.mkdir()
    for name, seed in BOOKS.items():
        m = generate(root / f"gen-{name}", invoices=120, seed=seed, as_of=dt.date(2026, 3, 17))
        book = folder / f"{name}.xlsx"
        shutil.copy(m.workbook, book)
        if name == "north":  # Settings names the drop folder
            set_remit_folder(book, "era/north")
            shutil.copytree(root / f"gen-{name}" / "remits", folder / "era" / "north")
        else:  # no remit_folder: the sibling remits/<name>/ is used
            set_remit_folder(book, "")
            shutil.copytree(root / f"gen-{name}" / "remits", folder / "remits" / name)
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook")
    ledger = root / "history" / "ledger.sqlite"
    out = {"folder": folder, "ledger": ledger, "outcomes": [], "ids": [], "moved": None}

    def snapshot():
        out["ids"].append({n: discrepancies(folder / f"{n}.xlsx") for n in BOOKS})

    def week(i: int):
        o = run_weekly(folder, as_of=pd.Timestamp(WEEKS[i]), ledger=ledger, jobs=2,
                       out=io.StringIO(), err=io.StringIO())
        out["outcomes"].append(o)
        snapshot()
        return o

    week(0)
    (folder / "broken.xlsx").unlink()
    # week 2: the 835 file holding south's first DENIED claim has not arrived / was pulled
    d = out["ids"][0]["south"]
    denied = d[d["Type"] == "DENIED"].iloc[0]
    moved = folder / "remits" / "south" / Path(denied["Source"].split(" segment")[0]).name
    out["moved"] = (denied["ID"], moved)
    parked = root / moved.name
    shutil.move(moved, parked)
    week(1)
    shutil.move(parked, moved)  # week 3: it is back
    week(2)
    with Ledger(ledger) as db:
        out["week2_before"] = {n: db.findings(f"{n}.xlsx", "2026-W13") for n in BOOKS}
        out["runs_before"] = db.runs()
    shutil.move(moved, parked)  # re-run week 2 with week 2's inputs
    out["rerun"] = run_weekly(folder, as_of=pd.Timestamp(WEEKS[1]), ledger=ledger, jobs=2,
                              out=io.StringIO(), err=io.StringIO())
    shutil.move(parked, moved)
    return out


def ids(frame: pd.DataFrame) -> set[str]:
    return set(frame["ID"])


def test_failing_workbook_does_not_stop_the_others(weeks):
    first = weeks["outcomes"][0]
    status = {r.workbook: r.status for r in first.results}
    assert status == {"broken.xlsx": "input", "east.xlsx": "done", "north.xlsx": "done",
                      "south.xlsx": "done"}
    assert first.exit_status == 2
    assert [o.exit_status for o in weeks["outcomes"][1:]] == [0, 0]


def test_remits_come_from_settings_or_sibling_folder(weeks):
    rec = {r.workbook: r.record for r in weeks["outcomes"][0].results if r.record}
    for name in BOOKS:
        kinds = [k for _n, k, _s in rec[f"{name}.xlsx"].files]
        assert kinds.count("835 remittance") > 10, name
    # every workbook's own remits: no remittance is foreign to it
    for name in BOOKS:
        d = weeks["ids"][0][name]
        assert (d["Type"] == "REMIT_WITHOUT_CLAIM").sum() <= 2


def test_new_open_resolved_counts(weeks):
    o1, o2, o3 = weeks["outcomes"]
    s1, s2, s3 = weeks["ids"]
    for name in BOOKS:
        book = f"{name}.xlsx"
        c1 = next(r.counts for r in o1.results if r.workbook == book)
        assert c1 == {"new": len(s1[name]), "open": 0, "reopened": 0, "resolved": 0}
        a, b, c = ids(s1[name]), ids(s2[name]), ids(s3[name])
        c2 = next(r.counts for r in o2.results if r.workbook == book)
        assert c2 == {"new": len(b - a), "open": len(b & a), "reopened": 0,
                      "resolved": len(a - b)}
        c3 = next(r.counts for r in o3.results if r.workbook == book)
        assert c3 == {"new": len(c - b - a), "open": len(c & b), "reopened": len((c - b) & a),
                      "resolved": len(b - c)}
        if name != "south":  # nothing changed but the date
            assert c2["open"] == len(a) and c2["resolved"] == 0
    denied_id, _ = weeks["moved"]
    assert denied_id in ids(s1["south"]) - ids(s2["south"])  # resolved in week 2
    assert denied_id in ids(s3["south"])  # reopened in week 3
    south3 = next(r.counts for r in o3.results if r.workbook == "south.xlsx")
    assert south3["reopened"] >= 1
    south2 = next(r.counts for r in o2.results if r.workbook == "south.xlsx")
    assert south2["resolved"] >= 1


def test_ledger_rows_and_idempotent_rerun(weeks):
    before = weeks["runs_before"]
    assert len(before) == 9 and before.duplicated(["workbook", "week"]).sum() == 0
    assert weeks["rerun"].exit_status == 0
    with Ledger(weeks["ledger"]) as db:
        after = db.runs()
        assert len(after) == 9
        assert db.integrity() == "ok"
        for name in BOOKS:
            was = weeks["week2_before"][name].reset_index(drop=True)
            now = db.findings(f"{name}.xlsx", "2026-W13").reset_index(drop=True)
            pd.testing.assert_frame_equal(was, now)
        files = after.set_index(["workbook", "week"])["files"]
        assert "sha" not in files.iloc[0] and len(files.iloc[0]) > 100  # checksums stored


def test_summary_sheet_and_reports_show_the_trend(weeks):
    folder = weeks["folder"]
    rows = sheet_rows(folder / "east.xlsx", "Recon Summary")
    text = [str(v) for r in rows for v in r]
    assert "Week over week (from the run history)" in text
    # the last run was the re-run of week 2: the trend stops there
    assert "2026-W12" in text and "2026-W13" in text and "2026-W14" not in text
    html = (folder / "reports" / "south.html").read_text()
    assert "Week-over-week trend" in html and "Resolved since last week" in html
    resolved = html.split("Resolved since last week</h2>")[1].split("</table>")[0]
    assert weeks["moved"][0] in resolved
    letters = folder / "letters" / "2026-03-31" / "south"
    assert (letters / "index.html").exists()
    assert list(letters.glob("appeal-*.html")) and list(letters.glob("statement-*.html"))


# ---------------------------------------------------------------------------------- small cases
def tiny(folder: Path, name: str) -> Path:
    return build_workbook(folder / name, {"Invoices": [
        INVOICE_HEADER, ["INV-1", "P1", "Ann Lee", dt.date(2026, 1, 2), dt.date(2026, 1, 2),
                         "Self-pay", 100.0]]})


def test_crash_in_one_workbook_gives_status_1(tmp_path, monkeypatch):
    import engine.pipeline as pipeline

    tiny(tmp_path, "good.xlsx")
    tiny(tmp_path, "bad.xlsx")
    real = pipeline.reconcile

    def flaky(inputs, *a, **kw):
        if inputs.path.name == "bad.xlsx":
            raise RuntimeError("boom")
        return real(inputs, *a, **kw)

    import engine.runner as runner

    monkeypatch.setattr(pipeline, "reconcile", flaky)
    monkeypatch.setattr(runner, "reconcile", flaky)
    out = io.StringIO()
    o = run_weekly(tmp_path, as_of=pd.Timestamp("2026-03-31"), jobs=1, out=out,
                   err=io.StringIO())
    assert o.exit_status == 1
    assert {r.workbook: r.status for r in o.results} == {"bad.xlsx": "crash", "good.xlsx": "done"}
    assert "bad.xlsx: FAILED: internal error (RuntimeError)" in out.getvalue()
    assert "Ann Lee" not in out.getvalue()


def test_cli_weekly(tmp_path, capsys):
    from engine.cli import main

    tiny(tmp_path, "one.xlsx")
    code = main(["weekly", str(tmp_path), "--as-of", "2026-03-31", "--jobs", "1",
                 "--ledger", str(tmp_path / "h" / "ledger.sqlite"), "--report-dir",
                 str(tmp_path / "r")])
    cap = capsys.readouterr()
    assert code == 0
    assert "one.xlsx: 1 findings (1 new" in cap.out
    assert "\r" not in cap.err  # no progress bar when not a terminal
    assert (tmp_path / "h" / "ledger.sqlite").exists() and (tmp_path / "r" / "one.html").exists()
    assert main(["weekly", str(tmp_path / "missing")]) == 2


def test_progress_bar_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    t = Tty()
    p = Progress(2, t)
    p.step("a.xlsx")
    p.step("b.xlsx")
    p.close()
    assert "2/2 workbooks" in t.getvalue() and "[" in t.getvalue()
    plain = io.StringIO()
    Progress(2, plain).step("a.xlsx")
    assert plain.getvalue() == ""


def test_which_workbooks_and_which_remits(tmp_path):
    for n in ("a.xlsx", "b.xlsm", "~$a.xlsx", ".hidden.xlsx", "a (reconciled).xlsx", "notes.txt"):
        (tmp_path / n).write_bytes(b"x")
    (tmp_path / "Recon backups").mkdir()
    (tmp_path / "Recon backups" / "a (backup 1).xlsx").write_bytes(b"x")
    assert [p.name for p in find_workbooks(tmp_path)] == ["a.xlsx", "b.xlsm"]
    a = tmp_path / "a.xlsx"
    assert remit_folders(a, "era") == []  # Settings wins; the runner resolves it
    assert remit_folders(a, None) == []
    (tmp_path / "remits").mkdir()
    assert remit_folders(a, None) == [tmp_path / "remits"]
    (tmp_path / "remits" / "a").mkdir()
    assert remit_folders(a, None) == [tmp_path / "remits" / "a"]
