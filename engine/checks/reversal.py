"""REVERSAL: the payer took back an earlier payment (status 22), once per reversed claim."""

from __future__ import annotations

import pandas as pd

from engine.checks._common import claim_fields, claim_key, money, remit_claims
from engine.context import Context

TYPE = "REVERSAL"


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    rev = claims[claims["status"] == "22"]
    if rev.empty:
        return pd.DataFrame()
    by_label = claims
    original_paid = rev["reverses"].map(by_label["paid_cents"]).astype("Int64")
    original_paid = original_paid.fillna(-rev["paid_cents"])
    # a correction: a later effective claim with the same claim number
    corr = (claims.loc[claims["effective"], ["claim_key", "paid_cents"]]
            .drop_duplicates("claim_key", keep="last").set_index("claim_key"))
    corrected = rev["claim_key"].map(corr["paid_cents"]).astype("Int64")
    has_corr = corrected.notna()
    key_claims = rev.assign(status="22")
    return pd.DataFrame({
        "type": TYPE, "severity": has_corr.map({True: "low", False: "medium"}),
        "key": claim_key(key_claims) + "|" + rev["payer_claim"].fillna("").astype(str),
        **claim_fields(rev, ctx),
        "expected": original_paid, "actual": corrected.fillna(0).astype("Int64"),
        "explanation": ("The payer reversed its payment of " + money(original_paid) + " on claim "
                        + rev["claim"]
                        + (" and re-processed it paying " + money(corrected)).where(has_corr,
                            " and no corrected claim has been received yet") + "."),
        "action": has_corr.map({
            True: "Reverse the original posting and post the corrected payment.",
            False: "Reverse the original posting; ask the payer why it was reversed and whether a "
                   "corrected claim will follow."}),
    })
