"""RECOUPMENT: a provider-level takeback (PLB that reduces the payment); interest is not one."""

from __future__ import annotations

import pandas as pd

from engine.checks._common import money
from engine.context import Context

TYPE = "RECOUPMENT"
NAMES = {"WO": "overpayment recovery", "72": "authorized return", "FB": "forwarding balance",
         "CS": "adjustment", "J1": "non-reimbursable", "IR": "tax withholding", "L3": "penalty",
         "50": "late charge", "90": "early payment allowance", "BD": "bad debt adjustment",
         "C5": "temporary allowance", "E3": "withholding", "WU": "unspecified recovery"}


def check(ctx: Context) -> pd.DataFrame:
    plb = ctx.remits.get("plb", pd.DataFrame())
    if plb.empty:
        return pd.DataFrame()
    hit = plb[plb["amount_cents"] > 0]
    if hit.empty:
        return pd.DataFrame()
    what = hit["reason"].map(NAMES).fillna("provider-level adjustment")
    ref = (" (reference " + hit["reference"] + ")").where(hit["reference"].notna(), "")
    return pd.DataFrame({
        "type": TYPE, "severity": "medium",
        "key": (hit["trace_key"].fillna("").astype(str) + "|" + hit["reason"].fillna("").astype(str)
                + "|" + hit["reference"].fillna("").astype(str) + "|" + hit["amount_cents"].astype(str)),
        "trace": hit["trace"], "payer": hit["payer"],
        "reason": hit["reason"] + ": " + what,
        "expected": 0, "actual": -hit["amount_cents"],
        "explanation": ("The payer withheld " + money(hit["amount_cents"]) + " from payment "
                        + hit["trace"].fillna("?") + " as " + what + ref + "."),
        "action": "Find the claim the payer is recovering (see the reference), reverse or adjust "
                  "its posting, and dispute it with the payer if it is wrong.",
        "source": hit["source"], "source_sheet": hit["file"], "source_row": hit["segment"],
    }, index=hit.index, copy=False)
