"""POSTING_MISMATCH: the remittance paid X on an invoice, but the insurance payments posted on it
total Y ≠ X (Y may be nothing). The remittance is what the payer says it paid; the posting is
what the books say."""

from __future__ import annotations

import pandas as pd

from engine.checks._common import claim_fields, invoices_by_key, money, remit_claims
from engine.context import Context

TYPE = "POSTING_MISMATCH"
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    t = ctx.invoice_totals
    if "posted_insurance_cents" not in t:
        return pd.DataFrame()
    matched = claims.loc[claims["invoice_key"].notna(), ["invoice_key", "paid_cents"]]
    remit_paid = matched.groupby("invoice_key", sort=False)["paid_cents"].sum()
    posted = invoices_by_key(ctx)["posted_insurance_cents"].reindex(remit_paid.index).fillna(0)
    diff = posted - remit_paid
    bad = diff[diff.abs() > ctx.settings.tolerance_cents].index
    if len(bad) == 0:
        return pd.DataFrame()
    last = matched[matched["invoice_key"].isin(bad)].drop_duplicates("invoice_key", keep="last")
    in_bad_order = last.index[pd.Index(last["invoice_key"]).get_indexer(bad)]
    last = claims.loc[in_bad_order].reset_index(drop=True)
    x_s = pd.Series(remit_paid.loc[bad].astype(_INT64).array, index=last.index)
    y_s = pd.Series(posted.loc[bad].astype(_INT64).array, index=last.index)
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
