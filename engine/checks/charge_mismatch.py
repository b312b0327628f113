"""CHARGE_MISMATCH: the charge on the remittance is not what the invoice billed."""

from __future__ import annotations

import pandas as pd

from engine.checks._common import claim_fields, claim_key, money, remit_claims
from engine.context import Context

TYPE = "CHARGE_MISMATCH"


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    c = claims[claims["effective"] & claims["invoice_key"].notna()]
    billed = c["invoice_key"].map(ctx.invoice_totals.set_index("invoice_key")["billed_cents"])
    hit = c[(c["charge_cents"] - billed).abs() > ctx.settings.tolerance_cents]
    if hit.empty:
        return pd.DataFrame()
    b = billed[hit.index].astype("Int64")
    return pd.DataFrame({
        "type": TYPE, "severity": "low", "key": claim_key(hit),
        **claim_fields(hit, ctx.invoice_totals),
        "expected": b, "actual": hit["charge_cents"],
        "explanation": ("The remittance shows a charge of " + money(hit["charge_cents"])
                        + " for claim " + hit["claim"] + ", but the invoice billed " + money(b) + "."),
        "action": "Check whether the claim was sent with different lines or amounts; correct the "
                  "invoice or send a corrected claim.",
    })
