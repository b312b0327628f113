"""REVERSAL: the payer took back an earlier payment (status 22), once per reversed claim."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.checks._common import (
    claim_fields,
    claim_invoice_at,
    claim_key,
    money,
    remit_claims,
)
from engine.context import Context

TYPE = "REVERSAL"
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    reversal = claims["status"].to_numpy(dtype=object) == "22"  # object arrays compare faster
    rev = claims[reversal]
    if rev.empty:
        return pd.DataFrame()
    # the reversed claim, by its label in the claims table (-1: not among them)
    reversed_at = claims.index.get_indexer(rev["reverses"].array)
    original_paid = pd.Series(claims["paid_cents"].array.take(reversed_at, allow_fill=True),
                              index=rev.index, dtype=_INT64).fillna(-rev["paid_cents"])
    # a correction: a later effective claim with the same claim number, so matched to the same
    # invoice as the reversal (engine.match.remits matches on the number alone): the keys are
    # compared only on the claims of a reversed invoice or of none, not on every claim
    at = claim_invoice_at(ctx)
    near = claims.iloc[np.flatnonzero(claims["effective"].to_numpy(dtype=bool)
                                      & ((at < 0) | np.isin(at, at[reversal])))]
    corr = (near.loc[near["claim_key"].isin(rev["claim_key"]).to_numpy(),
                     ["claim_key", "paid_cents"]]
            .drop_duplicates("claim_key", keep="last"))
    corrected_at = pd.Index(corr["claim_key"].array).get_indexer(rev["claim_key"].array)
    corrected = pd.Series(corr["paid_cents"].array.take(corrected_at, allow_fill=True),
                          index=rev.index, dtype=_INT64)
    has_corr = corrected.notna()
    key_claims = rev.assign(status="22")
    return pd.DataFrame({
        "type": TYPE, "severity": has_corr.map({True: "low", False: "medium"}),
        "key": claim_key(key_claims) + "|" + rev["payer_claim"].fillna("").astype(str),
        **claim_fields(rev, ctx),
        "expected": original_paid, "actual": corrected.fillna(0).astype(_INT64),
        "explanation": ("The payer reversed its payment of " + money(original_paid) + " on claim "
                        + rev["claim"]
                        + (" and re-processed it paying " + money(corrected)).where(has_corr,
                            " and no corrected claim has been received yet") + "."),
        "action": has_corr.map({
            True: "Reverse the original posting and post the corrected payment.",
            False: "Reverse the original posting; ask the payer why it was reversed and whether a "
                   "corrected claim will follow."}),
    }, index=rev.index, copy=False)
