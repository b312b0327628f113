"""CLAIM_WITHOUT_REMIT: an insurance claim with no remittance after the follow-up period.

Only judged when the run has remittances (otherwise the office does not work from 835s and
OVERDUE covers unpaid invoices), and not when an insurance payment was posted without one
(a paper check).
"""

from __future__ import annotations

import pandas as pd

from engine.checks._common import (
    day_text,
    invoice_fields,
    money,
    remit_claims,
    remitted,
)
from engine.context import Context

TYPE = "CLAIM_WITHOUT_REMIT"


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    t = ctx.invoice_totals
    start = t["invoice_date"].fillna(t["service_date"])
    days = (ctx.as_of - start).dt.days
    hit = t[~t["self_pay"] & ~remitted(ctx) & (t["insurance_paid_cents"] == 0)
            & (days > ctx.settings.claim_followup_days) & ~t["in_plan"]
            & (t["balance_cents"] > ctx.settings.tolerance_cents)]
    if hit.empty:
        return pd.DataFrame()
    d = days[hit.index]
    return pd.DataFrame({
        "type": TYPE, "severity": d.map(lambda n: "high" if n > 90 else "medium"),
        "key": hit["invoice_key"], **invoice_fields(hit),
        "claim": hit["claim"],
        "expected": hit["billed_cents"], "actual": 0,
        "explanation": ("Claim " + hit["claim"] + " to " + hit["payer"].fillna("the payer")
                        + " (" + money(hit["billed_cents"]) + ", billed "
                        + day_text(start[hit.index]) + ") has no remittance after "
                        + d.astype(str) + " days."),
        "action": "Check the claim status with the payer or clearinghouse; resubmit if it was "
                  "never received.",
    }, index=hit.index, copy=False)
