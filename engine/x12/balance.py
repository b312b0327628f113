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

import pandas as pd

from engine.money import money_texts
from engine.x12.read import Remit

_ACTION = ("Compare this remittance with the payer's paper or portal EOB and ask the payer for a "
           "corrected remittance before posting it.")


def _sum_by(df: pd.DataFrame, key: str, index: pd.Series) -> pd.Series:
    """Sum of amount_cents per `key`, aligned to `index` values (0 where there is none)."""
    if len(df):
        sums = df.groupby(key)["amount_cents"].sum()
    else:
        sums = pd.Series([], dtype="Int64")
    return pd.Series(sums.reindex(index.to_numpy()).fillna(0).to_numpy(),
                     index=index.index).astype("Int64")


def _key_part(s: pd.Series) -> pd.Series:
    return s.astype("object").where(s.notna(), "").astype(str)


def _claim_keys(claims: pd.DataFrame) -> pd.Series:
    """The key part naming each claim row: trace, claim number and status."""
    return (_key_part(claims["trace_key"]) + "|" + _key_part(claims["claim_key"]) + "|"
            + _key_part(claims["status"]))


def _unique_keys(keys: pd.Series) -> pd.Series:
    """Make repeated keys distinct (#2, #3…) so two real problems never merge into one ID."""
    n = keys.groupby(keys).cumcount()
    return keys.where(n == 0, keys + "#" + (n + 1).astype(str))


def _findings(rows: pd.DataFrame, level: str, severity: str, expected: pd.Series,
              actual: pd.Series, explanation: pd.Series, key: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({
        "type": "REMIT_UNBALANCED",
        "severity": severity,
        "claim": rows["claim"] if "claim" in rows else None,
        "trace": rows["trace"],
        "payer": rows["payer"],
        "service_date": rows["service_date"] if "service_date" in rows else pd.NaT,
        "expected": expected.astype("Int64"),
        "actual": actual.astype("Int64"),
        "difference": (actual - expected).astype("Int64"),
        "reason": None,
        "explanation": explanation,
        "action": _ACTION,
        "source": rows["source"],
        "key": key,
        "source_sheet": rows["file"],
        "source_row": rows["segment"],
        "level": level,
    }, index=rows.index)




def check_balance(remit: Remit) -> pd.DataFrame:
    """REMIT_UNBALANCED findings for line, claim, patient-responsibility and payment balancing."""
    claims, lines, adj, tx, plb = (remit.claims, remit.lines, remit.adjustments,
                                   remit.transactions, remit.plb)
    frames = []

    # line: SVC02 − ΣCAS(line) = SVC03
    if len(lines):
        line_adj = adj.loc[adj["line_index"].notna(), ["line_index", "amount_cents"]]
        complete = lines["claim_index"].map(
            pd.Series(claims["complete"].to_numpy(), index=claims["claim_index"].to_numpy()))
        expected = lines["charge_cents"] - _sum_by(line_adj, "line_index", lines["line_index"])
        actual = lines["paid_cents"]
        bad = (expected != actual).fillna(False) & complete.fillna(False).astype(bool)
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
                           + money_texts(actual[bad]) + ", but its charge minus its adjustments "
                           "comes to " + money_texts(expected[bad]) + ".")
            frames.append(_findings(rows, "line", "medium", expected[bad], actual[bad],
                                    explanation, key))

    if len(claims):
        # claim: CLP03 − ΣCAS(claim and line) = CLP04
        expected = claims["charge_cents"] - _sum_by(adj, "claim_index", claims["claim_index"])
        actual = claims["paid_cents"]
        bad = (expected != actual).fillna(False) & claims["complete"]
        if bad.any():
            explanation = ("The payer reports paying " + money_texts(actual[bad]) + " on this claim, "
                           "but its charge minus its adjustments comes to "
                           + money_texts(expected[bad]) + ".")
            frames.append(_findings(claims[bad], "claim", "medium", expected[bad], actual[bad],
                                    explanation, _claim_keys(claims[bad]) + "|claim"))

        # patient responsibility: CLP05 = ΣCAS group PR (reversals exempt; blank CLP05 is 0)
        pr = adj.loc[adj["group"] == "PR", ["claim_index", "amount_cents"]]
        expected = _sum_by(pr, "claim_index", claims["claim_index"])
        actual = claims["patient_resp_cents"].fillna(0)
        bad = ((expected != actual).fillna(False) & claims["complete"]
               & (claims["status"] != "22"))
        if bad.any():
            explanation = ("The claim states a patient share of " + money_texts(actual[bad])
                           + ", but its patient-responsibility adjustments add up to "
                           + money_texts(expected[bad]) + ".")
            frames.append(_findings(claims[bad], "patient_resp", "medium", expected[bad],
                                    actual[bad], explanation,
                                    _claim_keys(claims[bad]) + "|patient_resp"))

    # transaction: BPR02 = ΣCLP04 − ΣPLB
    if len(tx):
        paid = pd.Series(claims.groupby("transaction_index")["paid_cents"].sum()
                         if len(claims) else pd.Series([], dtype="Int64"))
        claim_paid = pd.Series(paid.reindex(tx["transaction_index"].to_numpy()).fillna(0)
                               .to_numpy(), index=tx.index).astype("Int64")
        expected = claim_paid - _sum_by(plb, "transaction_index", tx["transaction_index"])
        actual = tx["paid_cents"]
        bad = (expected != actual).fillna(False) & tx["complete"]
        if bad.any():
            explanation = ("The payment total is " + money_texts(actual[bad]) + ", but the claim "
                           "payments less the provider-level adjustments come to "
                           + money_texts(expected[bad]) + ".")
            key = (_key_part(tx["trace_key"][bad]) + "|" + _key_part(tx["payer_id"][bad])
                   + "|transaction")
            frames.append(_findings(tx[bad], "transaction", "high", expected[bad], actual[bad],
                                    explanation, key))

    if not frames:
        return _empty()
    out = pd.concat(frames, ignore_index=True)
    out["key"] = _unique_keys(out["key"])
    return out.drop(columns=["level"])


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
    })


def _empty() -> pd.DataFrame:
    cols = ("type", "severity", "claim", "trace", "payer", "expected", "actual", "difference",
            "explanation", "action", "source", "key", "source_sheet", "source_row")
    return pd.DataFrame(columns=list(cols), dtype="object")
