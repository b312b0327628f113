"""OVERPAID: payments and adjustments exceed what was billed — a credit balance owed back."""

from __future__ import annotations

import pandas as pd

from engine.checks._common import invoice_fields, money
from engine.context import Context

TYPE = "OVERPAID"


def check(ctx: Context) -> pd.DataFrame:
    t = ctx.invoice_totals
    hit = t[-t["balance_cents"] > ctx.settings.tolerance_cents]
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
                        + " has been paid or adjusted: a credit balance of " + money(credit) + "."),
        "action": "Refund the credit balance to whoever overpaid, or re-apply it to another open "
                  "invoice of the same patient.",
    })
