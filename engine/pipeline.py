"""The one place that orders a run: read → normalise → match → settle → check → write.

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
from engine.match.payments import match_payments
from engine.read.workbook import Inputs, read_workbook

log = logging.getLogger("engine")


@dataclass
class Result:
    ctx: Context
    findings: pd.DataFrame
    inputs: Inputs
    files: list[tuple[str, str, str]] = field(default_factory=list)  # (name, kind, sha256)


def reconcile(inputs: Inputs, as_of: pd.Timestamp, remits: dict | None = None) -> Result:
    """Match, settle and check one workbook's tables (and remittances, when given)."""
    settings = inputs.settings
    as_of = pd.Timestamp(as_of).normalize()
    invoices = normalise.invoice_totals(inputs.tables["Invoices"], settings)
    payments = normalise.prepare_payments(inputs.tables["Payments"])
    matches = match_payments(invoices, payments, settings)
    totals = ledger.settle(invoices, payments, matches.applications)
    plan_tables = plans.build_plans(inputs.tables["PaymentPlans"], payments, matches.applications,
                                    totals, settings, as_of)
    in_plan = plans.plan_invoice_keys(plan_tables.plan_status)
    if len(in_plan):
        marks = in_plan.drop_duplicates("invoice_key").set_index("invoice_key")
        totals["plan"] = totals["invoice_key"].map(marks["plan"])
        totals["plan_completed"] = totals["invoice_key"].map(marks["plan_completed"]).fillna(False)
        totals["in_plan"] = totals["plan"].notna() & ~totals["plan_completed"].astype(bool)
    ctx = Context(as_of=as_of, settings=settings, tables=inputs.tables, invoice_totals=totals,
                  payments=payments, applications=matches.applications,
                  match_candidates=matches.candidates, installments=plan_tables.installments,
                  plan_status=plan_tables.plan_status, remits=remits or {})
    frames = [inputs.invalid, plan_tables.invalid]
    for check in CHECKS:
        frames.append(check.check(ctx))
    findings = finalize(frames)
    log.info("reconciled %d invoices, %d payments: %d findings", len(totals), len(payments),
             len(findings))
    return Result(ctx, findings, inputs)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read(path: Path) -> Inputs:
    return read_workbook(Path(path))
