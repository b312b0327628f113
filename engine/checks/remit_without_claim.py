"""REMIT_WITHOUT_CLAIM: the payer remitted a claim number no invoice carries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.checks._common import claim_has_invoice, money, remit_claims
from engine.context import Context

TYPE = "REMIT_WITHOUT_CLAIM"


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    hit = claims.iloc[np.flatnonzero(~claim_has_invoice(ctx))]
    hit = hit[hit["claim_key"].notna()]
    hit = hit.drop_duplicates(["trace_key", "claim_key"])
    if hit.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        "type": TYPE, "severity": "medium",
        "key": hit["trace_key"].fillna("").astype(str) + "|" + hit["claim_key"].astype(str),
        "claim": hit["claim"], "trace": hit["trace"], "payer": hit["payer"],
        "service_date": hit["service_date"], "actual": hit["paid_cents"],
        "explanation": ("The payer remitted claim " + hit["claim"] + " (paid "
                        + money(hit["paid_cents"]) + "), but no invoice has that claim number."),
        "action": "Find the visit this claim belongs to and record the claim number on its invoice; "
                  "if it is not ours, return the payment.",
        "source": hit["source"], "source_sheet": hit["file"], "source_row": hit["segment"],
    }, index=hit.index, copy=False)
