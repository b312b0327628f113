"""PLAN_MISSED_INSTALLMENT: a plan installment past its grace period with nothing paid toward it.

Exactly when (discrepancies.md section D): as of the run date the installment's due date plus the
plan's grace days has passed, and no money was allocated to it (engine.plans allocates payments
toward a plan in due order). Installments of completed plans are never findings. Severity medium,
high when the plan has two or more missed installments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.checks._common import text_or_none
from engine.context import Context
from engine.findings import empty
from engine.plans import day_text, money_text

TYPE = "PLAN_MISSED_INSTALLMENT"

_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use
_NEEDED = ("plan_key", "number", "due_date", "amount_cents", "paid_cents")


def check(ctx: Context) -> pd.DataFrame:
    ins = getattr(ctx, "installments", None)
    if ins is None or not len(ins) or any(c not in ins for c in _NEEDED):
        return empty()
    as_of = pd.Timestamp(ctx.as_of).normalize()
    default_grace = int(getattr(ctx.settings, "plan_grace_days", 5) or 0)
    grace = pd.to_numeric(ins["grace_days"], errors="coerce") if "grace_days" in ins else \
        pd.Series(float("nan"), index=ins.index)
    grace = grace.fillna(default_grace).clip(lower=0).astype(np.int64)
    due = pd.to_datetime(ins["due_date"], errors="coerce")
    amount = pd.to_numeric(ins["amount_cents"], errors="coerce").astype(_INT64)
    paid = pd.to_numeric(ins["paid_cents"], errors="coerce").fillna(0).astype(_INT64)
    grace_end = due + pd.to_timedelta(grace, unit="D")

    ps = getattr(ctx, "plan_status", None)
    completed = pd.Series(False, index=ins.index)
    missed_count = pd.Series(pd.NA, index=ins.index, dtype=_INT64)
    if ps is not None and len(ps) and "plan_key" in ps:
        by_key = ps.drop_duplicates("plan_key").set_index("plan_key")
        if "status" in by_key:
            completed = ins["plan_key"].map(by_key["status"]).eq("completed").fillna(False)
        if "installments_missed" in by_key:
            missed_count = ins["plan_key"].map(by_key["installments_missed"]).astype(_INT64)
    if "status" in ins:
        completed |= ins["status"].eq("closed").fillna(False)

    hit = (due.notna() & amount.notna() & (amount > 0) & (paid <= 0) & (as_of > grace_end)
           & ~completed).fillna(False).astype(bool)
    if not hit.any():
        return empty()
    f = ins[hit]
    days = (as_of - grace_end[hit]).dt.days
    # plans with 2+ missed installments (from plan_status, else counted here)
    missed = missed_count[hit]
    if missed.isna().any():
        counted = hit.groupby(ins["plan_key"]).transform("sum")[hit]
        missed = missed.fillna(counted)
    missed = missed.astype(np.int64)
    severity = missed.map(lambda m: "high" if m >= 2 else "medium")

    plan = f["plan"].astype(object) if "plan" in f else f["plan_key"].astype(object)
    explanation = [
        f"Installment {int(n)} of plan {p} ({money_text(a)}, due {d}) has not been "
        f"paid, {int(k)} day{'s' if int(k) != 1 else ''} past the grace period."
        for n, p, a, d, k in zip(f["number"], plan, amount[hit], day_text(due[hit]), days)
    ]
    sheet = f["sheet"] if "sheet" in f else pd.Series(None, index=f.index, dtype=object)
    row = f["row"] if "row" in f else pd.Series(pd.NA, index=f.index, dtype=_INT64)
    return pd.DataFrame({
        "type": TYPE,
        "severity": severity,
        "plan": plan,
        "patient": text_or_none(f, "patient_id"),
        "invoice": text_or_none(f, "invoices"),
        "expected": amount[hit],
        "actual": paid[hit],
        "difference": (paid[hit] - amount[hit]).astype(_INT64),
        "service_date": pd.NaT,
        "reason": "Installment not paid",
        "explanation": explanation,
        "action": "Contact the patient about the missed installment; consider a reminder or "
                  "re-arranging the plan.",
        "source": text_or_none(f, "source"),
        "source_sheet": sheet.astype(object),
        "source_row": row.astype(_INT64),
        "key": f["plan_key"].astype(str) + "|" + f["number"].astype(_INT64).astype(str),
    }, index=f.index, copy=False).reset_index(drop=True)

