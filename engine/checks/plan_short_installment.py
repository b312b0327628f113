"""PLAN_SHORT_INSTALLMENT: something was paid toward a due plan installment, but not all of it.

Exactly when (discrepancies.md section D): the installment is due (as-of date on or after its due
date), money was allocated to it (engine.plans, in due order), and the allocation is less than
the installment by more than `tolerance`. Installments of completed plans are never findings.
Severity low.
"""

from __future__ import annotations

import pandas as pd

from engine.checks._common import text_or_none
from engine.context import Context
from engine.findings import empty
from engine.plans import day_text, money_text

TYPE = "PLAN_SHORT_INSTALLMENT"

_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use
_NEEDED = ("plan_key", "number", "due_date", "amount_cents", "paid_cents")


def check(ctx: Context) -> pd.DataFrame:
    ins = getattr(ctx, "installments", None)
    if ins is None or not len(ins) or any(c not in ins for c in _NEEDED):
        return empty()
    as_of = pd.Timestamp(ctx.as_of).normalize()
    tolerance = int(getattr(ctx.settings, "tolerance_cents", 0) or 0)
    due = pd.to_datetime(ins["due_date"], errors="coerce")
    amount = pd.to_numeric(ins["amount_cents"], errors="coerce").astype(_INT64)
    paid = pd.to_numeric(ins["paid_cents"], errors="coerce").fillna(0).astype(_INT64)

    ps = getattr(ctx, "plan_status", None)
    completed = pd.Series(False, index=ins.index)
    if ps is not None and len(ps) and "plan_key" in ps and "status" in ps:
        by_key = ps.drop_duplicates("plan_key").set_index("plan_key")
        completed = ins["plan_key"].map(by_key["status"]).eq("completed").fillna(False)
    if "status" in ins:
        completed |= ins["status"].eq("closed").fillna(False)

    short = amount - paid
    hit = (due.notna() & amount.notna() & (paid > 0) & (short > tolerance) & (as_of >= due)
           & ~completed).fillna(False).astype(bool)
    if not hit.any():
        return empty()
    f = ins[hit]
    plan = f["plan"].astype(object) if "plan" in f else f["plan_key"].astype(object)
    explanation = [
        f"Installment {int(n)} of plan {p} ({money_text(a)}, due {d}) was only partly "
        f"paid: {money_text(x)} received, {money_text(s)} still owed."
        for n, p, a, d, x, s in zip(f["number"], plan, amount[hit], day_text(due[hit]), paid[hit],
                                    short[hit])
    ]
    action = [f"Ask the patient for the remaining {money_text(s)} or adjust the plan."
              for s in short[hit]]
    sheet = f["sheet"] if "sheet" in f else pd.Series(None, index=f.index, dtype=object)
    row = f["row"] if "row" in f else pd.Series(pd.NA, index=f.index, dtype=_INT64)
    return pd.DataFrame({
        "type": TYPE,
        "severity": "low",
        "plan": plan,
        "patient": text_or_none(f, "patient_id"),
        "invoice": text_or_none(f, "invoices"),
        "expected": amount[hit],
        "actual": paid[hit],
        "difference": (paid[hit] - amount[hit]).astype(_INT64),
        "service_date": pd.NaT,
        "reason": "Installment partly paid",
        "explanation": explanation,
        "action": action,
        "source": text_or_none(f, "source"),
        "source_sheet": sheet.astype(object),
        "source_row": row.astype(_INT64),
        "key": f["plan_key"].astype(str) + "|" + f["number"].astype(_INT64).astype(str),
    }, index=f.index, copy=False).reset_index(drop=True)

