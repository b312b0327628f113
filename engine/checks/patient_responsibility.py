"""PATIENT_RESPONSIBILITY: the payer assigned the patient a share they have not paid yet.

Not an error — it is what the clinic must bill the patient — so severity is info, and low once the
remittance is more than 30 days old. Claims forwarded to another payer (19–21) are skipped: the
secondary payer may still cover the share.
"""

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
from engine.match.remits import FORWARDED
from engine.positions import cents_or_zero, sum_at

TYPE = "PATIENT_RESPONSIBILITY"
_INT64 = pd.Int64Dtype()


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    adj = ctx.remits.get("adjustments", pd.DataFrame())
    if claims.empty or adj.empty:
        return pd.DataFrame()
    at = claim_invoice_at(ctx)
    owner = pd.Index(claims["claim_index"]).get_indexer(adj["claim_index"])
    owner[~(adj["effective"].to_numpy(dtype=bool)
            & (adj["group"].to_numpy(dtype=object) == "PR"))] = -1  # object arrays compare faster
    pr_cents = sum_at(owner, cents_or_zero(adj["amount_cents"]), len(claims))
    c = np.flatnonzero(claims["effective"].to_numpy(dtype=bool) & (at >= 0)
                       & ~claims["status"].isin(FORWARDED).to_numpy(dtype=bool))
    c_at = at[c]
    per_inv = sum_at(c_at, pr_cents[c], len(ctx.invoice_totals))[c_at]
    patient_paid = cents_or_zero(invoices_by_key(ctx)["patient_paid_cents"])[c_at]
    keep = (pr_cents[c] > 0) & (per_inv - patient_paid > ctx.settings.tolerance_cents)
    if not keep.any():
        return pd.DataFrame()
    c, per_inv, patient_paid = c[keep], per_inv[keep], patient_paid[keep]
    hit = claims.iloc[c]
    paid = pd.Series(pd.array(patient_paid, dtype=_INT64), index=hit.index)
    owed = pd.Series(pd.array(per_inv - patient_paid, dtype=_INT64), index=hit.index)
    tx = ctx.remits.get("transactions", pd.DataFrame())
    when = hit["transaction_index"].map(tx.set_index("transaction_index")["payment_date"]) \
        if len(tx) else pd.Series(pd.NaT, index=hit.index)
    old = ((ctx.as_of - when).dt.days > 30).fillna(False)
    return pd.DataFrame({
        "type": TYPE, "severity": old.map({True: "low", False: "info"}),
        "key": claim_key(hit, "|pr"),
        **claim_fields(hit, ctx),
        "expected": pd.Series(pd.array(per_inv, dtype=_INT64), index=hit.index), "actual": paid,
        "explanation": ("The payer assigned "
                        + money(pd.Series(pd.array(pr_cents[c], dtype=_INT64), index=hit.index))
                        + " of claim " + hit["claim"] + " to the patient (deductible, coinsurance "
                        "or copay); " + money(owed) + " is still to be collected."),
        "action": "Send the patient a statement for their share.",
    }, index=hit.index, copy=False)
