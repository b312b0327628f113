"""Run history: an embedded SQLite ledger of weekly runs and the findings each one found.

One file (default `recon-history.sqlite` beside the workbooks) holds, per workbook and ISO week of
the run's as-of date, one run — input files with checksums, totals — and every finding of that run
by ID with type, severity, amount and the staff status. From it each run learns, per finding:

- **new**: never found in an earlier week;
- **open**: also found last time (the previous recorded week); `weeks_open` counts calendar weeks
  since the start of its current unbroken streak, this week included (so 2 = second week);
- **reopened**: not found last time, but found in some earlier week;
- **resolved**: found last time, not found this week (listed separately).

Re-running the same workbook and week replaces that week's record in one transaction (idempotent,
never a duplicate). The ledger is opened in WAL mode with a busy timeout, and every write is one
`BEGIN IMMEDIATE` transaction retried while another process holds the lock, so several `recon`
processes can share a ledger. Patient names never go into the ledger: findings are stored by ID,
type, money and the invoice / claim / payment they concern.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

DEFAULT_NAME = "recon-history.sqlite"
SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id       INTEGER PRIMARY KEY,
    workbook     TEXT NOT NULL,          -- the workbook's file name
    week         TEXT NOT NULL,          -- ISO week of as_of, e.g. 2026-W12
    week_start   TEXT NOT NULL,          -- Monday of that week, YYYY-MM-DD
    as_of        TEXT NOT NULL,          -- YYYY-MM-DD
    run_at       TEXT NOT NULL,          -- local time of the run, YYYY-MM-DD HH:MM:SS
    files        TEXT NOT NULL,          -- JSON [[name, kind, sha256], ...]
    invoices     INTEGER NOT NULL,
    findings     INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,       -- money at stake over all findings
    totals       TEXT NOT NULL,          -- JSON {measure: cents} (Recon Summary totals)
    UNIQUE (workbook, week)
);
CREATE TABLE IF NOT EXISTS findings (
    run_id       INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    severity     TEXT,
    amount_cents INTEGER NOT NULL,
    status       TEXT,                   -- staff status: Open / In progress / Resolved / Ignored
    ref          TEXT,                   -- invoice, claim, payment, plan or trace it concerns
    payer        TEXT,
    PRIMARY KEY (run_id, id)
);
CREATE INDEX IF NOT EXISTS findings_by_id ON findings(id);
"""
FINDING_FIELDS = ("id", "type", "severity", "amount_cents", "status", "ref", "payer")


def iso_week(day: dt.date | pd.Timestamp) -> tuple[str, str]:
    """('2026-W12', '2026-03-16'): the ISO week of `day` and its Monday."""
    d = pd.Timestamp(day).date()
    year, week, weekday = d.isocalendar()
    return f"{year}-W{week:02d}", (d - dt.timedelta(days=weekday - 1)).isoformat()


@dataclass
class RunRecord:
    """One run of one workbook, as plain data (crosses process boundaries)."""

    workbook: str
    as_of: str
    files: list[tuple[str, str, str]]
    invoices: int
    totals: dict[str, int]
    findings: list[dict]  # FINDING_FIELDS
    run_at: str = field(default_factory=lambda: dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"))

    @property
    def week(self) -> str:
        return iso_week(self.as_of)[0]

    @property
    def week_start(self) -> str:
        return iso_week(self.as_of)[1]

    @property
    def amount_cents(self) -> int:
        return int(sum(f["amount_cents"] for f in self.findings))


@dataclass
class PriorRun:
    week: str
    week_start: str
    as_of: str
    findings: dict[str, dict]  # id → finding fields


def finding_rows(findings: pd.DataFrame) -> list[dict]:
    """Ledger rows of a findings frame (engine.findings columns + staff status)."""
    from engine.results import finding_amount

    if not len(findings):
        return []
    amount = finding_amount(findings)
    ref = findings["invoice"]
    for col in ("claim", "payment", "plan", "trace", "source"):
        ref = ref.where(ref.notna(), findings[col])
    status = findings["status"] if "status" in findings else pd.Series("Open", index=findings.index)
    out = []
    for i, idx in enumerate(findings.index):
        out.append({"id": str(findings.at[idx, "id"]), "type": str(findings.at[idx, "type"]),
                    "severity": _text(findings.at[idx, "severity"]),
                    "amount_cents": int(amount.iloc[i]), "status": _text(status.iloc[i]) or "Open",
                    "ref": _text(ref.iloc[i]), "payer": _text(findings.at[idx, "payer"])})
    return out


def _text(v: object) -> str | None:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return str(v)


class Ledger:
    """The SQLite ledger file. Open one per process; every write is one short transaction."""

    def __init__(self, path: Path, *, timeout: float = 60.0, retries: int = 20):
        self.path = Path(path)
        self.timeout = timeout
        self.retries = retries
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        self._retry(lambda: self._db.execute("PRAGMA journal_mode = WAL"))
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._write(self._create)

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _retry(self, fn):
        delay = 0.05
        for attempt in range(self.retries):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if attempt == self.retries - 1:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _write(self, body) -> object:
        """Run `body(db)` in one BEGIN IMMEDIATE transaction, retried while the file is locked."""
        def attempt():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = body(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return out
        return self._retry(attempt)

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        for stmt in _SCHEMA.split(";"):
            if stmt.strip():
                db.execute(stmt)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    # ------------------------------------------------------------------ writing
    def record(self, run: RunRecord) -> int:
        """Store `run`, replacing any earlier record of the same workbook and week. → run_id."""
        def body(db: sqlite3.Connection) -> int:
            old = db.execute("SELECT run_id FROM runs WHERE workbook = ? AND week = ?",
                             (run.workbook, run.week)).fetchall()
            for (run_id,) in old:
                db.execute("DELETE FROM findings WHERE run_id = ?", (run_id,))
                db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            cur = db.execute(
                "INSERT INTO runs (workbook, week, week_start, as_of, run_at, files, invoices, "
                "findings, amount_cents, totals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.workbook, run.week, run.week_start, run.as_of, run.run_at,
                 json.dumps([list(f) for f in run.files]), int(run.invoices), len(run.findings),
                 run.amount_cents, json.dumps({k: int(v) for k, v in run.totals.items()})))
            run_id = int(cur.lastrowid)
            db.executemany(
                "INSERT OR REPLACE INTO findings (run_id, id, type, severity, amount_cents, "
                "status, ref, payer) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, f["id"], f["type"], f.get("severity"), int(f["amount_cents"]),
                  f.get("status"), f.get("ref"), f.get("payer")) for f in run.findings])
            return run_id
        return self._write(body)  # type: ignore[return-value]

    # ------------------------------------------------------------------ reading
    def runs(self, workbook: str | None = None) -> pd.DataFrame:
        sql = ("SELECT run_id, workbook, week, week_start, as_of, run_at, files, invoices, "
               "findings, amount_cents, totals FROM runs")
        args: tuple = ()
        if workbook is not None:
            sql += " WHERE workbook = ?"
            args = (workbook,)
        rows = self._db.execute(sql + " ORDER BY workbook, week_start", args).fetchall()
        cols = ["run_id", "workbook", "week", "week_start", "as_of", "run_at", "files",
                "invoices", "findings", "amount_cents", "totals"]
        return pd.DataFrame(rows, columns=cols)

    def findings(self, workbook: str, week: str) -> pd.DataFrame:
        rows = self._db.execute(
            "SELECT f.id, f.type, f.severity, f.amount_cents, f.status, f.ref, f.payer "
            "FROM findings f JOIN runs r ON r.run_id = f.run_id "
            "WHERE r.workbook = ? AND r.week = ? ORDER BY f.id", (workbook, week)).fetchall()
        return pd.DataFrame(rows, columns=list(FINDING_FIELDS))

    def prior_runs(self, workbook: str, before_week_start: str) -> list[PriorRun]:
        """Every recorded run of `workbook` in a week before `before_week_start`, oldest first."""
        runs = self._db.execute(
            "SELECT run_id, week, week_start, as_of FROM runs WHERE workbook = ? AND "
            "week_start < ? ORDER BY week_start", (workbook, before_week_start)).fetchall()
        out = []
        for run_id, week, start, as_of in runs:
            rows = self._db.execute(
                "SELECT id, type, severity, amount_cents, status, ref, payer FROM findings "
                "WHERE run_id = ?", (run_id,)).fetchall()
            out.append(PriorRun(week, start, as_of,
                                {r[0]: dict(zip(FINDING_FIELDS, r)) for r in rows}))
        return out

    def integrity(self) -> str:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]


def read_prior_runs(path: Path | None, workbook: str, before_week_start: str) -> list[PriorRun]:
    """Prior runs from the ledger at `path`, or none when there is no ledger yet."""
    if path is None or not Path(path).exists():
        return []
    with Ledger(path) as ledger:
        return ledger.prior_runs(workbook, before_week_start)


# ---------------------------------------------------------------------------------- comparison
@dataclass
class History:
    """What the ledger says about this week's findings, for the summary sheet and the report."""

    week: str
    previous_week: str | None
    per_finding: pd.DataFrame  # id, history (new / open / reopened), weeks_open, first_seen
    resolved: pd.DataFrame  # FINDING_FIELDS of findings found last time and not now
    trend: pd.DataFrame  # week, as_of, open, amount_cents, new, reopened, resolved

    def counts(self) -> dict[str, int]:
        h = self.per_finding["history"]
        return {"new": int((h == "new").sum()), "open": int((h == "open").sum()),
                "reopened": int((h == "reopened").sum()), "resolved": len(self.resolved)}

    def label(self, finding_id: str) -> str:
        row = self._by_id.get(finding_id)
        if row is None:
            return ""
        if row["history"] == "new":
            return "New"
        if row["history"] == "reopened":
            return "Reopened"
        return f"Open {row['weeks_open']} weeks"

    @property
    def _by_id(self) -> dict[str, dict]:
        return {r["id"]: r for r in self.per_finding.to_dict(orient="records")}


def _weeks_between(later_start: str, earlier_start: str) -> int:
    return (dt.date.fromisoformat(later_start) - dt.date.fromisoformat(earlier_start)).days // 7


def _classify(current: list[dict], prior: list[PriorRun], week_start: str) -> tuple[list[dict], list[dict]]:
    ids = [f["id"] for f in current]
    previous = prior[-1] if prior else None
    seen_before = set().union(*(p.findings.keys() for p in prior)) if prior else set()
    rows = []
    for fid in ids:
        if previous is not None and fid in previous.findings:
            # walk back while the finding was present in consecutive recorded runs
            first = previous.week_start
            for p in reversed(prior[:-1]):
                if fid in p.findings:
                    first = p.week_start
                else:
                    break
            rows.append({"id": fid, "history": "open", "first_seen": first,
                         "weeks_open": _weeks_between(week_start, first) + 1})
        elif fid in seen_before:
            rows.append({"id": fid, "history": "reopened", "first_seen": week_start,
                         "weeks_open": 1})
        else:
            rows.append({"id": fid, "history": "new", "first_seen": week_start, "weeks_open": 1})
    current_ids = set(ids)
    resolved = [] if previous is None else [
        f for fid, f in sorted(previous.findings.items()) if fid not in current_ids]
    return rows, resolved


def compare(current: list[dict], prior: list[PriorRun], as_of: str) -> History:
    """Classify this run's findings against the ledger's earlier weeks; build the trend."""
    week, week_start = iso_week(as_of)
    prior = [p for p in prior if p.week_start < week_start]
    rows, resolved = _classify(current, prior, week_start)
    trend = []
    runs = prior + [PriorRun(week, week_start, as_of, {f["id"]: f for f in current})]
    for i, run in enumerate(runs):
        cls, res = _classify(list(run.findings.values()), runs[:i], run.week_start)
        trend.append({"week": run.week, "as_of": run.as_of, "open": len(run.findings),
                      "amount_cents": int(sum(f["amount_cents"] for f in run.findings.values())),
                      "new": sum(c["history"] == "new" for c in cls),
                      "reopened": sum(c["history"] == "reopened" for c in cls),
                      "resolved": len(res)})
    per = pd.DataFrame(rows, columns=["id", "history", "first_seen", "weeks_open"])
    return History(week, prior[-1].week if prior else None, per,
                   pd.DataFrame(resolved, columns=list(FINDING_FIELDS)),
                   pd.DataFrame(trend, columns=["week", "as_of", "open", "amount_cents", "new",
                                                "reopened", "resolved"]))


def history_for(ledger: Path | None, workbook: str, current: list[dict], as_of: str) -> History:
    return compare(current, read_prior_runs(ledger, workbook, iso_week(as_of)[1]), as_of)
