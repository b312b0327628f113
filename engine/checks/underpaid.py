"""UNDERPAID: the payer's payment plus the patient's share falls short of the contract."""

from __future__ import annotations

import pandas as pd

from engine.checks._common import claim_fields, claim_key, money
from engine.checks._contract import contract_view
from engine.context import Context

TYPE = "UNDERPAID"


def check(ctx: Context) -> pd.DataFrame:
    view = contract_view(ctx)
    if view.empty:
        return pd.DataFrame()
    v = view[view["contracted_cents"] - view["received_cents"] > ctx.settings.tolerance_cents]
    if v.empty:
        return pd.DataFrame()
    hit = ctx.remits["claims"].loc[v.index]
    short = v["contracted_cents"] - v["received_cents"]
    return pd.DataFrame({
        "type": TYPE, "severity": "medium", "key": claim_key(hit),
        **claim_fields(hit, ctx),
        "expected": v["contracted_cents"], "actual": v["received_cents"],
        "explanation": ("The contract allows " + money(v["contracted_cents"]) + " for claim "
                        + hit["claim"] + ", but the payer paid " + money(hit["paid_cents"])
                        + " and assigned " + money(v["pr_cents"]) + " to the patient: "
                        + money(short) + " short."),
        "action": "Send the payer a reimbursement request (or appeal) citing the contracted rate.",
    }, index=hit.index, copy=False)
