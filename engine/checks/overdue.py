"""OVERDUE: past due and nothing paid by anyone.

Invoices in a payment plan are judged by the plan checks. Insurance invoices are judged here only
when the run has no remittance data; with remittances, the remittance checks (denial, claim
without remittance) say more precisely what is wrong.
"""

from __future__ import annotations

import pandas as pd

from engine.checks._common import (
    day_text,
    days_between,
    invoice_fields,
    money,
    unreadable_note,
)
from engine.context import Context
from engine.findings import severity_by_days

TYPE = "OVERDUE"


def check(ctx: Context) -> pd.DataFrame:
    t = ctx.invoice_totals
    has_remits = bool(len(ctx.remits.get("claims", ())))
    judged = t["self_pay"] | (not has_remits)
    hit = t[judged & ~t["in_plan"] & (ctx.as_of > t["due_date"]) & (t["paid_cents"] == 0)
            & (t["balance_cents"] > ctx.settings.tolerance_cents)]
    if hit.empty:
        return pd.DataFrame()
    days = days_between(ctx.as_of, hit["due_date"])
    return pd.DataFrame({
        "type": TYPE,
        "severity": severity_by_days(days),
        "key": hit["invoice_key"],
        **invoice_fields(hit),
        "expected": hit["balance_cents"],
        "actual": 0,
        "difference": -hit["balance_cents"],
        "explanation": ("Invoice " + hit["invoice"] + " (" + money(hit["balance_cents"])
                        + ") was due " + day_text(hit["due_date"]) + " and nothing has been paid; it is "
                        + days.astype(str) + " days overdue."
                        + unreadable_note(ctx, hit)),
        "action": hit["self_pay"].map({True: "Send the patient a statement or reminder call.",
                                       False: "Check the claim status with the payer and resubmit "
                                              "if it was never received."}),
    }, index=hit.index, copy=False)
