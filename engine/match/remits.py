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

from engine.positions import cents_or_zero, equal_pairs, sum_at
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
    # each per_invoice row's and each claim's invoice as a position in the invoices matched
    # against (-1: none): what settling and the checks join on, without hashing the keys again
    per_invoice_at: np.ndarray
    claim_invoice_at: np.ndarray


def _claims_to_invoices(claims: pd.DataFrame,
                        invoices: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each claim's invoice as a position in `invoices` (-1: none): the first invoice whose claim
    key is the claim's, else the invoice whose own key is (invoice keys are unique); and each
    claim's key as a number (0: missing).

    The key columns are numbered together once (plain object arrays factorize fastest), so the
    look-ups are integer ones. An invoice's own key is numbered only where it is not its claim
    key (an invoice without a claim number has its own as claim key): a claim naming it finds it
    by the claim key.
    """
    n_claims, n_invoices = len(claims), len(invoices)
    # missing as None, so the comparison below holds whatever NA the columns carry
    claim_keys = invoices["claim_key"].to_numpy(dtype=object, na_value=None)
    invoice_keys = invoices["invoice_key"].to_numpy(dtype=object, na_value=None)
    own = np.flatnonzero(claim_keys != invoice_keys)
    codes = pd.factorize(np.concatenate([claims["claim_key"].to_numpy(dtype=object), claim_keys,
                                         invoice_keys[own]]))[0] + 1
    claim = codes[:n_claims]  # 0: missing
    by_claim, by_invoice = codes[n_claims:n_claims + n_invoices], codes[n_claims + n_invoices:]
    invoice_of = np.full(codes.max(initial=0) + 1, -1)
    invoice_of[by_invoice] = own
    first = np.flatnonzero(~pd.Series(by_claim).duplicated().to_numpy())  # hashed: no sort
    invoice_of[by_claim[first]] = first  # the claim key wins
    invoice_of[0] = -1
    return invoice_of[claim], claim


def _pair_reversals(claims: pd.DataFrame, claim_code: np.ndarray) -> pd.DataFrame:
    """Mark each status-22 claim and the earlier claim it cancels (same number, payer number, charge).

    Reversals are few: the pairs are found among them and the claims they name, on integer
    numbers of the keys (missing values match each other, as in a merge). `claim_code`: the
    claims' keys as numbers (missing ones alike).
    """
    reverses = pd.Series(pd.NA, index=claims.index, dtype="Int64")
    reversed_by = reverses.copy()
    reversal = (claims["status"] == "22").to_numpy()
    if reversal.any():
        rev = np.flatnonzero(reversal)
        named_by_reversal = np.zeros(claim_code.max() + 1, dtype=bool)
        named_by_reversal[claim_code[rev]] = True
        named = np.flatnonzero(~reversal & named_by_reversal[claim_code])
        rows = np.concatenate([rev, named])
        charge = claims["charge_cents"].array[rows]  # a reversal's is the original's, negated
        charge[:len(rev)] = -charge[:len(rev)]
        claim_code = _codes(claim_code[rows])
        charge_code = _codes(charge)
        same_claim = _combined(claim_code, _codes(claims["payer_claim"].array[rows].fillna("")),
                               charge_code)
        at_rev, at_named = equal_pairs(same_claim[:len(rev)] + 1, same_claim[len(rev):] + 1)
        if not len(at_rev):  # payer numbers differ between reversal and original: claim + charge
            same_claim = _combined(claim_code, charge_code)
            at_rev, at_named = equal_pairs(same_claim[:len(rev)] + 1, same_claim[len(rev):] + 1)
        at_rev, at_named = rev[at_rev], named[at_named]
        label = claims.index.to_numpy()
        # each reversal, in order, cancels one original: the earliest not already cancelled (a
        # claim paid twice and reversed twice is two pairs); the candidate pairs are few
        order = np.lexsort((label[at_named], label[at_rev]))
        pairs: dict[int, int] = {}  # reversal → original
        cancelled: set[int] = set()
        for r, n in zip(at_rev[order].tolist(), at_named[order].tolist()):
            if r not in pairs and n not in cancelled:
                pairs[r] = n
                cancelled.add(n)
        at_rev = np.fromiter(pairs.keys(), dtype=np.intp, count=len(pairs))
        at_named = np.fromiter(pairs.values(), dtype=np.intp, count=len(pairs))
        reverses.iloc[at_rev] = label[at_named]
        reversed_by.iloc[at_named] = label[at_rev]
    return claims.assign(reverses=reverses, reversed_by=reversed_by)


def _codes(values) -> np.ndarray:
    """Values numbered by their distinct ones, missing values too."""
    return pd.factorize(values, use_na_sentinel=False)[0]


def _combined(*codes: np.ndarray) -> np.ndarray:
    """One number per distinct combination of the rows' numbers."""
    combined = codes[0]
    for code in codes[1:]:
        combined = _codes(combined * (code.max(initial=0) + 1) + code)
    return combined


def _key_codes(table: dict[str, pd.Series], probe: dict[str, pd.Series]):
    """Each key column of a table numbered by its distinct values (-1: missing), and the probe's
    values of that key by the same numbers (-1: not in the table): key → (the table's numbers,
    the probe's, how many values). Numbered once, however many look-ups combine the keys."""
    coded = {}
    for key, column in table.items():
        code, values = pd.factorize(column)
        coded[key] = code, pd.Index(values).get_indexer(probe[key]), len(values)
    return coded


def _expected(coded: dict, keys: list[str], rows: np.ndarray, expected):
    """`expected` (a table's expected_cents) in the first of `rows` (positions in the table, none
    missing one of `keys`) with each probe's `keys` (NA when none); `coded`: `_key_codes`.

    The numbers of a row's keys make one integer: integers are cheap to look up, tuples of
    strings are not.
    """
    row = np.zeros(len(rows), dtype="int64")
    at = np.zeros(len(coded[keys[0]][1]), dtype="int64")  # -1: some key is not in the table
    for key in keys:
        code, found, size = coded[key]
        row = row * size + code[rows]
        at = np.where((at < 0) | (found < 0), -1, at * size + found)
    first = ~pd.Index(row).duplicated()
    at = pd.Index(row[first]).get_indexer(at)
    return expected[rows[first]].take(at, allow_fill=True).astype("Int64")


def _contracts(lines: pd.DataFrame, invoice_lines: pd.DataFrame, fees: pd.DataFrame,
               invoices: pd.DataFrame, invoice_at: np.ndarray):
    """Contracted amount per remitted line: FeeSchedule(payer, CPT, modifier) × units.

    The invoice's payer (as staff name it in the workbook, like the FeeSchedule) is used, since
    the payer name on an 835 is the payer's legal name. An invoice line's own Expected column wins.
    `invoice_at`: each line's invoice as a position in `invoices` (-1: none).
    """
    code = lines["cpt_key"]
    recoded = lines["original_cpt"].notna()
    if recoded.any():
        from engine.ids import normalize_key
        code = code.copy()
        code[recoded] = normalize_key(lines["original_cpt"][recoded].astype("str"))
    modifier, modifiers = pd.factorize(lines["modifier"])  # a handful: normalise those
    modifiers = pd.Series(modifiers).astype("str").str.upper().str.strip()
    probe = {"invoice_key": lines["invoice_key"],
             "payer_key": invoices["payer_key"].array.take(invoice_at, allow_fill=True),
             "code_key": code, "mod_key": modifiers.array.take(modifier, allow_fill=True)}
    contract = pd.Series(pd.NA, index=lines.index, dtype="Int64").array
    # 1. the invoice line's Expected, by invoice + CPT (+ modifier)
    il = pd.DataFrame({"invoice_key": invoice_lines["invoice_key"],
                       "code_key": invoice_lines["cpt_key"],
                       "mod_key": invoice_lines["modifier_key"],
                       "expected_cents": invoice_lines["expected_cents"]})
    il = il.dropna(subset=["expected_cents", "code_key"])
    if len(il):
        coded = _key_codes({key: il[key] for key in ("invoice_key", "code_key", "mod_key")}, probe)
        for keys in (["invoice_key", "code_key", "mod_key"], ["invoice_key", "code_key"]):
            rows = np.flatnonzero(np.logical_and.reduce([coded[key][0] >= 0 for key in keys]))
            contract = contract.fillna(_expected(coded, keys, rows, il["expected_cents"].array))
    # 2. the fee schedule, by payer + CPT (+ modifier), times units
    if len(fees):
        coded = _key_codes({"payer_key": fees["payer_key"], "code_key": fees["cpt_key"],
                            "mod_key": fees["modifier_key"]}, probe)
        has_payer_code = (coded["payer_key"][0] >= 0) & (coded["code_key"][0] >= 0)
        has_mod = coded["mod_key"][0] >= 0
        whole_units = np.rint(lines["units"].fillna(1.0).to_numpy() * 100).astype("int64")
        for keys in (["payer_key", "code_key", "mod_key"], ["payer_key", "code_key"]):
            rows = has_payer_code & has_mod
            if keys[-1] == "code_key":
                rows = has_payer_code & ~has_mod if rows.any() else has_payer_code
            rate = _expected(coded, keys, np.flatnonzero(rows), fees["expected_cents"].array)
            scaled = (rate.astype("Float64") * whole_units / 100).round().astype("Int64")
            contract = contract.fillna(scaled)
    return contract


def _first_other_reason(reasons: pd.DataFrame, by: str, of: pd.Series):
    """(group, reason) of the first of `reasons` for each of `of`: `of.map` of each column, but
    text columns (as the 835 reader gives them) take one look-up of `of` for both."""
    first = reasons.drop_duplicates(by).set_index(by)
    if not all(isinstance(first[c].dtype, pd.StringDtype) for c in ("group", "reason")):
        return of.map(first["group"]), of.map(first["reason"])
    at = first.index.get_indexer(of)  # -1: no such reason, missing as Series.map leaves it
    return tuple(pd.Series(first[c].array.take(at, allow_fill=True), index=of.index, name=of.name)
                 for c in ("group", "reason"))


def _denials(claims: pd.DataFrame, lines: pd.DataFrame, adj: pd.DataFrame,
             line_claim: np.ndarray):
    """A claim is denied when its status is 4, or it paid nothing for a reason other than the
    patient's share or a normal contractual reduction; a line likewise inside a paid claim.

    `line_claim`: each line's claim as a position in `claims` (-1: none).
    """
    c, ln = claims.copy(deep=False), lines.copy(deep=False)
    not_pr = adj["group"].to_numpy(dtype=object) != "PR"
    other = (not_pr & ~adj["contractual"].to_numpy(dtype=bool)
             & (adj["amount_cents"] > 0).to_numpy(dtype=bool, na_value=False))
    reasons = adj.loc[other, ["segment", "claim_index", "line_index", "group", "reason"]]
    reasons = reasons.sort_values("segment", kind="mergesort")
    c["denial_group"], c["denial_reason"] = _first_other_reason(reasons, "claim_index",
                                                                c["claim_index"])
    zero = c["status"].isin(PAID_STATUSES) & (c["paid_cents"] == 0) & c["denial_reason"].notna()
    c["denied"] = c["effective"] & ((c["status"] == "4") | zero)
    ln["denial_group"], ln["denial_reason"] = _first_other_reason(
        reasons[reasons["line_index"].notna()], "line_index", ln["line_index"])
    paid_claim = c["effective"].to_numpy(dtype=bool) & (c["paid_cents"] > 0).to_numpy(
        dtype=bool, na_value=False)
    ln["denied"] = (np.append(paid_claim, False)[line_claim]
                    & (ln["paid_cents"] == 0).to_numpy(dtype=bool, na_value=False)
                    & ln["denial_reason"].notna().to_numpy())
    return c, ln


def match_remits(remit, invoices: pd.DataFrame, invoice_lines: pd.DataFrame,
                 fees: pd.DataFrame, settings: Settings) -> RemitMatch:
    # shallow copies: pandas copies on write, so the 835 tables are never changed
    claims = remit.claims.copy(deep=False)
    invoice_keys = invoices["invoice_key"].array
    # positions in invoices (-1: none), the claim keys as numbers
    claim_invoice, claim_code = _claims_to_invoices(claims, invoices)
    claims["invoice_key"] = invoice_keys.take(claim_invoice, allow_fill=True)
    claims = _pair_reversals(claims, claim_code)
    claims["effective"] = (claims["status"] != "22") & claims["reversed_by"].isna()
    # each line's and adjustment's claim as a position in claims (-1: none): its invoice and flags
    claim_at = pd.Index(claims["claim_index"])
    lines = remit.lines.copy(deep=False)
    line_claim = claim_at.get_indexer(lines["claim_index"])
    claim_invoice_or_none = np.append(claim_invoice, -1)  # position -1: no claim, no invoice
    line_invoice = claim_invoice_or_none[line_claim]
    lines["invoice_key"] = invoice_keys.take(line_invoice, allow_fill=True)
    lines["contract_cents"] = _contracts(lines, invoice_lines, fees, invoices, line_invoice)
    adj = remit.adjustments.copy(deep=False)
    adj_claim = claim_at.get_indexer(adj["claim_index"])
    adj["invoice_key"] = invoice_keys.take(claim_invoice_or_none[adj_claim], allow_fill=True)
    adj["effective"] = np.append(claims["effective"].to_numpy(dtype=bool), False)[adj_claim]
    explained = set(CONTRACTUAL) | set(settings.explained_reasons)
    group, reason = adj["group"].to_numpy(dtype=object), adj["reason"].to_numpy(dtype=object)
    adj["contractual"] = ((group == "CO") & adj["reason"].isin(explained).to_numpy()) | (
        (group == "OA") & (reason == "23"))  # object arrays compare faster than str columns
    claims, lines = _denials(claims, lines, adj, line_claim)  # claims keep their rows and order
    per_invoice, per_invoice_at = _per_invoice(claims, adj, adj_claim, claim_invoice, invoice_keys)
    return RemitMatch(claims, lines, adj, per_invoice, per_invoice_at, claim_invoice)


def _per_invoice(claims: pd.DataFrame, adj: pd.DataFrame, adj_claim: np.ndarray,
                 claim_invoice: np.ndarray, invoice_keys) -> tuple[pd.DataFrame, np.ndarray]:
    """What the remittances add up to per matched invoice, in the order of their first claim, and
    those invoices as positions in `invoice_keys`.

    The invoices are numbered once and every figure sums on that number: string keys are costly
    to group. Figures over effective claims or adjustments only sum values masked to 0; missing
    amounts count as 0, as in a pandas sum.
    `adj_claim`: each adjustment's claim as a position in `claims`, `claim_invoice`: each claim's
    invoice as a position in `invoice_keys` (-1: none).
    """
    matched = claim_invoice >= 0
    invoice = np.full(len(claims), -1)  # invoices numbered in the order of their first claim
    invoice[matched], first = pd.factorize(claim_invoice[matched])
    keys = invoice_keys.take(first)
    size = len(keys)
    effective = claims["effective"].to_numpy(dtype=bool)
    has_effective = sum_at(invoice, effective, size) > 0
    not_denied = effective & claims["denied"].eq(False).to_numpy(dtype=bool, na_value=False)
    forwarded = effective & claims["status"].isin(FORWARDED).to_numpy()
    charge = np.where(effective, cents_or_zero(claims["charge_cents"]), 0)
    adj_invoice = np.append(invoice, -1)[adj_claim]
    amount = np.where(adj["effective"].to_numpy(dtype=bool), cents_or_zero(adj["amount_cents"]), 0)
    pr = adj["group"].to_numpy(dtype=object) == "PR"
    contractual = adj["contractual"].to_numpy(dtype=bool)
    return pd.DataFrame({
        "invoice_key": keys,
        "remit_paid_cents": pd.array(sum_at(invoice, cents_or_zero(claims["paid_cents"]), size),
                                     dtype="Int64"),
        "remit_pr_cents": pd.array(sum_at(adj_invoice, np.where(pr, amount, 0), size),
                                   dtype="Int64"),
        "remit_adjusted_cents": pd.array(
            sum_at(adj_invoice, np.where(contractual, amount, 0), size), dtype="Int64"),
        "denied": has_effective & (sum_at(invoice, not_denied, size) == 0),
        "forwarded": sum_at(invoice, forwarded, size) > 0,
        "remit_claims": np.bincount(invoice[matched], minlength=size).astype("int64"),
        "remit_charge_cents": pd.Series(sum_at(invoice, charge, size), dtype="Int64")
        .where(has_effective).array,
    }), first
