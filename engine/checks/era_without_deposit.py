"""ERA_WITHOUT_DEPOSIT: an 835 says money was sent, but no bank deposit carries its trace.

Fires for every money-moving remittance trace group that `deposit_matches` calls `remit_only`
(notification-only 835s never get here, and a trace whose deposit has another amount is a
DEPOSIT_AMOUNT_MISMATCH instead). How urgent depends on how long ago the payer paid (BPR16),
because money takes a while to arrive:

- EFT/ACH (and anything not a check): usually in the bank within 1–3 business days. Paid fewer
  than 3 days before the run date → `info` ("may still be on its way": reported so the ID and
  staff notes already exist, but nothing to do yet); 3–5 days (a weekend or holiday can add two)
  → `low`; more than 5 days → `high`.
- Paper check (BPR04 `CHK`): mail and the office's own deposit run take longer. Under 10 days →
  `info`; 10–21 days → `low`; beyond → `high`.
- No payment date → `medium`.

Only remittances the bank records can speak about are checked: with no Deposits rows at all
there is nothing to compare with (no finding), and a remittance paid before the first deposit on
record falls outside the statement staff pasted (no finding either).

When a Deposits row that could not be read (left out, with its own INVALID_ROW finding) names
the trace, the deposit is not missing but waiting to be corrected: the finding says which row,
and the action is to correct it rather than to chase the payer.

Key: the trace key (stable whatever else is in the run); a transaction without a trace is keyed
by its place in its file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.checks._common import day_text, money
from engine.context import Context

TYPE = "ERA_WITHOUT_DEPOSIT"
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use

IN_FLIGHT_DAYS = 3
HIGH_AFTER_DAYS = 5
CHECK_IN_FLIGHT_DAYS = 10
CHECK_HIGH_AFTER_DAYS = 21


def check(ctx: Context) -> pd.DataFrame:
    m = ctx.deposit_matches
    if m is None or m.empty or "status" not in m:
        return pd.DataFrame()
    deposits = ctx.table("Deposits")
    if deposits.empty or "date" not in deposits:
        return pd.DataFrame()
    hit = m[m["status"] == "remit_only"].drop_duplicates("group")
    first_deposit = pd.to_datetime(deposits["date"], errors="coerce").min()
    if pd.notna(first_deposit):
        hit = hit[~(hit["payment_date"] < first_deposit.normalize())]
    if hit.empty:
        return pd.DataFrame()
    tx = ctx.remits.get("transactions", pd.DataFrame()) if ctx.remits else pd.DataFrame()
    source = (hit["transaction_index"].map(tx["source"]) if "source" in tx
              else pd.Series(None, index=hit.index, dtype=object))
    is_check = hit["method"].fillna("").astype(str).str.upper().eq("CHK")
    in_flight = np.where(is_check, CHECK_IN_FLIGHT_DAYS, IN_FLIGHT_DAYS)
    high_after = np.where(is_check, CHECK_HIGH_AFTER_DAYS, HIGH_AFTER_DAYS)
    days = (ctx.as_of - hit["payment_date"]).dt.days
    severity = pd.Series(np.select([days.isna().to_numpy(), (days < in_flight).to_numpy(),
                                    (days <= high_after).to_numpy()],
                                   ["medium", "info", "low"], "high"),
                         index=hit.index, dtype=object)

    payer = hit["payer"].fillna("the payer").astype(str)
    trace = hit["trace"].fillna("").astype(str)
    with_trace = (" with trace " + trace).where(trace != "", " without a trace number")
    several = ("(" + hit["transactions"].astype(str) + " transactions) ").where(
        hit["transactions"] > 1, "")
    dated = (" on " + day_text(hit["payment_date"])).where(hit["payment_date"].notna(), "")
    what = np.where(is_check, "check", "deposit")
    amount = money(hit["group_remit_cents"]).replace("", "an unreadable amount")
    missing = pd.Series(np.where(trace != "", ", but no bank " + what
                                 + " with that trace was found",
                                 ", but without a trace no bank " + what + " can be tied to it"),
                        index=hit.index)
    paid = "The 835 from " + payer + with_trace + " " + several + "paid " + amount + dated
    sentence = paid + missing
    recent = severity == "info"
    when = "the money may still be on its way."
    due = day_text(hit["payment_date"]
                   + pd.to_timedelta(pd.Series(in_flight, index=hit.index), unit="D"))
    explanation = (sentence + np.where(recent, "; it was paid only "
                                       + days.fillna(0).astype(np.int64).astype(str)
                                       + " day(s) ago, so " + when, "."))
    ref = np.where(trace != "", " with the trace number " + trace, "")
    action_check = ("Check whether this check arrived and was deposited; if it never came, ask "
                    + payer + " to reissue it" + ref + ".")
    action_eft = ("Check the bank statement for this EFT; if it never arrived, call " + payer
                  + ref + ".")
    action = pd.Series(np.where(is_check, action_check, action_eft), index=hit.index)
    action = action.where(~recent, "Nothing to do yet: look for the deposit on the bank statement "
                          "after " + due + "; if it is still missing then, call " + payer + ref
                          + ".")
    if len(ctx.waiting_deposits):
        row = hit["trace_key"].map(ctx.waiting_deposits.set_index("trace_key")["source"])
        waiting = row.notna()
        explanation = explanation.where(
            ~waiting, paid + "; its " + what + " is on " + row + ", which could not be read "
            "and was left out.")
        action = action.where(~waiting, "Correct " + row + " (see its INVALID_ROW finding) and "
                              "run again: the deposit then matches this 835.")
    key = ("trace|" + hit["trace_key"].astype(str)).where(
        hit["trace_key"].notna(), "source|" + source.fillna(hit["group"]).astype(str))
    return pd.DataFrame({
        "type": TYPE,
        "severity": severity,
        "key": key,
        "trace": hit["trace"],
        "payer": hit["payer"],
        "expected": hit["group_remit_cents"],
        "actual": pd.Series(0, index=hit.index, dtype=_INT64),
        "explanation": explanation,
        "action": action,
        "source": source,
        "source_sheet": None,
        "source_row": pd.NA,
    }, index=hit.index, copy=False)
