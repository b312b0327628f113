"""CHARGE_MISMATCH: the charge on the remittance is not what the invoice billed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.checks._common import (
    claim_fields,
    claim_invoice_at,
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
    # each claim's invoice by its position (claim_invoice_at), not by looking its key up again
    at = np.where(claims["effective"].to_numpy(dtype=bool), claim_invoice_at(ctx), -1)
    billed = invoices_by_key(ctx)["billed_cents"].array.take(at, allow_fill=True)
    differs = abs(claims["charge_cents"].array - billed) > ctx.settings.tolerance_cents
    rows = np.flatnonzero(differs.to_numpy(dtype=bool, na_value=False))
    if not len(rows):
        return pd.DataFrame()
    hit = claims.iloc[rows]
    b = pd.Series(billed[rows], index=hit.index, dtype=_INT64)
    return pd.DataFrame({
        "type": TYPE, "severity": "low", "key": claim_key(hit),
        **claim_fields(hit, ctx),
        "expected": b, "actual": hit["charge_cents"],
        "explanation": ("The remittance shows a charge of " + money(hit["charge_cents"])
                        + " for claim " + hit["claim"] + ", but the invoice billed " + money(b) + "."),
        "action": "Check whether the claim was sent with different lines or amounts; correct the "
                  "invoice or send a corrected claim.",
    }, index=hit.index, copy=False)
