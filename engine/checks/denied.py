"""DENIED: a claim the payer refused (status 4, or paid nothing for a reason other than the
patient's share or a normal contractual cut), or one refused line inside a paid claim."""

from __future__ import annotations

import pandas as pd

from engine.checks._common import (
    claim_fields,
    claim_has_invoice,
    claim_key,
    money,
    remit_claims,
)
from engine.context import Context
from engine.x12.codes import denial_category, reason_text

TYPE = "DENIED"

ACTIONS = {
    "eligibility": "Verify the patient's coverage for the service date, then rebill the right payer or the patient.",
    "authorization": "Obtain the authorization (or proof of it) and submit an appeal or corrected claim.",
    "timely filing": "Find proof of timely submission (clearinghouse report) and appeal; otherwise write off.",
    "medical necessity": "Send the medical records supporting necessity with an appeal.",
    "bundling": "Check coding and modifiers; submit a corrected claim if the service was separately payable.",
    "coordination of benefits": "Bill the primary payer first, or update the patient's other coverage with this payer.",
    "missing information": "Correct the missing or wrong information and resubmit the claim.",
    "duplicate claim": "Check whether the original claim was paid; do not resubmit a duplicate.",
    "non-covered": "Bill the patient if they signed a waiver (ABN); otherwise write off.",
    "other": "Review the denial reason with the payer and appeal or correct as needed.",
}


def _reason(groups: pd.Series, codes: pd.Series) -> pd.Series:
    return pd.Series([reason_text(g, c) if isinstance(c, str) else None
                      for g, c in zip(groups, codes)], index=groups.index, dtype=object)


def _category(codes: pd.Series) -> pd.Series:
    return pd.Series([denial_category(c) if isinstance(c, str) else "other" for c in codes],
                     index=codes.index, dtype=object)


def check(ctx: Context) -> pd.DataFrame:
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    out = []
    c = claims[claims["denied"].to_numpy(dtype=bool, na_value=False) & claim_has_invoice(ctx)]
    if len(c):
        reason = _reason(c["denial_group"], c["denial_reason"])
        cat = _category(c["denial_reason"])
        out.append(pd.DataFrame({
            "type": TYPE, "severity": "high", "key": claim_key(c),
            **claim_fields(c, ctx),
            "expected": c["charge_cents"], "actual": c["paid_cents"],
            "reason": reason,
            "explanation": ("The payer denied claim " + c["claim"] + " (" + money(c["charge_cents"])
                            + ")" + (" for " + cat + " reasons").where(reason.notna(), "")
                            + "; nothing was paid."),
            "action": cat.map(ACTIONS),
        }, index=c.index, copy=False))
    lines = ctx.remits.get("lines", pd.DataFrame())
    if len(lines) and "denied" in lines:
        ln = lines[lines["denied"]]
        ln = ln[ln["invoice_key"].notna()]  # of the few denied lines only
        if len(ln):
            parent = claims.iloc[pd.Index(claims["claim_index"]).get_indexer(ln["claim_index"])]
            parent.index = ln.index
            reason = _reason(ln["denial_group"], ln["denial_reason"])
            cat = _category(ln["denial_reason"])
            fields = claim_fields(parent, ctx)
            fields["source"] = ln["source"]
            fields["source_row"] = ln["segment"]
            fields["service_date"] = ln["service_date"].fillna(fields["service_date"])
            out.append(pd.DataFrame({
                "type": TYPE, "severity": "medium",
                "key": claim_key(parent, "|line|" + ln["cpt"].fillna("").astype(str) + "|"
                                 + ln["modifiers"].fillna("").astype(str) + "|"
                                 + ln["segment"].astype(str)),
                **fields,
                "expected": ln["charge_cents"], "actual": ln["paid_cents"],
                "reason": reason,
                "explanation": ("The payer paid claim " + parent["claim"] + " but denied the "
                                + ln["cpt"].fillna("?") + " line (" + money(ln["charge_cents"])
                                + ") for " + cat + " reasons."),
                "action": cat.map(ACTIONS),
            }, index=ln.index, copy=False))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()
