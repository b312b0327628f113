"""DEPOSIT_WITHOUT_ERA: money reached the bank that no remittance and no posting explains.

Fires for each deposit `deposit_matches` calls `deposit_only`: it names no remitted trace, and
no posting of its reference nor a day's batch of postings of one method adds up to it (see
engine.match.deposits). Deposits without an amount (an unreadable cell is already an
INVALID_ROW) or of zero are left out. Actual is the deposit amount; Source is its row.

Key: deposit date + amount + the normalised description, plus an occurrence number when the
same three repeat — so inserting or sorting rows in the Deposits sheet keeps the ID.
"""

from __future__ import annotations

import pandas as pd

from engine.checks._common import day_text, deposit_column, money
from engine.context import Context
from engine.ids import normalize_key

TYPE = "DEPOSIT_WITHOUT_ERA"
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use


def check(ctx: Context) -> pd.DataFrame:
    m = ctx.deposit_matches
    if m is None or m.empty or "status" not in m:
        return pd.DataFrame()
    hit = m[(m["status"] == "deposit_only") & m["deposit_index"].notna()
            & m["deposit_cents"].notna() & (m["deposit_cents"] != 0)]
    if hit.empty:
        return pd.DataFrame()
    idx = hit["deposit_index"]

    def dep(col: str) -> pd.Series:
        return deposit_column(ctx, idx, col)

    reference = dep("reference").astype(object)
    ref_key = normalize_key(reference.where(reference.notna(), "").astype(str)).fillna("")
    date = day_text(hit["deposit_date"])
    amount = hit["deposit_cents"].astype(_INT64)
    base = date + "|" + amount.astype(str) + "|" + ref_key.astype(str)
    row = dep("row")
    order = pd.DataFrame({"base": base, "row": row}).sort_values(
        ["base", "row"], kind="mergesort")
    nth = order.groupby("base", sort=False).cumcount().reindex(hit.index)
    key = base + ("|" + (nth + 1).astype(str)).where(nth > 0, "")

    trace = hit["trace"].astype(object)
    dated = (" on " + date).where(hit["deposit_date"].notna(), "")
    desc = reference.fillna("").astype(str).str.slice(0, 60)
    said = (" (\u201c" + desc + "\u201d)").where(desc != "", "")
    named = (" with trace " + trace.fillna("").astype(str)).where(trace.notna(), said)
    explanation = ("The bank deposit of " + money(amount) + dated + named
                   + " matches no 835 remittance and no posted payment.")
    action = ("Ask the payer or clearinghouse for the 835 with trace "
              + trace.fillna("").astype(str)
              + " and load it; if the money is not ours, tell the bank.").where(
        trace.notna(),
        "Find out what this deposit is: post the payments it contains, or, if it is an "
        "insurance payment, get its 835 from the payer.")
    return pd.DataFrame({
        "type": TYPE,
        "severity": "medium",
        "key": "deposit|" + key,
        "trace": trace,
        "payer": hit["payer"],
        "actual": amount,
        "explanation": explanation,
        "action": action,
        "source": dep("source"),
        "source_sheet": dep("sheet"),
        "source_row": row,
    }, index=hit.index, copy=False)
