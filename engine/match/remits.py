"""Remitted claims → invoices, and what each invoice's remittances add up to.

CLP01 is the claim number the practice sent (the invoice's Claim column, else its invoice
number), so claims join on the normalised key. Service lines join invoice lines by CPT and
modifier, falling back to CPT alone when the payer dropped a modifier, and to SVC06 (the
originally billed code) when the payer recoded the procedure.

A reversal (status 22) cancels an earlier claim with the same claim number and payer claim number;
what remains after pairing are the *effective* claims the checks judge. Money totals need no
pairing: a reversal carries negated amounts, so plain sums are already net.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.settings import Settings

PAID_STATUSES = ("1", "2", "3", "19", "20", "21")
FORWARDED = ("19", "20", "21")
CONTRACTUAL = ("45", "253")  # CO reductions that are a normal part of a paid claim


@dataclass(frozen=True)
class RemitMatch:
    claims: pd.DataFrame  # engine.x12 claims + invoice_key, effective, reversed_by, reverses
    lines: pd.DataFrame  # engine.x12 lines + invoice_key, contract_cents, matched_cpt
    adjustments: pd.DataFrame  # engine.x12 adjustments + invoice_key, effective
    per_invoice: pd.DataFrame  # invoice_key → remit_paid_cents, remit_pr_cents,
    #                            remit_adjusted_cents, remit_charge_cents, denied, forwarded


def _claims_to_invoices(claims: pd.DataFrame, invoices: pd.DataFrame) -> pd.Series:
    by_claim = invoices.dropna(subset=["claim_key"]).drop_duplicates("claim_key").set_index(
        "claim_key")["invoice_key"]
    by_invoice = pd.Series(invoices["invoice_key"].to_numpy(), index=invoices["invoice_key"])
    return claims["claim_key"].map(by_claim).fillna(claims["claim_key"].map(by_invoice))


def _pair_reversals(claims: pd.DataFrame) -> pd.DataFrame:
    """Mark each status-22 claim and the earlier claim it cancels (same number, payer number, charge)."""
    c = claims.assign(reverses=pd.Series(pd.NA, index=claims.index, dtype="Int64"),
                      reversed_by=pd.Series(pd.NA, index=claims.index, dtype="Int64"))
    rev = c[c["status"] == "22"]
    if rev.empty:
        return c
    orig = c[c["status"] != "22"].reset_index(names="orig_label")
    r = rev.reset_index(names="rev_label")
    orig["_pc"] = orig["payer_claim"].fillna("")
    r["_pc"] = r["payer_claim"].fillna("")
    orig["_charge"] = orig["charge_cents"]
    r["_charge"] = -r["charge_cents"]
    pairs = r[["rev_label", "claim_key", "_pc", "_charge", "segment"]].merge(
        orig[["orig_label", "claim_key", "_pc", "_charge", "claim_index"]],
        on=["claim_key", "_pc", "_charge"])
    if pairs.empty:  # payer numbers differ between reversal and original: fall back to claim + charge
        pairs = r[["rev_label", "claim_key", "_charge"]].merge(
            orig[["orig_label", "claim_key", "_charge", "claim_index"]], on=["claim_key", "_charge"])
    # each reversal cancels one original: the earliest not already cancelled
    pairs = pairs.sort_values(["orig_label", "rev_label"], kind="mergesort")
    pairs = pairs.drop_duplicates("rev_label").drop_duplicates("orig_label")
    c.loc[pairs["rev_label"].to_numpy(), "reverses"] = pairs["orig_label"].to_numpy()
    c.loc[pairs["orig_label"].to_numpy(), "reversed_by"] = pairs["rev_label"].to_numpy()
    return c


def _contracts(lines: pd.DataFrame, invoice_lines: pd.DataFrame, fees: pd.DataFrame,
               invoices: pd.DataFrame) -> pd.DataFrame:
    """Contracted amount per remitted line: FeeSchedule(payer, CPT, modifier) × units.

    The invoice's payer (as staff name it in the workbook, like the FeeSchedule) is used, since
    the payer name on an 835 is the payer's legal name. An invoice line's own Expected column wins.
    """
    ln = lines.copy(deep=False)
    ln["code_key"] = ln["cpt_key"]
    recoded = ln["original_cpt"].notna()
    if recoded.any():
        from engine.ids import normalize_key
        ln.loc[recoded, "code_key"] = normalize_key(ln.loc[recoded, "original_cpt"].astype("str"))
    ln["mod_key"] = ln["modifier"].astype("str").str.upper().str.strip().where(ln["modifier"].notna())
    payer = ln["invoice_key"].map(invoices.set_index("invoice_key")["payer_key"])
    ln["payer_key_inv"] = payer
    contract = pd.Series(pd.NA, index=ln.index, dtype="Int64")
    # 1. the invoice line's Expected, by invoice + CPT (+ modifier)
    il = invoice_lines.dropna(subset=["expected_cents", "cpt_key"])
    if len(il):
        il = il.assign(mod_key=il["modifier_key"])
        for keys in (["invoice_key", "code_key", "mod_key"], ["invoice_key", "code_key"]):
            table = (il.rename(columns={"cpt_key": "code_key"})
                     .dropna(subset=keys).drop_duplicates(keys).set_index(keys)["expected_cents"])
            idx = pd.MultiIndex.from_frame(ln[keys].astype("object"))
            found = pd.Series(table.reindex(idx).to_numpy(), index=ln.index).astype("Int64")
            contract = contract.fillna(found)
    # 2. the fee schedule, by payer + CPT (+ modifier), times units
    if len(fees):
        f = fees.assign(mod_key=fees["modifier_key"], code_key=fees["cpt_key"])
        units = ln["units"].fillna(1.0)
        for keys in (["payer_key", "code_key", "mod_key"], ["payer_key", "code_key"]):
            sub = f.dropna(subset=keys)
            if keys[-1] == "code_key":
                sub = sub[sub["mod_key"].isna()] if sub["mod_key"].notna().any() else sub
            table = sub.drop_duplicates(keys).set_index(keys)["expected_cents"]
            probe = ln.assign(payer_key=ln["payer_key_inv"])[keys].astype("object")
            rate = pd.Series(table.reindex(pd.MultiIndex.from_frame(probe)).to_numpy(),
                             index=ln.index).astype("Int64")
            whole_units = np.rint(units.to_numpy() * 100).astype("int64")
            scaled = (rate.astype("Float64") * whole_units / 100).round().astype("Int64")
            contract = contract.fillna(scaled)
    ln["contract_cents"] = contract
    return ln.drop(columns=["code_key", "mod_key", "payer_key_inv"])


def _first_other_reason(adj: pd.DataFrame, by: str) -> pd.DataFrame:
    other = adj[(adj["group"] != "PR") & ~adj["contractual"] & (adj["amount_cents"] > 0)]
    first = other.sort_values("segment", kind="mergesort").drop_duplicates(by)
    return first.set_index(by)[["group", "reason"]]


def _denials(claims: pd.DataFrame, lines: pd.DataFrame, adj: pd.DataFrame):
    """A claim is denied when its status is 4, or it paid nothing for a reason other than the
    patient's share or a normal contractual reduction; a line likewise inside a paid claim."""
    c, ln = claims.copy(deep=False), lines.copy(deep=False)
    reason = _first_other_reason(adj, "claim_index")
    c["denial_group"] = c["claim_index"].map(reason["group"])
    c["denial_reason"] = c["claim_index"].map(reason["reason"])
    zero = c["status"].isin(PAID_STATUSES) & (c["paid_cents"] == 0) & c["denial_reason"].notna()
    c["denied"] = c["effective"] & ((c["status"] == "4") | zero)
    line_adj = adj[adj["line_index"].notna()]
    lreason = _first_other_reason(line_adj, "line_index")
    ln["denial_group"] = ln["line_index"].map(lreason["group"])
    ln["denial_reason"] = ln["line_index"].map(lreason["reason"])
    parent = ln["claim_index"].map(c.set_index("claim_index")["paid_cents"])
    parent_eff = ln["claim_index"].map(c.set_index("claim_index")["effective"]).fillna(False)
    ln["denied"] = (parent_eff.astype(bool) & (parent > 0).fillna(False).astype(bool)
                    & (ln["paid_cents"] == 0).fillna(False).astype(bool)
                    & ln["denial_reason"].notna())
    return c, ln


def match_remits(remit, invoices: pd.DataFrame, invoice_lines: pd.DataFrame,
                 fees: pd.DataFrame, settings: Settings) -> RemitMatch:
    # shallow copies: pandas copies on write, so the 835 tables are never changed
    claims = remit.claims.copy(deep=False)
    claims["invoice_key"] = _claims_to_invoices(claims, invoices)
    claims = _pair_reversals(claims)
    claims["effective"] = (claims["status"] != "22") & claims["reversed_by"].isna()
    lines = remit.lines.copy(deep=False)
    lines["invoice_key"] = lines["claim_index"].map(claims.set_index("claim_index")["invoice_key"])
    lines = _contracts(lines, invoice_lines, fees, invoices)
    adj = remit.adjustments.copy(deep=False)
    eff = claims.set_index("claim_index")["effective"]
    adj["invoice_key"] = adj["claim_index"].map(claims.set_index("claim_index")["invoice_key"])
    adj["effective"] = adj["claim_index"].map(eff).fillna(False).astype(bool)
    explained = set(CONTRACTUAL) | set(settings.explained_reasons)
    adj["contractual"] = ((adj["group"] == "CO") & adj["reason"].isin(explained)) | (
        (adj["group"] == "OA") & (adj["reason"] == "23"))
    claims, lines = _denials(claims, lines, adj)
    return RemitMatch(claims, lines, adj, _per_invoice(claims, adj))


def _per_invoice(claims: pd.DataFrame, adj: pd.DataFrame) -> pd.DataFrame:
    """What the remittances add up to per matched invoice, in the order of their first claim.

    The invoices are numbered once and every figure groups on that number: string keys are
    costly to group. Figures over effective claims or adjustments only sum values masked to 0.
    """
    invoice, keys = pd.factorize(claims["invoice_key"])  # -1: the claim matched no invoice
    effective = claims["effective"].to_numpy(dtype=bool)
    matched = invoice >= 0
    by_claims = pd.DataFrame({
        "paid": claims["paid_cents"].array,
        "charge": claims["charge_cents"].where(effective, 0).array,
        "effective": effective,
        "forwarded": effective & claims["status"].isin(FORWARDED).to_numpy(),
        "not_denied": effective & claims["denied"].eq(False).to_numpy(dtype=bool, na_value=False),
    })[matched].groupby(invoice[matched]).sum()
    claim_at = pd.Index(claims["claim_index"]).get_indexer(adj["claim_index"])  # -1: no claim
    adj_invoice = np.append(invoice, -1)[claim_at]
    amount = adj["amount_cents"].where(adj["effective"], 0)
    by_adj = pd.DataFrame({
        "pr": amount.where(adj["group"] == "PR", 0).array,
        "contractual": amount.where(adj["contractual"], 0).array,
    })[adj_invoice >= 0].groupby(adj_invoice[adj_invoice >= 0]).sum().reindex(
        range(len(keys)), fill_value=0)
    has_effective = by_claims["effective"].to_numpy() > 0
    per_invoice = pd.DataFrame({
        "invoice_key": keys,
        "remit_paid_cents": by_claims["paid"].astype("Int64").array,
        "remit_pr_cents": by_adj["pr"].astype("Int64").array,
        "remit_adjusted_cents": by_adj["contractual"].astype("Int64").array,
        "denied": has_effective & (by_claims["not_denied"].to_numpy() == 0),
        "forwarded": by_claims["forwarded"].to_numpy() > 0,
        "remit_claims": np.bincount(invoice[matched], minlength=len(keys)).astype("int64"),
        "remit_charge_cents": by_claims["charge"].astype("Int64").where(has_effective).array,
    })
    return per_invoice
