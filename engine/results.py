"""Result tables for staff: computed here as data, laid out by a writer.

Builds the four result sheets of the workbook contract (and Plans when the workbook has plans)
from a reconciliation Result. Staff columns of the previous Discrepancies sheet (Status, Owner,
Note and columns they added at the right) are carried to the same finding IDs here, so every
writer — file or Excel button — shows the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.dates import to_dates
from engine.findings import COLUMNS as FINDING_COLUMNS
from engine.findings import SEVERITIES, TYPES
from engine.money import to_cents
from engine.pipeline import Result
from engine.write.model import Block, Chart, Column, Link, ResultSheet

AGING_BUCKETS = ((0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, 120, "91-120"),
                 (121, None, "120+"))


@dataclass(frozen=True)
class Report:
    """Everything a writer or report template shows, computed once."""

    findings: pd.DataFrame  # contract columns + staff columns carried over + extra staff columns
    extra_staff_columns: tuple[str, ...]
    staff_rows: pd.DataFrame
    resolved_ids: tuple[str, ...]
    reconciliation: pd.DataFrame
    aging: pd.DataFrame
    totals: pd.DataFrame
    by_type: pd.DataFrame
    by_severity: pd.DataFrame
    inputs: pd.DataFrame
    plans: pd.DataFrame


def finding_amount(f: pd.DataFrame) -> pd.Series:
    """The money a finding is about: |difference|, else |actual|, else |expected|."""
    return f["difference"].abs().fillna(f["actual"].abs()).fillna(f["expected"].abs()).fillna(0)


def carry_staff_columns(findings: pd.DataFrame, previous: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...]]:
    f = findings.copy()
    f["status"] = "Open"
    extra: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    if len(previous):
        prev = previous
        for col, name in (("status", "Status"), ("owner", "Owner"), ("note", "Note")):
            if name in prev:
                carried = f["id"].map(prev[name])
                f[col] = carried.where(carried.notna(), f[col])
        extra = tuple(c for c in prev.columns if c not in ("Status", "Owner", "Note"))
        for c in extra:
            f[c] = f["id"].map(prev[c])
        resolved = tuple(sorted(set(prev.index) - set(f["id"])))
    return f, extra, resolved


def _status(t: pd.DataFrame, tolerance: int) -> pd.Series:
    bal = t["balance_cents"]
    s = pd.Series("Partially paid", index=t.index, dtype="object")
    s[t["paid_cents"] == 0] = "Unpaid"
    settled = bal.abs() <= tolerance
    s[settled] = "Paid"
    s[settled & (t["paid_cents"] == 0) & (t["adjusted_cents"] > 0)] = "Written off"
    if "denied" in t:
        s[t["denied"].fillna(False).astype(bool) & ~settled] = "Denied"
    s[t["in_plan"].astype(bool) & (bal > tolerance)] = "In plan"
    s[bal < -tolerance] = "Overpaid"
    return s


def _aging(t: pd.DataFrame, as_of: pd.Timestamp, tolerance: int) -> pd.DataFrame:
    open_ = t[t["balance_cents"] > tolerance]
    start = open_["invoice_date"].fillna(open_["service_date"]).fillna(open_["due_date"])
    days = (as_of - start).dt.days.fillna(0).clip(lower=0)
    payer = open_["payer"].where(~open_["self_pay"], "Self-pay").fillna("Self-pay")
    cols = {}
    for lo, hi, label in AGING_BUCKETS:
        inside = (days >= lo) & ((days <= hi) if hi is not None else True)
        cols[label] = open_["balance_cents"].where(inside, 0)
    frame = pd.DataFrame(cols).assign(Payer=payer.to_numpy())
    g = frame.groupby("Payer", sort=True)[[b[2] for b in AGING_BUCKETS]].sum()
    g["Total"] = g.sum(axis=1)
    g["Invoices"] = open_.groupby(payer.to_numpy()).size().reindex(g.index).fillna(0)
    total = g.sum().to_frame().T
    total.index = ["All payers"]
    out = pd.concat([g, total]).reset_index(names="Payer")
    for c in [b[2] for b in AGING_BUCKETS] + ["Total", "Invoices"]:
        out[c] = out[c].astype("int64").astype("Int64")
    return out


def _count_and_sum(name: str, keys: pd.Series, order: tuple[str, ...],
                   amount: np.ndarray) -> pd.DataFrame:
    """Findings and total amount per key, in `order`, only keys that occur (others left out)."""
    codes = pd.Index(order).get_indexer(keys.to_numpy(dtype=object))
    known = codes >= 0
    counts = np.bincount(codes[known], minlength=len(order))
    sums = np.zeros(len(order), dtype="int64")
    np.add.at(sums, codes[known], amount[known])
    found = counts > 0
    return pd.DataFrame({name: pd.Index([k for k, n in zip(order, found) if n]),
                         "Findings": pd.array(counts[found], dtype="Int64"),
                         "Amount": pd.array(sums[found], dtype="Int64")})


def build_report(result: Result) -> Report:
    ctx, s = result.ctx, result.ctx.settings
    t = ctx.invoice_totals
    f, extra, resolved = carry_staff_columns(result.findings, result.inputs.previous)
    rec = pd.DataFrame({
        "Invoice": t["invoice"], "Claim": t["claim"], "Patient": t["patient"].fillna(t["patient_id"]),
        "Payer": t["payer"].where(~t["self_pay"], t["payer"].fillna("Self-pay")),
        "Service date": t["service_date"], "Invoice date": t["invoice_date"], "Due date": t["due_date"],
        "Billed": t["billed_cents"], "Insurance paid": t["insurance_paid_cents"],
        "Patient paid": t["patient_paid_cents"], "Adjustments": t["adjusted_cents"],
        "Balance": t["balance_cents"], "Status": _status(t, s.tolerance_cents),
        "Matched by": t["match_method"], "Confidence": t["match_confidence"],
        "Plan": t["plan"], "Source": t["source"],
        "_sheet": t["sheet"], "_row": t["row"],
    }).sort_values(["_row"], kind="mergesort").reset_index(drop=True)
    amount = finding_amount(f).to_numpy(dtype="int64")
    by_type = _count_and_sum("Type", f["type"], TYPES, amount)
    by_sev = _count_and_sum("Severity", f["severity"], SEVERITIES, amount)
    p = ctx.payments
    unapplied = p[~p["duplicate"] & ~p.index.isin(ctx.applications["payment_index"])
                  & (p["kind"] != "adjustment")]["amount_cents"].sum() if len(p) else 0
    totals = pd.DataFrame({
        "Measure": ["Billed", "Paid by insurance", "Paid by patients", "Adjusted / written off",
                    "Outstanding (open balances)", "Credit balances (owed back)",
                    "Unapplied payments"],
        "Amount": [t["billed_cents"].sum(), t["insurance_paid_cents"].sum(),
                   t["patient_paid_cents"].sum(), t["adjusted_cents"].sum(),
                   t["balance_cents"].clip(lower=0).sum(), -t["balance_cents"].clip(upper=0).sum(),
                   unapplied],
    })
    totals["Amount"] = totals["Amount"].astype("int64").astype("Int64")
    inputs = pd.DataFrame(result.files, columns=["File", "Kind", "SHA-256"]) if result.files else \
        pd.DataFrame({"File": pd.Series([], dtype="str"), "Kind": pd.Series([], dtype="str"),
                      "SHA-256": pd.Series([], dtype="str")})
    return Report(f, extra, result.inputs.staff_rows, resolved, rec,
                  _aging(t, ctx.as_of, s.tolerance_cents), totals, by_type, by_sev, inputs,
                  ctx.plan_status)


def _links(sheet_names: dict[str, str], source_sheet: pd.Series, source_row: pd.Series,
           column: str) -> Link:
    """Only rows of the staff's own sheets get a link (835 segments are not in the workbook)."""
    known = set(sheet_names.values())
    target = source_sheet.where(source_sheet.isin(known))
    return Link(column, target, source_row.where(target.notna()))


def result_sheets(report: Report, result: Result, run_date: pd.Timestamp) -> list[ResultSheet]:
    ctx = result.ctx
    names = result.inputs.sheet_names
    f = report.findings
    disc_cols = [Column(h, {"money": "money", "date": "date"}.get(k, "text"))
                 for _n, h, k in FINDING_COLUMNS]
    disc = pd.DataFrame({h: f[n] for n, h, _k in FINDING_COLUMNS})
    for c in report.extra_staff_columns:
        disc[c] = f[c]
        disc_cols.append(Column(c, "text"))
    if len(report.staff_rows):
        kept = report.staff_rows.reindex(columns=list(disc.columns)).astype("object")
        kept["Source"] = kept["Source"].fillna("added by staff (kept from the previous run)")
        for col in disc_cols:
            if col.kind == "money":
                kept[col.name] = to_cents(kept[col.name])[0]
            elif col.kind == "date":
                kept[col.name] = to_dates(kept[col.name])[0]
        disc = pd.concat([disc, kept], ignore_index=True)
        for col in disc_cols:
            if col.kind == "money":
                disc[col.name] = disc[col.name].astype("Int64")
    src_sheet = pd.concat([f["source_sheet"], pd.Series(pd.NA, index=range(len(report.staff_rows)))],
                          ignore_index=True)
    src_row = pd.concat([f["source_row"], pd.Series(pd.NA, index=range(len(report.staff_rows)))],
                        ignore_index=True)
    discrepancies = ResultSheet("Discrepancies", (Block(
        "ReconDiscrepancies", tuple(disc_cols), disc.reset_index(drop=True),
        links=(_links(names, src_sheet, src_row, "Source"),), severity_column="Severity"),))

    rec = report.reconciliation
    rec_cols = (Column("Invoice"), Column("Claim"), Column("Patient"), Column("Payer"),
                Column("Service date", "date"), Column("Invoice date", "date"),
                Column("Due date", "date"), Column("Billed", "money"),
                Column("Insurance paid", "money"), Column("Patient paid", "money"),
                Column("Adjustments", "money"), Column("Balance", "money"), Column("Status"),
                Column("Matched by"), Column("Confidence", "percent"), Column("Plan"),
                Column("Source"))
    reconciliation = ResultSheet("Reconciliation", (Block(
        "ReconInvoices", rec_cols, rec[[c.name for c in rec_cols]],
        links=(_links(names, rec["_sheet"], rec["_row"], "Source"),)),))

    aging_cols = (Column("Payer"),) + tuple(Column(b[2], "money") for b in AGING_BUCKETS) + (
        Column("Total", "money"), Column("Invoices", "int"))
    aging = ResultSheet("Aging", (Block("ReconAging", aging_cols, report.aging,
                                        title=f"Open balances by age (days since invoice) as of "
                                              f"{ctx.as_of:%Y-%m-%d}"),))

    buckets = report.aging[report.aging["Payer"] == "All payers"]
    age_block = pd.DataFrame({"Age (days)": [b[2] for b in AGING_BUCKETS],
                              "Open balance": [buckets[b[2]].iloc[0] if len(buckets) else 0
                                               for b in AGING_BUCKETS]})
    age_block["Open balance"] = age_block["Open balance"].astype("int64").astype("Int64")
    resolved = pd.DataFrame({
        "Follow-up": ["Findings this run", "Open (not yet resolved by staff)",
                      "Resolved since the last run (no longer found)", "Rows added by staff"],
        "Count": [len(f), int((f["status"].fillna("Open") == "Open").sum()),
                  len(report.resolved_ids), len(report.staff_rows)]})
    resolved["Count"] = resolved["Count"].astype("Int64")
    notes = [f"Reconciliation of {result.inputs.path.name}"
             + (f" — {ctx.settings.practice_name}" if ctx.settings.practice_name else ""),
             f"Run date: {run_date:%Y-%m-%d %H:%M}", f"As of: {ctx.as_of:%Y-%m-%d}"]
    summary = ResultSheet("Recon Summary", (
        Block("ReconTotals", (Column("Measure"), Column("Amount", "money")), report.totals,
              title="Totals"),
        Block("ReconByType", (Column("Type"), Column("Findings", "int"), Column("Amount", "money")),
              report.by_type, title="Findings by type"),
        Block("ReconBySeverity", (Column("Severity"), Column("Findings", "int"),
                                  Column("Amount", "money")), report.by_severity,
              title="Findings by severity", severity_column="Severity"),
        Block("ReconAgeBuckets", (Column("Age (days)"), Column("Open balance", "money")), age_block,
              title="Open balance by age"),
        Block("ReconFollowUp", (Column("Follow-up"), Column("Count", "int")), resolved,
              title="Staff follow-up"),
        Block("ReconInputs", (Column("File"), Column("Kind"), Column("SHA-256")), report.inputs,
              title="Input files"),
    ), charts=(Chart("Findings by type (amount)", 1, "Type", "Amount"),
               Chart("Open balance by age", 3, "Age (days)", "Open balance")),
        notes=tuple(notes), freeze_header=False)
    sheets = [summary, reconciliation, discrepancies, aging]
    if len(report.plans):
        sheets.append(plans_sheet(report.plans))
    return sheets


def plans_sheet(plan_status: pd.DataFrame) -> ResultSheet:
    p = plan_status
    data = pd.DataFrame({
        "Plan": p["plan"], "Patient ID": p["patient_id"], "Invoices": p["invoices"],
        "Total": p["total_cents"], "Paid to date": p["paid_to_date_cents"],
        "Remaining": p["remaining_cents"], "Next due": p["next_due_date"],
        "Next amount": p["next_due_cents"], "Missed": p["installments_missed"],
        "Status": p["status"], "Source": p["source"]})
    cols = (Column("Plan"), Column("Patient ID"), Column("Invoices"), Column("Total", "money"),
            Column("Paid to date", "money"), Column("Remaining", "money"),
            Column("Next due", "date"), Column("Next amount", "money"), Column("Missed", "int"),
            Column("Status"), Column("Source"))
    data["Missed"] = pd.to_numeric(data["Missed"]).astype("Int64")
    return ResultSheet("Plans", (Block("ReconPlans", cols, data),))


def export_frame(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings with the contract's snake_case columns, money as decimal strings (exact)."""
    out = findings[[n for n, _h, _k in FINDING_COLUMNS]].copy()
    for c in ("expected", "actual", "difference"):
        cents = out[c]
        out[c] = cents.map(lambda v: None if pd.isna(v) else
                           f"{'-' if v < 0 else ''}{abs(int(v)) // 100}.{abs(int(v)) % 100:02d}")
    out["service_date"] = out["service_date"].dt.strftime("%Y-%m-%d")
    return out.replace({np.nan: None})
