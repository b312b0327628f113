"""The run-history ledger: classification, idempotent weeks, concurrent writers, trend."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3

from engine.history import Ledger, RunRecord, compare, iso_week


def f(fid: str, amount: int = 1000, kind: str = "OVERDUE") -> dict:
    return {"id": fid, "type": kind, "severity": "high", "amount_cents": amount, "status": "Open",
            "ref": "INV-1", "payer": "Aetna"}


def run(book: str, as_of: str, ids: list[str]) -> RunRecord:
    return RunRecord(book, as_of, [(book, "workbook", "0" * 64)], 10, {"Billed": 100},
                     [f(i) for i in ids])


def test_iso_week():
    assert iso_week("2026-03-17") == ("2026-W12", "2026-03-16")
    assert iso_week("2026-01-01") == ("2026-W01", "2025-12-29")


def test_new_open_reopened_resolved(tmp_path):
    path = tmp_path / "h.sqlite"
    with Ledger(path) as db:
        db.record(run("a.xlsx", "2026-03-03", ["A", "B", "C"]))
        db.record(run("a.xlsx", "2026-03-10", ["A", "B", "D"]))  # C resolved, D new
        db.record(run("b.xlsx", "2026-03-10", ["C"]))  # other workbooks don't count
        prior = db.prior_runs("a.xlsx", iso_week("2026-03-17")[1])
    h = compare([f("A"), f("C"), f("E")], prior, "2026-03-17")
    by = h.per_finding.set_index("id")
    assert by.loc["A", "history"] == "open" and by.loc["A", "weeks_open"] == 3
    assert by.loc["C", "history"] == "reopened"
    assert by.loc["E", "history"] == "new" and by.loc["E", "weeks_open"] == 1
    assert sorted(h.resolved["id"]) == ["B", "D"]
    assert h.counts() == {"new": 1, "open": 1, "reopened": 1, "resolved": 2}
    assert h.previous_week == "2026-W11"
    assert h.label("A") == "Open 3 weeks" and h.label("C") == "Reopened" and h.label("E") == "New"
    t = h.trend.set_index("week")
    assert t.loc["2026-W10", ["open", "new", "reopened", "resolved"]].tolist() == [3, 3, 0, 0]
    assert t.loc["2026-W11", ["open", "new", "reopened", "resolved"]].tolist() == [3, 1, 0, 1]
    assert t.loc["2026-W12", ["open", "new", "reopened", "resolved"]].tolist() == [3, 1, 1, 2]
    assert t.loc["2026-W12", "amount_cents"] == 3000


def test_streak_restarts_after_a_gap(tmp_path):
    with Ledger(tmp_path / "h.sqlite") as db:
        for day, ids in (("2026-03-03", ["A"]), ("2026-03-10", []), ("2026-03-17", ["A"])):
            db.record(run("a.xlsx", day, ids))
        prior = db.prior_runs("a.xlsx", iso_week("2026-03-24")[1])
    h = compare([f("A")], prior, "2026-03-24")
    assert h.label("A") == "Open 2 weeks"


def test_same_week_replaces_never_duplicates(tmp_path):
    path = tmp_path / "h.sqlite"
    with Ledger(path) as db:
        db.record(run("a.xlsx", "2026-03-16", ["A", "B"]))
        db.record(run("a.xlsx", "2026-03-18", ["A", "C"]))  # same ISO week, later as-of
        db.record(run("a.xlsx", "2026-03-18", ["A", "C"]))
        assert len(db.runs("a.xlsx")) == 1
        assert db.findings("a.xlsx", "2026-W12")["id"].tolist() == ["A", "C"]
        con = sqlite3.connect(path)
        assert con.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 2
        con.close()


def test_failed_write_leaves_the_previous_record(tmp_path):
    with Ledger(tmp_path / "h.sqlite") as db:
        db.record(run("a.xlsx", "2026-03-16", ["A"]))
        bad = run("a.xlsx", "2026-03-16", ["B"])
        bad.findings.append({"id": "X", "type": None})  # NOT NULL type: the insert fails
        try:
            db.record(bad)
        except (sqlite3.IntegrityError, KeyError):
            pass
        else:
            raise AssertionError("expected the bad record to fail")
        assert db.findings("a.xlsx", "2026-W12")["id"].tolist() == ["A"]


def _writer(path: str, name: str, n: int) -> None:
    with Ledger(path) as db:
        for i in range(n):
            week = f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}"
            db.record(run(name, week, [f"{name}-{i}-{j}" for j in range(40)]))
            db.record(run("shared.xlsx", week, [f"S-{j}" for j in range(40)]))


def test_two_processes_writing_at_once(tmp_path):
    path = str(tmp_path / "h.sqlite")
    Ledger(path).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, name, 30)) for name in ("a.xlsx", "b.xlsx")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Ledger(path) as db:
        assert db.integrity() == "ok"
        runs = db.runs()
        weeks = {iso_week(f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}")[0] for i in range(30)}
        assert len(runs[runs["workbook"] == "a.xlsx"]) == len(weeks)
        assert len(runs[runs["workbook"] == "b.xlsx"]) == len(weeks)
        assert len(runs[runs["workbook"] == "shared.xlsx"]) == len(weeks)  # replaced, not doubled
        assert runs.duplicated(["workbook", "week"]).sum() == 0
        con = sqlite3.connect(path)
        assert con.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 40 * 3 * len(weeks)
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        con.close()
