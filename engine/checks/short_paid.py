"""SHORT_PAID: past due, something paid, and a balance nothing explains.

A pending insurance claim (insurance invoice with no insurance money and no remittance yet), a
write-off or a payment plan explains a balance; what remains after those is the clerk's to chase.
"""

from __future__ import annotations

import pandas as pd

from engine.checks._common import (
    day_text,
    days_between,
    invoice_fields,
    money,
    remitted,
    unreadable_note,
)
from engine.context import Context
from engine.findings import severity_by_days

TYPE = "SHORT_PAID"


def check(ctx: Context) -> pd.DataFrame:
    t = ctx.invoice_totals
    pending_claim = ~t["self_pay"] & (t["insurance_paid_cents"] == 0) & ~remitted(ctx)
    # on a remitted claim, the patient's share is PATIENT_RESPONSIBILITY's, a claim sent for less
    # than was billed is CHARGE_MISMATCH's, and a denial is DENIED's to report
    patient_share = t["remit_pr_cents"].fillna(0)
    unclaimed = (t["billed_cents"] - t["remit_charge_cents"]).fillna(0).clip(lower=0)
    explained = t["balance_cents"] - patient_share - unclaimed <= ctx.settings.tolerance_cents
    denied = t["denied"]
    hit = t[(ctx.as_of > t["due_date"]) & (t["paid_cents"] > 0) & ~t["in_plan"] & ~pending_claim
            & (t["balance_cents"] > ctx.settings.tolerance_cents) & ~explained & ~denied]
    if hit.empty:
        return pd.DataFrame()
    days = days_between(ctx.as_of, hit["due_date"])
    return pd.DataFrame({
        "type": TYPE,
        "severity": severity_by_days(days),
        "key": hit["invoice_key"],
        **invoice_fields(hit),
        "expected": hit["billed_cents"] - hit["adjusted_cents"],
        "actual": hit["paid_cents"],
        "explanation": ("Invoice " + hit["invoice"] + " was due " + day_text(hit["due_date"])
                        + " and " + money(hit["paid_cents"]) + " of "
                        + money(hit["billed_cents"] - hit["adjusted_cents"])
                        + " has been paid, leaving " + money(hit["balance_cents"]) + " open."
                        + unreadable_note(ctx, hit)),
        "action": hit["self_pay"].map({
            True: "Bill the patient for the remaining balance or set up a payment plan.",
            False: "Bill the remaining balance to the patient or secondary payer, or write it off "
                   "if it is not collectable."}),
    }, index=hit.index, copy=False)
