"""Payments → invoices, in stages from the most to the least certain evidence.

1. exact: the Invoice, Claim or Reference typed on the payment equals an invoice or claim number;
2. normalised: the same after case, spaces, dashes and leading zeros are ignored;
3. fuzzy: a reference one or two keystrokes away from an invoice number (typo, swapped digits:
   the optimal-string-alignment edit distance, which rapidfuzz computes bit-parallel),
   confirmed by amount, patient and date — candidates are blocked by patient and by amount first,
   because invoice numbers are so dense that a typo is often nearer some other valid number;
4. evidence: no usable reference, but the patient, the amount (one open invoice, or a unique set
   of the patient's open invoices adding up to the payment) and the date agree.

Every application carries `method` and `confidence`; below `match_threshold` nothing is applied
(the candidate is kept for the explanation). A payment naming an invoice whose row could not be
read (`waiting`, see engine.normalise.waiting_payments) waits for that row to be corrected:
stages 3 and 4 would otherwise put its money on a neighbouring invoice number of the same patient
and amount, and that invoice would look paid. A payment is applied in full or not at all, so for
every payment the applied amounts add up to exactly its amount or to zero. A recorded invoice
that the evidence contradicts (another patient's invoice, or one the payment would overpay while
another invoice of the payer's patient fits exactly) becomes a misapplication: the money is
applied where it belongs and the check reports it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA

from engine.settings import Settings

APPLICATION_COLUMNS = ("payment_index", "invoice_key", "applied_cents", "method", "confidence",
                       "recorded_invoice_key")
_FIELD_PRIORITY = {"invoice": 0, "claim": 1, "reference": 2}
DATE_SLACK = pd.Timedelta(days=7)
DATE_WINDOW = pd.Timedelta(days=400)
MAX_SUBSET_INVOICES = 12
FUZZY_FLOOR = 0.6  # similarity below which a reference is not a typo of an invoice number
AMOUNT_BLOCK_SLICE = 256
# numbers are dense, so a typo is a few keystrokes from hundreds of invoices of a common fee:
# each reference keeps its nearest few by amount (more could only make a match ambiguous, and
# the patient block already holds the invoices of the payer's patient)
AMOUNT_BLOCK_KEEP = 8


@dataclass(frozen=True)
class Matches:
    applications: pd.DataFrame
    candidates: pd.DataFrame  # considered, not applied (below threshold or ambiguous)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        "payment_index": pd.Series([], dtype="int64"), "invoice_key": pd.Series([], dtype="str"),
        "applied_cents": pd.Series([], dtype="Int64"), "method": pd.Series([], dtype="str"),
        "confidence": pd.Series([], dtype="float64"),
        "recorded_invoice_key": pd.Series([], dtype="str")})


def _typed(col: pd.Series, keep: np.ndarray) -> np.ndarray:
    """A number as typed, ignoring case and surrounding spaces, where `keep` (it has a key)."""
    values = col.to_numpy(dtype=object)[keep]
    return np.array([v.strip().upper() for v in values], dtype=object)


def _references(p: pd.DataFrame) -> pd.DataFrame:
    """Long table of what each payment names: (payment_index, field, raw, key)."""
    parts = []
    for field in ("invoice", "claim", "reference"):
        key = p[f"{field}_key"]
        has = key.notna().to_numpy()
        parts.append(pd.DataFrame({"payment_index": p.index[has], "field": field,
                                   "raw": _typed(p[field], has), "key": key.to_numpy()[has]}))
    return pd.concat(parts, ignore_index=True)


def _invoice_names(inv: pd.DataFrame) -> pd.DataFrame:
    """Long table of the numbers an invoice answers to: its invoice number and its claim number."""
    parts = []
    for number, key, target in (("invoice", "invoice_key", "invoice"),
                                ("claim", "claim_key", "claim")):
        has = inv[key].notna().to_numpy()
        parts.append(pd.DataFrame({"invoice_key": inv["invoice_key"].to_numpy()[has],
                                   "raw": _typed(inv[number], has),
                                   "key": inv[key].to_numpy()[has], "target": target}))
    return pd.concat(parts, ignore_index=True).drop_duplicates(["invoice_key", "key"])


def _reference_matches(p: pd.DataFrame, refs: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Stages 1 and 2, one best (unique) invoice per payment."""
    m = refs.merge(names, on="key", suffixes=("", "_inv"))
    if m.empty:
        return _empty()
    exact = m["raw"] == m["raw_inv"]
    m["method"] = np.where(exact, "exact " + m["field"], "normalised " + m["field"])
    base = np.where(exact, 1.0, 0.96)
    m["confidence"] = base - m["field"].map(_FIELD_PRIORITY).to_numpy() * 0.01
    m["priority"] = m["field"].map(_FIELD_PRIORITY) * 2 + (~exact).astype(int)
    m = m.sort_values(["payment_index", "priority"], kind="mergesort")
    best = m.drop_duplicates("payment_index").reset_index(drop=True)
    # the same best priority pointing at two invoices is ambiguous
    best_priority = m["payment_index"].map(best.set_index("payment_index")["priority"])
    top = m[m["priority"].to_numpy() == best_priority.to_numpy()]
    n = top.drop_duplicates(["payment_index", "invoice_key"])["payment_index"].value_counts()
    best = best[best["payment_index"].map(n) == 1]
    best["recorded_invoice_key"] = np.where(best["field"] == "invoice", best["invoice_key"], None)
    best["applied_cents"] = p.loc[best["payment_index"], "amount_cents"].to_numpy()
    return best[list(APPLICATION_COLUMNS)]


def _patient_match(p: pd.DataFrame, inv: pd.DataFrame) -> pd.Series:
    """1 same patient, 0 different, 0.5 when the payment names no patient.

    Same patient: the same patient ID, or the same name where one side has no ID — two IDs that
    differ are two patients whatever their names (common names repeat in a large practice)."""
    pid, ipid = p["patient_id_key"].to_numpy(), inv["patient_id_key"].to_numpy()
    pn, ipn = p["patient_key"].to_numpy(), inv["patient_key"].to_numpy()
    has_id, inv_has_id = ~pd.isna(pid), ~pd.isna(ipid)
    same_id = has_id & inv_has_id & (pid == ipid)
    same_name = ~pd.isna(pn) & (pn == ipn) & ~(has_id & inv_has_id)
    unknown = ~has_id & pd.isna(pn)
    out = np.where(same_id | same_name, 1.0, np.where(unknown, 0.5, 0.0))
    return pd.Series(out, index=p.index)


def _date_ok(pay_date: pd.Series, inv: pd.DataFrame) -> np.ndarray:
    start = inv["service_date"].fillna(inv["invoice_date"]).to_numpy()
    start = np.where(pd.isna(start), inv["invoice_date"].to_numpy(), start)
    d = pay_date.to_numpy()
    ok = (d >= start - DATE_SLACK) & (d <= start + DATE_WINDOW)
    return np.where(pd.isna(start) | pd.isna(d), False, ok)


def _same_patient(pay: pd.DataFrame, inv: pd.DataFrame) -> pd.DataFrame:
    """(payment_index, invoice_key) pairs of the same patient, as `_patient_match` means it."""
    pairs = ["payment_index", "invoice_key"]
    ids = pay[["patient_id_key"]].dropna().reset_index(names="payment_index")
    blocks = [ids.merge(inv[["patient_id_key", "invoice_key"]].dropna(), on="patient_id_key")[pairs]]
    names = pay[["patient_key"]].reset_index(names="payment_index")
    has_id = pay["patient_id_key"].notna().to_numpy()
    inv_names = inv[["patient_key", "invoice_key"]]
    without_id = inv_names[inv["patient_id_key"].isna().to_numpy()]
    # by name: a payment without an ID, any invoice; a payment with one, invoices without one
    for left, right in ((names[~has_id], inv_names), (names[has_id], without_id)):
        blocks.append(left.dropna().merge(right.dropna(), on="patient_key")[pairs])
    return pd.concat(blocks, ignore_index=True).drop_duplicates()


def _amount_block(refs: pd.DataFrame, pay: pd.DataFrame, inv: pd.DataFrame,
                  names: pd.DataFrame) -> pd.DataFrame | None:
    """Reference/invoice-number pairs similar enough (≥ FUZZY_FLOOR) among invoices whose open
    balance equals the payment, the AMOUNT_BLOCK_KEEP most similar per reference. A few visit
    fees repeat across thousands of invoices, so the pairs are scored per amount, a slice of
    payments at a time, with rapidfuzz's matrix scorer: time grows with the pairs but memory
    stays bounded."""
    q = refs.merge(pay[["amount_cents"]], left_on="payment_index", right_index=True)
    c = names.merge(inv[["invoice_key", "open_cents"]], on="invoice_key")
    c = c[c["open_cents"].isin(q["amount_cents"])]
    by_amount = dict(tuple(c.groupby("open_cents", sort=False)))
    out = []
    for amount, qa in q[q["amount_cents"].isin(by_amount)].groupby("amount_cents", sort=False):
        ca = by_amount[amount]
        choices = ca["inv_key"].tolist()
        for lo in range(0, len(qa), AMOUNT_BLOCK_SLICE):
            chunk = qa.iloc[lo:lo + AMOUNT_BLOCK_SLICE]
            scores = process.cdist(chunk["key"].tolist(), choices,
                                   scorer=OSA.normalized_similarity,
                                   score_cutoff=FUZZY_FLOOR, dtype=np.float64)
            if scores.shape[1] > AMOUNT_BLOCK_KEEP:  # the nearest numbers of each reference only
                top = np.argpartition(-scores, AMOUNT_BLOCK_KEEP - 1, axis=1)[:, :AMOUNT_BLOCK_KEEP]
                kept = np.zeros_like(scores, dtype=bool)
                np.put_along_axis(kept, top, True, axis=1)
                scores = np.where(kept, scores, 0.0)
            i, j = np.nonzero(scores >= FUZZY_FLOOR)
            if len(i):
                out.append(pd.DataFrame({
                    "payment_index": chunk["payment_index"].to_numpy()[i],
                    "invoice_key": ca["invoice_key"].to_numpy()[j],
                    "key": chunk["key"].to_numpy()[i], "field": chunk["field"].to_numpy()[i],
                    "inv_key": ca["inv_key"].to_numpy()[j], "sim": scores[i, j]}))
    return pd.concat(out, ignore_index=True) if out else None


def _fuzzy_matches(p: pd.DataFrame, inv: pd.DataFrame, refs: pd.DataFrame, names: pd.DataFrame,
                   open_cents: pd.Series, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage 3: references a typo away, blocked by patient and by amount, confirmed by evidence."""
    refs = refs[refs["payment_index"].isin(p.index)]
    refs = refs[refs["key"].str.len() >= 4]
    if refs.empty:
        return _empty(), _empty()
    inv = inv.assign(open_cents=inv["invoice_key"].map(open_cents).fillna(inv["billed_cents"]))
    pay = p.loc[refs["payment_index"].unique()]
    names = names[["invoice_key", "key"]].rename(columns={"key": "inv_key"})
    pairs = _same_patient(pay, inv)
    pairs = pairs.merge(refs[["payment_index", "key", "field"]], on="payment_index")
    pairs = pairs.merge(names, on="invoice_key")
    # plain lists: iterating a pandas string column element by element costs more than the scorer
    pairs["sim"] = [OSA.normalized_similarity(a, b)
                    for a, b in zip(pairs["key"].tolist(), pairs["inv_key"].tolist())]
    by_amount = _amount_block(refs, pay, inv, names)
    if by_amount is not None:
        pairs = pd.concat([pairs, by_amount], ignore_index=True)
    pairs = pairs.sort_values("sim", ascending=False, kind="mergesort").drop_duplicates(
        ["payment_index", "invoice_key"])
    pairs = pairs[pairs["sim"] >= FUZZY_FLOOR]
    if pairs.empty:
        return _empty(), _empty()
    pp = p.loc[pairs["payment_index"]]
    ii = inv.set_index("invoice_key").loc[pairs["invoice_key"]].reset_index()
    amount_ok = (pp["amount_cents"].to_numpy() - ii["open_cents"].to_numpy()).__abs__() \
        <= settings.tolerance_cents
    patient = _patient_match(pp.reset_index(drop=True), ii).to_numpy()
    date_ok = _date_ok(pp["date"].reset_index(drop=True), ii)
    pairs["confidence"] = (0.45 * pairs["sim"].to_numpy() + 0.30 * amount_ok
                           + 0.15 * patient + 0.10 * date_ok).round(4)
    pairs["method"] = "fuzzy " + pairs["field"]
    pairs = pairs.sort_values(["payment_index", "confidence", "invoice_key"],
                              ascending=[True, False, True], kind="mergesort")
    best = pairs.groupby("payment_index").head(2).copy()
    best["rank"] = best.groupby("payment_index").cumcount()
    first = best[best["rank"] == 0].set_index("payment_index")
    second = best[best["rank"] == 1].set_index("payment_index")["confidence"]
    clear = first["confidence"] - second.reindex(first.index).fillna(0) >= 0.05
    first = first.reset_index()
    first["applied_cents"] = p.loc[first["payment_index"], "amount_cents"].to_numpy()
    first["recorded_invoice_key"] = None
    ok = (first["confidence"] >= settings.match_threshold) & clear.to_numpy()
    cols = list(APPLICATION_COLUMNS)
    return first.loc[ok, cols], first.loc[~ok, cols]


def _evidence_matches(p: pd.DataFrame, inv: pd.DataFrame, open_cents: pd.Series,
                      settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage 4: same patient, amount and date; one invoice or a unique subset of open invoices."""
    inv = inv.assign(open_cents=inv["invoice_key"].map(open_cents).fillna(inv["billed_cents"]))
    inv = inv[inv["open_cents"] > 0]
    pay = p[p["patient_id_key"].notna() | p["patient_key"].notna()]
    if pay.empty or inv.empty:
        return _empty(), _empty()
    pairs = _same_patient(pay, inv)
    if pairs.empty:
        return _empty(), _empty()
    pp = p.loc[pairs["payment_index"]].reset_index(drop=True)
    ii = inv.set_index("invoice_key").loc[pairs["invoice_key"]].reset_index()
    amount = pp["amount_cents"].to_numpy(dtype="int64")
    open_ = ii["open_cents"].to_numpy(dtype="int64")
    pairs["exact"] = np.abs(amount - open_) <= settings.tolerance_cents
    pairs["partial"] = amount < open_
    pairs["date_ok"] = _date_ok(pp["date"], ii)
    per_payment = pairs.groupby("payment_index")
    n_open = per_payment["invoice_key"].transform("size")
    n_exact = per_payment["exact"].transform("sum")
    amount_score = np.where(pairs["exact"], 0.30, np.where(pairs["partial"] & (n_open == 1), 0.20, 0.0))
    unique = np.where(pairs["exact"], n_exact == 1, n_open == 1)
    pairs["confidence"] = (0.40 + amount_score + 0.10 * pairs["date_ok"] + 0.15 * unique).round(4)
    pairs["method"] = np.where(pairs["exact"], "patient + amount + date", "patient + date (partial payment)")
    pairs = pairs.sort_values(["payment_index", "confidence", "invoice_key"],
                              ascending=[True, False, True], kind="mergesort")
    best = pairs.groupby("payment_index").head(1).copy()
    best["applied_cents"] = p.loc[best["payment_index"], "amount_cents"].to_numpy()
    best["recorded_invoice_key"] = None
    best = best[best["exact"] | best["partial"]]
    ok = best["confidence"] >= settings.match_threshold
    applied = best[ok]
    cols = list(APPLICATION_COLUMNS)
    # a payment no single invoice explains may settle a set of the patient's open invoices
    rest = pairs[~pairs["payment_index"].isin(applied["payment_index"])]
    subsets = _subset_matches(p, rest, open_cents, settings)
    applied = pd.concat([applied[cols], subsets], ignore_index=True)
    return applied, best.loc[~ok, cols]


def _subset_matches(p: pd.DataFrame, pairs: pd.DataFrame, open_cents: pd.Series,
                    settings: Settings) -> pd.DataFrame:
    """A unique set (2+) of one patient's open invoices whose balances sum to the payment."""
    rows = []
    groups = pairs[pairs["date_ok"]].groupby("payment_index")["invoice_key"]
    for pidx, keys in groups:  # residual payments only, each with a handful of candidates
        keys = sorted(set(keys))
        if len(keys) < 2 or len(keys) > MAX_SUBSET_INVOICES:
            continue
        amount = int(p.at[pidx, "amount_cents"])
        balances = [int(open_cents.get(k, 0)) for k in keys]
        hits = [c for r in range(2, len(keys) + 1) for c in itertools.combinations(range(len(keys)), r)
                if abs(sum(balances[i] for i in c) - amount) <= settings.tolerance_cents]
        if len(hits) != 1:
            continue
        chosen = hits[0]
        remaining = amount
        for n, i in enumerate(chosen):
            part = balances[i] if n < len(chosen) - 1 else remaining
            remaining -= part
            rows.append((pidx, keys[i], part, "patient + amount (several invoices) + date", 0.9, None))
    if not rows:
        return _empty()
    out = pd.DataFrame(rows, columns=list(APPLICATION_COLUMNS))
    out["applied_cents"] = out["applied_cents"].astype("Int64")
    return out


def _misapplications(p: pd.DataFrame, inv: pd.DataFrame, applied: pd.DataFrame,
                     settings: Settings) -> pd.DataFrame:
    """Recorded against invoice A while patient, amount and date say invoice B.

    Returns rows (payment_index, recorded_invoice_key=A, invoice_key=B) for unique B only.
    """
    rec = applied[applied["recorded_invoice_key"].notna()]
    if rec.empty:
        return pd.DataFrame(columns=["payment_index", "recorded_invoice_key", "invoice_key"])
    who = ["patient_id_key", "patient_key"]
    inv_i = inv.set_index("invoice_key")[[*who, "billed_cents"]]
    total = applied.groupby("invoice_key", sort=False)["applied_cents"].sum()
    pay = p.loc[rec["payment_index"], [*who, "amount_cents", "date"]].reset_index(
        names="payment_index")
    a = inv_i.loc[rec["invoice_key"]].reset_index()
    patient_known = pay["patient_id_key"].notna() | pay["patient_key"].notna()
    other_patient = patient_known & (_patient_match(pay, a).to_numpy() == 0.0)
    already = rec["invoice_key"].map(total).fillna(0).to_numpy() - rec["applied_cents"].to_numpy()
    overpays = (already + pay["amount_cents"].to_numpy()) > (a["billed_cents"].to_numpy()
                                                             + settings.tolerance_cents)
    suspect = pay[(other_patient | overpays).to_numpy() & patient_known.to_numpy()]
    if suspect.empty:
        return pd.DataFrame(columns=["payment_index", "recorded_invoice_key", "invoice_key"])
    open_b = inv_i["billed_cents"] - total.reindex(inv_i.index).fillna(0)
    inv_b = inv[[*who, "invoice_key", "service_date", "invoice_date"]].assign(
        open_cents=open_b.to_numpy())  # inv_i is inv by invoice_key, row for row
    cand = (_same_patient(suspect.set_index("payment_index")[who], inv_b)
            .merge(suspect[["payment_index", "amount_cents", "date"]], on="payment_index")
            .merge(inv_b[["invoice_key", "open_cents", "service_date", "invoice_date"]],
                   on="invoice_key"))
    cand = cand.merge(rec[["payment_index", "recorded_invoice_key"]], on="payment_index")
    cand = cand[cand["invoice_key"] != cand["recorded_invoice_key"]]
    fits = ((cand["amount_cents"] - cand["open_cents"]).abs() <= settings.tolerance_cents)
    fits &= _date_ok(cand["date"], cand)
    cand = cand[fits.to_numpy()]
    unique = cand.groupby("payment_index")["invoice_key"].transform("nunique") == 1
    return cand.loc[unique, ["payment_index", "recorded_invoice_key", "invoice_key"]]


def match_payments(invoices: pd.DataFrame, payments: pd.DataFrame, settings: Settings,
                   waiting: frozenset = frozenset()) -> Matches:
    """Apply every payment (not duplicates) to invoices; see the module docstring for the stages.
    `waiting`: labels of payments that name an unreadable invoice row (stages 1–2 only)."""
    pending = payments[~payments["duplicate"] & payments["amount_cents"].notna()]
    refs = _references(pending)
    names = _invoice_names(invoices)
    stage12 = _reference_matches(pending, refs, names)
    moved = _misapplications(pending, invoices, stage12, settings)
    if len(moved):
        idx = stage12["payment_index"].isin(moved["payment_index"])
        target = moved.set_index("payment_index")["invoice_key"]
        stage12.loc[idx, "invoice_key"] = stage12.loc[idx, "payment_index"].map(target)
        stage12.loc[idx, "method"] = "patient + amount + date (recorded on another invoice)"
        stage12.loc[idx, "confidence"] = 0.9
    applied = [stage12]
    candidates = []

    def open_balances() -> pd.Series:
        done = pd.concat(applied, ignore_index=True)
        paid = done.groupby("invoice_key", sort=False)["applied_cents"].sum()
        billed = invoices.set_index("invoice_key")["billed_cents"]
        return (billed - paid.reindex(billed.index).fillna(0)).astype("int64")

    left = pending[~pending.index.isin(stage12["payment_index"])]
    left = left[~left.index.isin(waiting)]
    fuzzy_ok, fuzzy_no = _fuzzy_matches(left, invoices, refs, names, open_balances(), settings)
    applied.append(fuzzy_ok)
    candidates.append(fuzzy_no)
    left = left[~left.index.isin(fuzzy_ok["payment_index"])]
    left = left[left["kind"] != "adjustment"]
    ev_ok, ev_no = _evidence_matches(left, invoices, open_balances(), settings)
    applied.append(ev_ok)
    candidates.append(ev_no)
    apps = pd.concat([a for a in applied if len(a)] or [_empty()], ignore_index=True)
    apps["applied_cents"] = apps["applied_cents"].astype("Int64")
    apps = apps.sort_values(["payment_index", "invoice_key"], kind="mergesort").reset_index(drop=True)
    cands = pd.concat([c for c in candidates if len(c)] or [_empty()], ignore_index=True)
    cands = cands[~cands["payment_index"].isin(apps["payment_index"])].reset_index(drop=True)
    return Matches(apps, cands)
