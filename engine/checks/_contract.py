"""What each paid primary claim received against what the contract says it should have.

Shared by UNDERPAID and PAYER_OVERPAID, which are two sides of one comparison (so it is computed
once per run, see `per_context`). Per claim: contracted = Σ(contract rate × units) over its lines
that were not denied; received = paid + patient responsibility + reductions that are
legitimately below contract (sequestration CO-253 and the `explained_reasons` setting). Claims
with a line whose contract is unknown are not judged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.checks._common import claim_has_invoice, per_context
from engine.context import Context
from engine.positions import cents_or_zero, sum_at

JUDGED_STATUSES = ("1", "19")
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use


@per_context
def contract_view(ctx: Context) -> pd.DataFrame:
    """Per judged claim, indexed like the claims table: claim_index, paid_cents,
    contracted_cents, pr_cents, explained_cents and received_cents (Int64)."""
    claims = ctx.remits.get("claims", pd.DataFrame())
    lines = ctx.remits.get("lines", pd.DataFrame())
    adj = ctx.remits.get("adjustments", pd.DataFrame())
    if claims.empty or lines.empty:
        return pd.DataFrame()
    # sums per claim in numpy, by each row's position in the claims table (-1: no such claim)
    claim_at = pd.Index(claims["claim_index"].array)
    judged = (claims["effective"].to_numpy(dtype=bool)
              & ~claims["denied"].to_numpy(dtype=bool, na_value=True)
              & claim_has_invoice(ctx)
              & claims["status"].isin(JUDGED_STATUSES).to_numpy())
    line_at = claim_at.get_indexer(lines["claim_index"].array)
    counted = ~lines["denied"].to_numpy(dtype=bool) & (line_at >= 0)
    counted[counted] = judged[line_at[counted]]
    contract = lines["contract_cents"].array
    has_lines, unknown = np.zeros(len(claims), dtype=bool), np.zeros(len(claims), dtype=bool)
    has_lines[line_at[counted]] = True
    unknown[line_at[counted & contract.isna()]] = True
    keep = judged & has_lines & ~unknown
    contracted = sum_at(np.where(counted, line_at, -1), cents_or_zero(contract), len(claims))

    explained = {"253", *ctx.settings.explained_reasons}
    adj_at = claim_at.get_indexer(adj["claim_index"].array)
    amount = cents_or_zero(adj["amount_cents"])
    group = adj["group"].to_numpy(dtype=object)  # object arrays compare faster than str columns
    pr = sum_at(np.where(group == "PR", adj_at, -1), amount, len(claims))
    cut = sum_at(np.where((group == "CO") & adj["reason"].isin(explained).to_numpy(dtype=bool),
                          adj_at, -1), amount, len(claims))

    paid = claims["paid_cents"].array[keep]
    pr_cents, explained_cents = pd.array(pr[keep], dtype=_INT64), pd.array(cut[keep], dtype=_INT64)
    return pd.DataFrame({
        "claim_index": claims["claim_index"].array[keep],
        "paid_cents": paid,
        "contracted_cents": pd.array(contracted[keep], dtype=_INT64),
        "pr_cents": pr_cents,
        "explained_cents": explained_cents,
        "received_cents": paid + pr_cents + explained_cents,
    }, index=claims.index[keep], copy=False)
