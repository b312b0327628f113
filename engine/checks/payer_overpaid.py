"""PAYER_OVERPAID: the payer paid more than the contract allows or more than was charged.

Against the contract, the payer's share is the contracted amount less what the remittance itself
assigns to the patient (and legitimate reductions): paying beyond that share is an overpayment
even when the payment is below the contracted total.
"""

from __future__ import annotations

import pandas as pd

from engine.checks._common import (
    claim_fields,
    claim_has_invoice,
    claim_key,
    money,
    remit_claims,
)
from engine.checks._contract import contract_view
from engine.context import Context

TYPE = "PAYER_OVERPAID"
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    tol = ctx.settings.tolerance_cents
    c = claims.loc[claims["effective"].to_numpy(dtype=bool) & claim_has_invoice(ctx),
                   ["claim_index", "paid_cents", "charge_cents"]]
    v = contract_view(ctx)
    if len(v):  # each claim's row in the view; -1 where it was not judged against a contract
        at = pd.Index(v["claim_index"].array).get_indexer(c["claim_index"].array)
        contracted = v["contracted_cents"].array.take(at, allow_fill=True)
        received = v["received_cents"].array.take(at, allow_fill=True)
    else:
        contracted = received = pd.Series(pd.NA, index=c.index, dtype=_INT64)
    c = c.assign(contracted_cents=contracted, received_cents=received)
    over_charge = c["paid_cents"] - c["charge_cents"] > tol
    # payer + patient share above the contract: the payer's part was too large
    over_contract = (c["received_cents"] - c["contracted_cents"] > tol).fillna(False).astype(bool)
    c = c[over_charge | over_contract]
    if c.empty:
        return pd.DataFrame()
    hit = claims.loc[c.index]
    by_charge = over_charge[c.index]
    share = (c["received_cents"] - c["paid_cents"]).fillna(0)
    expected = c["charge_cents"].where(by_charge, c["contracted_cents"] - share).astype(_INT64)
    what = pd.Series("the amount charged", index=c.index).where(
        by_charge, "its share of the contracted amount")
    return pd.DataFrame({
        "type": TYPE, "severity": "medium", "key": claim_key(hit),
        **claim_fields(hit, ctx),
        "expected": expected, "actual": c["paid_cents"],
        "explanation": ("The payer paid " + money(c["paid_cents"]) + " on claim " + hit["claim"]
                        + ", more than " + what + " (" + money(expected) + ")."),
        "action": "Confirm with the payer; expect a recoupment or refund the overpayment.",
    }, index=hit.index, copy=False)
