"""CHARGE_MISMATCH: the charge on the remittance is not what the invoice billed."""

from __future__ import annotations

import pandas as pd

from engine.checks._common import (
    claim_fields,
    claim_key,
    invoices_by_key,
    money,
    remit_claims,
)
from engine.context import Context

TYPE = "CHARGE_MISMATCH"
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    c = claims.loc[claims["effective"] & claims["invoice_key"].notna(),
                   ["invoice_key", "charge_cents"]]
    billed = c["invoice_key"].map(invoices_by_key(ctx)["billed_cents"])
    c = c[(c["charge_cents"] - billed).abs() > ctx.settings.tolerance_cents]
    if c.empty:
        return pd.DataFrame()
    hit = claims.loc[c.index]
    b = billed[hit.index].astype(_INT64)
    return pd.DataFrame({
        "type": TYPE, "severity": "low", "key": claim_key(hit),
        **claim_fields(hit, ctx),
        "expected": b, "actual": hit["charge_cents"],
        "explanation": ("The remittance shows a charge of " + money(hit["charge_cents"])
                        + " for claim " + hit["claim"] + ", but the invoice billed " + money(b) + "."),
        "action": "Check whether the claim was sent with different lines or amounts; correct the "
                  "invoice or send a corrected claim.",
    }, index=hit.index, copy=False)
