"""OVERPAID: payments and adjustments exceed what was billed — a credit balance owed back."""

from __future__ import annotations

import pandas as pd

from engine.checks._common import invoice_fields, money, unreadable_note
from engine.context import Context

TYPE = "OVERPAID"


def check(ctx: Context) -> pd.DataFrame:
    t = ctx.invoice_totals
    tol = ctx.settings.tolerance_cents
    # the payer alone paying more than billed is PAYER_OVERPAID's to report
    payer_over = (t["remit_paid_cents"] - t["billed_cents"] > tol).fillna(False).astype(bool) \
        if "remit_paid_cents" in t else False
    hit = t[(-t["balance_cents"] > tol) & ~payer_over]
    if hit.empty:
        return pd.DataFrame()
    credit = -hit["balance_cents"]
    last = hit["last_payment_index"]
    label = last.map(ctx.payments["payment"]) if len(ctx.payments) else last
    return pd.DataFrame({
        "type": TYPE,
        "severity": "medium",
        "key": hit["invoice_key"],
        **invoice_fields(hit),
        "payment": label,
        "expected": hit["billed_cents"],
        "actual": hit["paid_cents"] + hit["adjusted_cents"],
        "explanation": ("Invoice " + hit["invoice"] + " was billed " + money(hit["billed_cents"])
                        + " but " + money(hit["paid_cents"] + hit["adjusted_cents"])
                        + " has been paid or adjusted: a credit balance of " + money(credit) + "."
                        + unreadable_note(ctx, hit)),
        "action": "Refund the credit balance to whoever overpaid, or re-apply it to another open "
                  "invoice of the same patient.",
    }, index=hit.index, copy=False)
