"""Check a remittance's own arithmetic and turn reading problems into findings.

An 835 must add up at four levels (x12-835.md): each service line (charge − adjustments = paid),
each claim (charge − all its adjustments = paid), the patient's share (CLP05 = the PR
adjustments) and the whole payment (BPR02 = claim payments − provider-level adjustments). When it
does not, posting from that file would put wrong numbers on accounts, so staff need a
REMIT_UNBALANCED finding — never a refused file. Sums are groupby over the flat tables so a
payer file with thousands of claims is checked in milliseconds.

Finding keys are built from trace, claim and level (not the file name), so the same problem seen
in a re-run, or in the same file copied elsewhere, keeps its ID and the staff's notes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.money import money_texts
from engine.positions import cents_or_zero, sum_at
from engine.x12.read import Remit

_ACTION = ("Compare this remittance with the payer's paper or portal EOB and ask the payer for a "
           "corrected remittance before posting it.")
_INT64 = pd.Int64Dtype()  # once: a dtype name costs a registry lookup per use


def _sum_by(owners: pd.Series, cents: pd.Series, rows: pd.Index) -> np.ndarray:
    """Σ `cents` per owner, at each of `rows` (the owning table's own unique indices; 0 where
    there is none), in numpy: a groupby and a reindex cost more than most remittances do."""
    if not len(owners):
        return np.zeros(len(rows), dtype=np.int64)
    return sum_at(rows.get_indexer(owners.array), cents_or_zero(cents), len(rows))


def _differs(expected, actual) -> np.ndarray:
    """Where both amounts are known and differ."""
    return (expected != actual).to_numpy(dtype=bool, na_value=False)


def _key_part(s: pd.Series) -> pd.Series:
    return s.astype("object").where(s.notna(), "").astype(str)


def _claim_keys(claims: pd.DataFrame) -> pd.Series:
    """The key part naming each claim row: trace, claim number and status."""
    return (_key_part(claims["trace_key"]) + "|" + _key_part(claims["claim_key"]) + "|"
            + _key_part(claims["status"]))


def _unique_keys(keys: pd.Series) -> pd.Series:
    """Make repeated keys distinct (#2, #3…) so two real problems never merge into one ID."""
    if keys.is_unique:
        return keys
    n = keys.groupby(keys).cumcount()
    return keys.where(n == 0, keys + "#" + (n + 1).astype(str))


def _findings(rows: pd.DataFrame, severity: str, expected, actual, explanation: pd.Series,
              key: pd.Series) -> pd.DataFrame:
    """The findings for `rows`, with `expected` and `actual` (Int64 arrays) in the same order."""
    return pd.DataFrame({
        "type": "REMIT_UNBALANCED",
        "severity": severity,
        "claim": rows["claim"] if "claim" in rows else None,
        "trace": rows["trace"],
        "payer": rows["payer"],
        "service_date": rows["service_date"] if "service_date" in rows else pd.NaT,
        "expected": pd.Series(expected, index=rows.index, dtype=_INT64),
        "actual": pd.Series(actual, index=rows.index, dtype=_INT64),
        "difference": pd.Series(actual - expected, index=rows.index, dtype=_INT64),
        "reason": None,
        "explanation": explanation,
        "action": _ACTION,
        "source": rows["source"],
        "key": key,
        "source_sheet": rows["file"],
        "source_row": rows["segment"],
    }, index=rows.index, copy=False)


def _amounts(cents: np.ndarray, index: pd.Index) -> pd.Series:
    return money_texts(pd.Series(cents, index=index, dtype=_INT64))


def check_balance(remit: Remit) -> pd.DataFrame:
    """REMIT_UNBALANCED findings for line, claim, patient-responsibility and payment balancing."""
    claims, lines, adj, tx, plb = (remit.claims, remit.lines, remit.adjustments,
                                   remit.transactions, remit.plb)
    claim_rows = pd.Index(claims["claim_index"].array)
    frames = []

    # line: SVC02 − ΣCAS(line) = SVC03
    if len(lines):
        owner = claim_rows.get_indexer(lines["claim_index"].array)
        complete = owner >= 0  # -1: no such claim
        complete[complete] = claims["complete"].to_numpy(dtype=bool)[owner[complete]]
        expected = (lines["charge_cents"].array
                    - _sum_by(adj["line_index"], adj["amount_cents"],
                              pd.Index(lines["line_index"].array)))
        actual = lines["paid_cents"].array
        bad = _differs(expected, actual) & complete
        if bad.any():
            rows = lines[bad].merge(
                claims[["claim_index", "trace", "payer", "service_date"]].rename(
                    columns={"service_date": "claim_service_date"}),
                on="claim_index", how="left").set_index(lines.index[bad])
            rows["service_date"] = rows["service_date"].fillna(rows["claim_service_date"])
            ordinal = lines.groupby("claim_index").cumcount()[bad] + 1
            owners = claims[claims["claim_index"].isin(rows["claim_index"])]
            owner_key = pd.Series(_claim_keys(owners).to_numpy(),
                                  index=owners["claim_index"].to_numpy()).reindex(
                rows["claim_index"].to_numpy()).to_numpy()
            key = (pd.Series(owner_key, index=rows.index).astype(str) + "|line|"
                   + ordinal.astype(str) + "|" + _key_part(rows["cpt_key"]))
            cpt = rows["cpt"].astype("object").where(rows["cpt"].notna(), "without a code")
            explanation = ("Service line " + cpt.astype(str) + " was paid "
                           + _amounts(actual[bad], rows.index) + ", but its charge minus its "
                           "adjustments comes to " + _amounts(expected[bad], rows.index) + ".")
            frames.append(_findings(rows, "medium", expected[bad], actual[bad], explanation, key))

    if len(claims):
        complete = claims["complete"].to_numpy(dtype=bool)
        # claim: CLP03 − ΣCAS(claim and line) = CLP04
        expected = (claims["charge_cents"].array
                    - _sum_by(adj["claim_index"], adj["amount_cents"], claim_rows))
        actual = claims["paid_cents"].array
        bad = _differs(expected, actual) & complete
        if bad.any():
            rows = claims[bad]
            explanation = ("The payer reports paying " + _amounts(actual[bad], rows.index)
                           + " on this claim, but its charge minus its adjustments comes to "
                           + _amounts(expected[bad], rows.index) + ".")
            frames.append(_findings(rows, "medium", expected[bad], actual[bad], explanation,
                                    _claim_keys(rows) + "|claim"))

        # patient responsibility: CLP05 = ΣCAS group PR (reversals exempt; blank CLP05 is 0)
        pr = (adj["group"] == "PR").to_numpy(dtype=bool)
        expected = pd.array(_sum_by(adj["claim_index"][pr], adj["amount_cents"][pr], claim_rows),
                            dtype=_INT64)
        actual = claims["patient_resp_cents"].array.fillna(0)
        bad = (_differs(expected, actual) & complete
               & (claims["status"] != "22").to_numpy(dtype=bool))
        if bad.any():
            rows = claims[bad]
            explanation = ("The claim states a patient share of " + _amounts(actual[bad], rows.index)
                           + ", but its patient-responsibility adjustments add up to "
                           + _amounts(expected[bad], rows.index) + ".")
            frames.append(_findings(rows, "medium", expected[bad], actual[bad], explanation,
                                    _claim_keys(rows) + "|patient_resp"))

    # transaction: BPR02 = ΣCLP04 − ΣPLB
    if len(tx):
        tx_rows = pd.Index(tx["transaction_index"].array)
        claim_paid = _sum_by(claims["transaction_index"], claims["paid_cents"], tx_rows)
        plb_total = _sum_by(plb["transaction_index"], plb["amount_cents"], tx_rows)
        expected = pd.array(claim_paid - plb_total, dtype=_INT64)
        actual = tx["paid_cents"].array
        bad = _differs(expected, actual) & tx["complete"].to_numpy(dtype=bool)
        if bad.any():
            rows = tx[bad]
            explanation = ("The payment total is " + _amounts(actual[bad], rows.index)
                           + ", but the claim payments less the provider-level adjustments come "
                           "to " + _amounts(expected[bad], rows.index) + ".")
            key = _key_part(rows["trace_key"]) + "|" + _key_part(rows["payer_id"]) + "|transaction"
            frames.append(_findings(rows, "high", expected[bad], actual[bad], explanation, key))

    if not frames:
        return _empty()
    out = pd.concat(frames, ignore_index=True)
    out["key"] = _unique_keys(out["key"])
    return out


def problems_to_findings(problems: pd.DataFrame) -> pd.DataFrame:
    """INVALID_ROW findings for what the reader could not read (high when a claim was lost)."""
    if problems is None or not len(problems):
        return _empty()
    p = problems.reset_index(drop=True)
    source = p["source"].astype("object").where(p["source"].notna(), p["file"].astype(object))
    action = p["severity"].map({
        "high": "Ask the payer or clearinghouse for a corrected file; until then this claim "
                "is not reconciled from it.",
    }).fillna("Check this segment in the file; the rest of the file was read normally.")
    key = _unique_keys("835|" + _key_part(p["file"]) + "|" + _key_part(p["segment"]) + "|"
                       + _key_part(p["message"]))
    return pd.DataFrame({
        "type": "INVALID_ROW",
        "severity": p["severity"],
        "claim": p["claim"],
        "trace": p["trace"],
        "explanation": "The remittance file could not be read here: " + p["message"].astype(str)
                       + ".",
        "action": action,
        "source": source,
        "key": key,
        "source_sheet": p["file"],
        "source_row": p["segment"],
    }, index=p.index, copy=False)


def _empty() -> pd.DataFrame:
    cols = ("type", "severity", "claim", "trace", "payer", "expected", "actual", "difference",
            "explanation", "action", "source", "key", "source_sheet", "source_row")
    return pd.DataFrame(columns=list(cols), dtype="object")
