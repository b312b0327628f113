"""POSTING_MISMATCH: the remittance paid X on an invoice, but the insurance payments posted on it
total Y ≠ X (Y may be nothing). The remittance is what the payer says it paid; the posting is
what the books say."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.checks._common import (
    claim_fields,
    claim_invoice_at,
    invoices_by_key,
    money,
    remit_claims,
)
from engine.context import Context
from engine.positions import cents_or_zero, sum_at

TYPE = "POSTING_MISMATCH"
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    t = ctx.invoice_totals
    if "posted_insurance_cents" not in t:
        return pd.DataFrame()
    at = claim_invoice_at(ctx)
    matched = np.flatnonzero(at >= 0)
    # each remitted invoice once, in the order its first claim comes, with its last claim
    invoice = pd.unique(at[matched])  # hashed in order: no sort of every claim
    last_claim = np.full(len(t), -1, dtype=np.intp)
    np.maximum.at(last_claim, at[matched], matched)
    remit_paid = sum_at(at, cents_or_zero(claims["paid_cents"]), len(t))[invoice]
    posted = cents_or_zero(invoices_by_key(ctx)["posted_insurance_cents"])[invoice]
    bad = np.abs(posted - remit_paid) > ctx.settings.tolerance_cents
    if not bad.any():
        return pd.DataFrame()
    last = claims.iloc[last_claim[invoice[bad]]].reset_index(drop=True)
    x_s = pd.Series(pd.array(remit_paid[bad], dtype=_INT64), index=last.index)
    y_s = pd.Series(pd.array(posted[bad], dtype=_INT64), index=last.index)
    nothing = y_s == 0
    return pd.DataFrame({
        "type": TYPE, "severity": "medium", "key": last["invoice_key"],
        **claim_fields(last, ctx),
        "expected": x_s, "actual": y_s,
        "explanation": ("The remittance paid " + money(x_s) + " on claim " + last["claim"]
                        + (", but the insurance payments posted on the invoice total "
                           + money(y_s)).mask(nothing, ", but no insurance payment is posted on "
                                                       "the invoice") + "."),
        "action": nothing.map({True: "Post the remittance's payment to the invoice.",
                               False: "Correct the posted insurance payment to match the remittance."}),
    }, index=last.index, copy=False)
