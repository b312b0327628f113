"""UNDERPAID: the payer's payment plus the patient's share falls short of the contract."""

from __future__ import annotations

import pandas as pd

from engine.checks._common import claim_fields, claim_key, money
from engine.checks._contract import contract_view
from engine.context import Context

TYPE = "UNDERPAID"


def check(ctx: Context) -> pd.DataFrame:
    v = contract_view(ctx)
    if v.empty:
        return pd.DataFrame()
    hit = v[v["contracted_cents"] - v["received_cents"] > ctx.settings.tolerance_cents]
    if hit.empty:
        return pd.DataFrame()
    short = hit["contracted_cents"] - hit["received_cents"]
    return pd.DataFrame({
        "type": TYPE, "severity": "medium", "key": claim_key(hit),
        **claim_fields(hit, ctx.invoice_totals),
        "expected": hit["contracted_cents"], "actual": hit["received_cents"],
        "explanation": ("The contract allows " + money(hit["contracted_cents"]) + " for claim "
                        + hit["claim"] + ", but the payer paid " + money(hit["paid_cents"])
                        + " and assigned " + money(hit["pr_cents"]) + " to the patient: "
                        + money(short) + " short."),
        "action": "Send the payer a reimbursement request (or appeal) citing the contracted rate.",
    })
