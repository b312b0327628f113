"""PATIENT_RESPONSIBILITY: the payer assigned the patient a share they have not paid yet.

Not an error — it is what the clinic must bill the patient — so severity is info, and low once the
remittance is more than 30 days old. Claims forwarded to another payer (19–21) are skipped: the
secondary payer may still cover the share.
"""

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
from engine.match.remits import FORWARDED

TYPE = "PATIENT_RESPONSIBILITY"


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    adj = ctx.remits.get("adjustments", pd.DataFrame())
    if claims.empty or adj.empty:
        return pd.DataFrame()
    c = claims.loc[claims["effective"] & claims["invoice_key"].notna()
                   & ~claims["status"].isin(FORWARDED), ["claim_index", "invoice_key"]]
    pr = (adj.loc[adj["effective"] & (adj["group"] == "PR"), ["claim_index", "amount_cents"]]
          .groupby("claim_index")["amount_cents"].sum())
    c = c.assign(pr_cents=c["claim_index"].map(pr).fillna(0).astype(pd.Int64Dtype()))
    per_inv = c.groupby("invoice_key", sort=False)["pr_cents"].transform("sum")
    patient_paid = c["invoice_key"].map(invoices_by_key(ctx)["patient_paid_cents"]).fillna(0)
    tol = ctx.settings.tolerance_cents
    keep = (c["pr_cents"] > 0) & (per_inv - patient_paid > tol)
    c, per_inv, patient_paid = c[keep], per_inv[keep], patient_paid[keep]
    if c.empty:
        return pd.DataFrame()
    hit = claims.loc[c.index]
    paid = patient_paid.astype(pd.Int64Dtype())
    owed = (per_inv - paid).astype(pd.Int64Dtype())
    tx = ctx.remits.get("transactions", pd.DataFrame())
    when = hit["transaction_index"].map(tx.set_index("transaction_index")["payment_date"]) \
        if len(tx) else pd.Series(pd.NaT, index=hit.index)
    old = ((ctx.as_of - when).dt.days > 30).fillna(False)
    return pd.DataFrame({
        "type": TYPE, "severity": old.map({True: "low", False: "info"}),
        "key": claim_key(hit, "|pr"),
        **claim_fields(hit, ctx),
        "expected": per_inv.astype(pd.Int64Dtype()), "actual": paid,
        "explanation": ("The payer assigned " + money(c["pr_cents"])
                        + " of claim " + hit["claim"] + " to the patient (deductible, coinsurance "
                        "or copay); " + money(owed) + " is still to be collected."),
        "action": "Send the patient a statement for their share.",
    }, index=hit.index, copy=False)
