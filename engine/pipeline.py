"""The one place that orders a run: read → normalise → match → settle → check → write.

Matching is three matchers over one run's tables: payments → invoices, remitted claims →
invoices, and bank deposits → remittances (or the postings that explain them).

Readers, matchers, checks and writers never call each other; they meet here through tables.
`reconcile` is pure (tables in, findings and tables out) so the command line, the Excel button and
the weekly runner all share it; `run` adds the files around it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine import ledger, normalise, plans
from engine.checks import CHECKS
from engine.context import Context
from engine.findings import finalize
from engine.match.deposits import match_deposits, waiting_deposits
from engine.match.payments import match_payments
from engine.match.remits import match_remits
from engine.read.workbook import Inputs, read_workbook
from engine.x12 import Remit, concat, from_remittances_sheet

log = logging.getLogger("engine")


@dataclass
class Result:
    ctx: Context
    findings: pd.DataFrame
    inputs: Inputs
    files: list[tuple[str, str, str]] = field(default_factory=list)  # (name, kind, sha256)


def remittances(inputs: Inputs, files: Remit | None) -> Remit | None:
    """The run's remittances: 835 files given, plus the workbook's Remittances sheet."""
    parts = [r for r in (files,) if r is not None]
    sheet = inputs.tables.get("Remittances")
    if sheet is not None and len(sheet):
        parts.append(from_remittances_sheet(sheet))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else concat(parts)


def reconcile(inputs: Inputs, as_of: pd.Timestamp, remit: Remit | None = None) -> Result:
    """Match, settle and check one workbook's tables (and remittances, when given)."""
    settings = inputs.settings
    as_of = pd.Timestamp(as_of).normalize()
    invoices = normalise.invoice_totals(inputs.tables["Invoices"], settings)
    payments = normalise.prepare_payments(inputs.tables["Payments"])
    waiting = normalise.waiting_payments(payments, inputs.left_out.get("Invoices"), invoices)
    matches = match_payments(invoices, payments, settings, frozenset(waiting["payment_index"]))
    remit = remittances(inputs, remit)
    remit_tables: dict[str, pd.DataFrame] = {}
    per_invoice = per_invoice_at = claim_invoice_at = None
    if remit is not None:
        rm = match_remits(remit, invoices, inputs.tables["Invoices"], inputs.tables["FeeSchedule"],
                          settings)
        remit_tables = {"transactions": remit.transactions, "claims": rm.claims, "lines": rm.lines,
                        "adjustments": rm.adjustments, "plb": remit.plb,
                        "problems": remit.problems, "per_invoice": rm.per_invoice}
        per_invoice, per_invoice_at = rm.per_invoice, rm.per_invoice_at
        claim_invoice_at = rm.claim_invoice_at
    deposits = match_deposits(inputs.tables["Deposits"],
                              remit.transactions if remit is not None else pd.DataFrame(),
                              payments, settings)
    deposits_waiting = waiting_deposits(inputs.left_out.get("Deposits"))
    totals = ledger.settle(invoices, payments, matches.applications, per_invoice,
                           matches.invoice_at, per_invoice_at)
    plan_tables = plans.build_plans(inputs.tables["PaymentPlans"], payments, matches.applications,
                                    totals, settings, as_of, matches.invoice_at)
    in_plan = plans.plan_invoice_keys(plan_tables.plan_status)
    if len(in_plan):
        totals["plan"], plan_completed = plans.plan_marks(totals["invoice_key"], in_plan)
        totals["plan_completed"] = plan_completed.fillna(False)
        totals["in_plan"] = totals["plan"].notna() & ~totals["plan_completed"].astype(bool)
    ctx = Context(as_of=as_of, settings=settings, tables=inputs.tables, invoice_totals=totals,
                  payments=payments, applications=matches.applications,
                  match_candidates=matches.candidates, installments=plan_tables.installments,
                  plan_status=plan_tables.plan_status, remits=remit_tables,
                  deposit_matches=deposits, left_out=inputs.left_out, waiting=waiting,
                  waiting_deposits=deposits_waiting,
                  claim_invoice_at=claim_invoice_at)
    frames = [inputs.invalid, plan_tables.invalid]
    for check in CHECKS:
        frames.append(check.check(ctx))
    findings = finalize(frames)
    log.info("reconciled %d invoices, %d payments, %d remitted claims: %d findings", len(totals),
             len(payments), len(remit_tables.get("claims", ())), len(findings))
    return Result(ctx, findings, inputs)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read(path: Path) -> Inputs:
    return read_workbook(Path(path))
