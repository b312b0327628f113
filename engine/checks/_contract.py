"""What each paid primary claim received against what the contract says it should have.

Shared by UNDERPAID and PAYER_OVERPAID, which are two sides of one comparison (so it is computed
once per run, see `per_context`). Per claim: contracted = Σ(contract rate × units) over its lines
that were not denied; received = paid + patient responsibility + reductions that are
legitimately below contract (sequestration CO-253 and the `explained_reasons` setting). Claims
with a line whose contract is unknown are not judged.
"""

from __future__ import annotations

import pandas as pd

from engine.checks._common import per_context
from engine.context import Context

JUDGED_STATUSES = ("1", "19")


@per_context
def contract_view(ctx: Context) -> pd.DataFrame:
    """Per judged claim, indexed like the claims table: claim_index, paid_cents,
    contracted_cents, pr_cents, explained_cents and received_cents (Int64)."""
    claims = ctx.remits.get("claims", pd.DataFrame())
    lines = ctx.remits.get("lines", pd.DataFrame())
    adj = ctx.remits.get("adjustments", pd.DataFrame())
    if claims.empty or lines.empty:
        return pd.DataFrame()
    c = claims.loc[claims["effective"] & ~claims["denied"] & claims["invoice_key"].notna()
                   & claims["status"].isin(JUDGED_STATUSES), ["claim_index", "paid_cents"]]
    ln = lines.loc[lines["claim_index"].isin(c["claim_index"]) & ~lines["denied"],
                   ["claim_index", "contract_cents"]]
    unknown = ln["claim_index"][ln["contract_cents"].isna()].unique()
    ln = ln[~ln["claim_index"].isin(unknown)]
    contracted = ln.groupby("claim_index")["contract_cents"].sum()
    explained = {"253", *ctx.settings.explained_reasons}
    a = adj.loc[adj["claim_index"].isin(contracted.index),
                ["claim_index", "group", "reason", "amount_cents"]]
    pr = a[a["group"] == "PR"].groupby("claim_index")["amount_cents"].sum()
    cut = a[(a["group"] == "CO") & a["reason"].isin(explained)].groupby("claim_index")["amount_cents"].sum()
    v = c[c["claim_index"].isin(contracted.index)]
    v = v.assign(contracted_cents=v["claim_index"].map(contracted).astype("Int64"),
                 pr_cents=v["claim_index"].map(pr).fillna(0).astype("Int64"),
                 explained_cents=v["claim_index"].map(cut).fillna(0).astype("Int64"))
    return v.assign(received_cents=(v["paid_cents"] + v["pr_cents"] + v["explained_cents"])
                    .astype("Int64"))
