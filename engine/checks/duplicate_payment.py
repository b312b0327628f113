"""DUPLICATE_PAYMENT: the same money recorded twice.

Same payer, same amount, same reference and the same invoice or claim (normalise.prepare_payments
marks the second and later postings). One EFT paying several claims of equal amount is normal and
is not a duplicate, because the claims differ. The duplicate posting is left out of balances so
that the invoice is not also reported as overpaid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.checks._common import (
    claim_fields,
    claim_invoice_at,
    claim_key,
    money,
    payment_fields,
    remit_claims,
)
from engine.context import Context
from engine.positions import shares_number

TYPE = "DUPLICATE_PAYMENT"


def check(ctx: Context) -> pd.DataFrame:
    frames = [_posted_twice(ctx), _remitted_twice(ctx)]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _remitted_twice(ctx: Context) -> pd.DataFrame:
    """One claim paid twice by the same payer in different remittances, neither reversed."""
    claims = remit_claims(ctx)
    if claims.empty:
        return pd.DataFrame()
    # only a claim number that is paid more than once can be paid twice, and the claims of one
    # number are matched to one invoice (engine.match.remits matches on the number alone): the
    # key texts are numbered only where the invoice repeats or there is none, and the rest of the
    # work is done on the claims whose number repeats
    paid = np.flatnonzero(claims["effective"].to_numpy(dtype=bool)
                          & (claims["paid_cents"] > 0).to_numpy(dtype=bool, na_value=False))
    invoice = claim_invoice_at(ctx)[paid]  # -1: none
    paid = paid[(invoice < 0) | shares_number(invoice)]
    code = pd.factorize(claims["claim_key"].array[paid])[0]  # -1: no claim number
    paid = paid[shares_number(code)]
    paid = claims.iloc[paid][["transaction_index", "segment", "claim_key", "payer_key", "status",
                              "trace_key", "trace"]]
    paid = paid.sort_values(["transaction_index", "segment"], kind="mergesort")
    same = ["claim_key", "payer_key", "status"]
    repeated = paid.duplicated(same, keep="first")
    if not repeated.any():
        return pd.DataFrame()
    first_trace_key = paid.groupby(same)["trace_key"].transform("first")
    again = paid[repeated & (paid["trace_key"] != first_trace_key)]
    if again.empty:
        return pd.DataFrame()
    first = paid.drop_duplicates(same).set_index(same)
    idx = pd.MultiIndex.from_frame(again[same].astype(object))
    second = claims.loc[again.index]
    first_trace = pd.Series(first["trace"].reindex(idx).to_numpy(), index=second.index)
    return pd.DataFrame({
        "type": TYPE, "severity": "high", "key": claim_key(second, "|twice"),
        **claim_fields(second, ctx),
        "expected": second["paid_cents"], "actual": second["paid_cents"] * 2,
        "explanation": ("Claim " + second["claim"] + " was paid " + money(second["paid_cents"])
                        + " in remittance " + second["trace"].fillna("?") + " after already being paid in "
                        + first_trace.fillna("an earlier remittance") + "."),
        "action": "Expect the payer to recoup the second payment; post it as a credit until then "
                  "or refund it.",
    }, index=second.index, copy=False)


def _posted_twice(ctx: Context) -> pd.DataFrame:
    p = ctx.payments
    if p.empty:
        return pd.DataFrame()
    duplicate = p["duplicate"]
    if not duplicate.any():
        return pd.DataFrame()
    # only a posting of the same amount on the same invoice or claim can be the original of a
    # duplicate: the other postings are left out before anything is built from them
    amount = p["amount_cents"]
    same_amount = p.loc[duplicate | amount.isin(amount[duplicate]),
                        ["invoice_key", "claim_key", "duplicate"]]
    target = same_amount["invoice_key"].fillna(same_amount["claim_key"])
    repeat = same_amount["duplicate"].to_numpy()
    kept = repeat | target.isin(target[repeat]).to_numpy()
    candidates = p.loc[same_amount.index[kept],
                       ["payer_key", "amount_cents", "reference_key", "date", "row", "payment",
                        "source"]]
    same = ["_payer", "_amount", "_ref", "_target"]
    group = pd.DataFrame({"_payer": candidates["payer_key"].fillna(""),
                          "_amount": candidates["amount_cents"],
                          "_ref": candidates["reference_key"],
                          "_target": target[kept],
                          **{name: candidates[name]
                             for name in ("date", "row", "payment", "source")}},
                         index=candidates.index, copy=False)
    again = repeat[kept]
    originals = (group[~again].sort_values(["date", "row"], kind="mergesort")
                 .drop_duplicates(same))
    repeats = group.loc[again, same]
    first = repeats.merge(originals[same + ["payment", "source"]], on=same, how="left")
    d = p[duplicate].assign(**repeats, payment_first=first["payment"].to_numpy(),
                            source_first=first["source"].to_numpy())
    return pd.DataFrame({
        "type": TYPE,
        "severity": "high",
        "key": d["_payer"] + "|" + d["_ref"].astype(str) + "|" + d["_target"].astype(str) + "|"
               + d["_amount"].astype(str) + "|" + d["row"].astype(str),
        **payment_fields(d),
        "invoice": d["invoice"],
        "claim": d["claim"],
        "expected": d["amount_cents"],
        "actual": d["amount_cents"] * 2,
        "explanation": ("Payment " + d["payment"] + " (" + money(d["amount_cents"])
                        + ", reference " + d["reference"].fillna("") + ") repeats "
                        + d["payment_first"].fillna("an earlier payment") + " ("
                        + d["source_first"].fillna("") + ") on the same invoice."),
        "action": "If the money arrived once, void the second posting; if it arrived twice, "
                  "refund or re-apply the extra payment.",
    }, index=d.index, copy=False)
