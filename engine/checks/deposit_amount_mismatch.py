"""DEPOSIT_AMOUNT_MISMATCH: a bank deposit carries an 835's trace, but the amounts differ.

Fires for each trace group `deposit_matches` calls `amount_mismatch` (remittance total and
deposit total differ by more than the tolerance), instead of ERA_WITHOUT_DEPOSIT and
DEPOSIT_WITHOUT_ERA. Expected is the 835 total (transactions with one trace summed), Actual the
deposit total. Severity `high` when the bank received less than the 835 says (money missing),
`medium` when it received more. Source points at the (first) deposit row. Key: the trace key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.checks._common import day_text, deposit_column, money
from engine.context import Context

TYPE = "DEPOSIT_AMOUNT_MISMATCH"
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use


def check(ctx: Context) -> pd.DataFrame:
    m = ctx.deposit_matches
    if m is None or m.empty or "status" not in m:
        return pd.DataFrame()
    hit = m[(m["status"] == "amount_mismatch") & m["deposit_index"].notna()]
    hit = hit.sort_values(["group", "deposit_date"], kind="mergesort").drop_duplicates("group")
    if hit.empty:
        return pd.DataFrame()
    idx = hit["deposit_index"]

    def dep(col: str) -> pd.Series:
        return deposit_column(ctx, idx, col)

    expected = hit["group_remit_cents"].astype(_INT64)
    actual = hit["group_deposit_cents"].astype(_INT64)
    diff = actual - expected
    short = (diff < 0).fillna(False)
    payer = hit["payer"].fillna("the payer").astype(str)
    trace = hit["trace"].fillna("").astype(str)
    dated = (" on " + day_text(hit["payment_date"])).where(hit["payment_date"].notna(), "")
    several_tx = ("(" + hit["transactions"].astype(str) + " transactions) ").where(
        hit["transactions"] > 1, "")
    one_dep = ("the bank deposit with that trace"
               + (" on " + day_text(hit["deposit_date"])).where(hit["deposit_date"].notna(), "")
               + " is ")
    many_dep = hit["deposits"].astype(str) + " bank deposits with that trace total "
    deposit_words = one_dep.where(hit["deposits"] <= 1, many_dep)
    gap = money(diff.abs()) + np.where(short, " less", " more")
    explanation = ("The 835 from " + payer + " with trace " + trace + " " + several_tx + "paid "
                   + money(expected) + dated + ", but " + deposit_words + money(actual) + " ("
                   + gap + ").")
    action = pd.Series(np.where(
        short,
        "Compare the deposit with the 835: look for a bank fee or a payer offset taken from the "
        "EFT, or a deposit typed with the wrong amount; if the bank really received less, call "
        + payer + " with the trace number " + trace + ".",
        "Check the deposit as recorded; if the bank really received more, ask " + payer
        + " what the extra is for (another 835 with trace " + trace + "?) before posting it."),
        index=hit.index)
    return pd.DataFrame({
        "type": TYPE,
        "severity": np.where(short, "high", "medium"),
        "key": "trace|" + hit["trace_key"].astype(str),
        "trace": hit["trace"],
        "payer": hit["payer"],
        "expected": expected,
        "actual": actual,
        "difference": diff,
        "explanation": explanation,
        "action": action,
        "source": dep("source"),
        "source_sheet": dep("sheet"),
        "source_row": dep("row"),
    }, index=hit.index, copy=False)
