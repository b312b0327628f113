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


def _references(p: pd.DataFrame) -> pd.DataFrame:
    """Long table of what each payment names: (payment_index, field, field_priority, raw, key)."""
    parts = []
    for field in ("invoice", "claim", "reference"):
        key = p[f"{field}_key"]
        has = key.notna().to_numpy()
        parts.append(pd.DataFrame({"payment_index": p.index[has], "field": field,
                                   "field_priority": _FIELD_PRIORITY[field],
                                   "raw": p[field].to_numpy()[has], "key": key.to_numpy()[has]}))
    return pd.concat(parts, ignore_index=True)


def _invoice_names(inv: pd.DataFrame) -> pd.DataFrame:
    """Long table of the numbers an invoice answers to: its invoice number and its claim number
    (invoice_key, raw, key); an invoice without a claim number answers to its invoice number."""
    invoice_key = inv["invoice_key"].to_numpy()
    claim_key = inv["claim_key"].to_numpy()
    has_claim = ~pd.isna(claim_key) & (claim_key != invoice_key)
    return pd.DataFrame({
        "invoice_key": np.concatenate([invoice_key, invoice_key[has_claim]]),
        "raw": np.concatenate([inv["invoice"].to_numpy(), inv["claim"].to_numpy()[has_claim]]),
        "key": np.concatenate([invoice_key, claim_key[has_claim]])})


def _same_typed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether two numbers were typed the same, ignoring case and surrounding spaces."""
    same = a == b
    differ = np.flatnonzero(~same)  # few: most are typed identically
    same[differ] = [x.strip().upper() == y.strip().upper() for x, y in zip(a[differ], b[differ])]
    return same


def _reference_matches(p: pd.DataFrame, refs: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Stages 1 and 2, one best (unique) invoice per payment."""
    m = refs.merge(names, on="key", suffixes=("", "_inv"))
    if m.empty:
        return _empty()
    m["exact"] = _same_typed(m["raw"].to_numpy(), m["raw_inv"].to_numpy())
    m["priority"] = m["field_priority"].to_numpy() * 2 + ~m["exact"].to_numpy()
    m = m.sort_values(["payment_index", "priority"], kind="mergesort")
    payment, priority, invoice = (m[c].to_numpy() for c in ("payment_index", "priority", "invoice_key"))
    first = np.r_[True, payment[1:] != payment[:-1]]
    best_at = np.flatnonzero(first)  # each payment's best row
    best_of = best_at[np.cumsum(first) - 1]  # for every row, its payment's best row
    # the same best priority pointing at two invoices is ambiguous
    rival = (priority == priority[best_of]) & (invoice != invoice[best_of])
    best_at = best_at[~np.isin(best_at, best_of[rival])]
    best = m.iloc[best_at]
    field, exact = best["field"], best["exact"].to_numpy()
    return pd.DataFrame({
        "payment_index": payment[best_at], "invoice_key": invoice[best_at],
        "applied_cents": p.loc[payment[best_at], "amount_cents"].to_numpy(),
        "method": np.where(exact, "exact " + field, "normalised " + field),
        "confidence": np.where(exact, 1.0, 0.96) - best["field_priority"].to_numpy() * 0.01,
        "recorded_invoice_key": np.where(field == "invoice", invoice[best_at], None)})


def _patient_match(p: pd.DataFrame, inv: pd.DataFrame) -> np.ndarray:
    """Row by row, 1 same patient, 0 different, 0.5 when the payment names no patient.

    Same patient: the same patient ID, or the same name where one side has no ID — two IDs that
    differ are two patients whatever their names (common names repeat in a large practice)."""
    pid, ipid = p["patient_id_key"].to_numpy(), inv["patient_id_key"].to_numpy()
    pn, ipn = p["patient_key"].to_numpy(), inv["patient_key"].to_numpy()
    has_id, inv_has_id = ~pd.isna(pid), ~pd.isna(ipid)
    same_id = has_id & inv_has_id & (pid == ipid)
    same_name = ~pd.isna(pn) & (pn == ipn) & ~(has_id & inv_has_id)
    unknown = ~has_id & pd.isna(pn)
    return np.where(same_id | same_name, 1.0, np.where(unknown, 0.5, 0.0))


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


def _amount_block(refs: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame | None:
    """Reference/invoice-number pairs similar enough (≥ FUZZY_FLOOR) among invoices whose open
    balance equals the payment (`refs` carry the payment's amount_cents, `names` the invoice's
    open_cents), the AMOUNT_BLOCK_KEEP most similar per reference. A few visit fees repeat across
    thousands of invoices, so the pairs are scored per amount, a slice of payments at a time, with
    rapidfuzz's matrix scorer: time grows with the pairs but memory stays bounded."""
    q = refs[refs["amount_cents"].isin(names["open_cents"]).to_numpy()]
    c = names[names["open_cents"].isin(q["amount_cents"]).to_numpy()]
    q_keys, c_keys = q["key"].to_numpy(), c["inv_key"].to_numpy()
    c_by_amount = c.groupby("open_cents", sort=False).indices
    hit_q, hit_c, sims = [], [], []
    for amount, rows in q.groupby("amount_cents", sort=False).indices.items():
        choices = c_by_amount[amount]
        for lo in range(0, len(rows), AMOUNT_BLOCK_SLICE):
            chunk = rows[lo:lo + AMOUNT_BLOCK_SLICE]
            scores = process.cdist(q_keys[chunk].tolist(), c_keys[choices].tolist(),
                                   scorer=OSA.normalized_similarity,
                                   score_cutoff=FUZZY_FLOOR, dtype=np.float64)
            if scores.shape[1] > AMOUNT_BLOCK_KEEP:  # the nearest numbers of each reference only
                top = np.argpartition(-scores, AMOUNT_BLOCK_KEEP - 1, axis=1)[:, :AMOUNT_BLOCK_KEEP]
                kept = np.zeros_like(scores, dtype=bool)
                np.put_along_axis(kept, top, True, axis=1)
                scores = np.where(kept, scores, 0.0)
            i, j = np.nonzero(scores >= FUZZY_FLOOR)
            if len(i):
                hit_q.append(chunk[i])
                hit_c.append(choices[j])
                sims.append(scores[i, j])
    if not sims:
        return None
    at_q, at_c = np.concatenate(hit_q), np.concatenate(hit_c)
    return pd.DataFrame({
        "payment_index": q["payment_index"].to_numpy()[at_q],
        "invoice_key": c["invoice_key"].to_numpy()[at_c], "key": q_keys[at_q],
        "field": q["field"].to_numpy()[at_q], "inv_key": c_keys[at_c],
        "sim": np.concatenate(sims)})


def _fuzzy_matches(p: pd.DataFrame, inv: pd.DataFrame, refs: pd.DataFrame, names: pd.DataFrame,
                   settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage 3: references a typo away, blocked by patient and by amount, confirmed by evidence.
    `inv` carries each invoice's open_cents."""
    refs = refs[refs["payment_index"].isin(p.index)]
    refs = refs[refs["key"].str.len() >= 4]
    if refs.empty:
        return _empty(), _empty()
    pay = p.loc[refs["payment_index"].unique()]
    invoice_at = pd.Index(inv["invoice_key"])
    names = pd.DataFrame({
        "invoice_key": names["invoice_key"], "inv_key": names["key"],
        "open_cents": inv["open_cents"].to_numpy()[invoice_at.get_indexer(names["invoice_key"])]})
    pairs = _same_patient(pay, inv)
    pairs = pairs.merge(refs[["payment_index", "key", "field"]], on="payment_index")
    pairs = pairs.merge(names[["invoice_key", "inv_key"]], on="invoice_key")
    # plain lists: iterating a pandas string column element by element costs more than the scorer
    pairs["sim"] = [OSA.normalized_similarity(a, b)
                    for a, b in zip(pairs["key"].tolist(), pairs["inv_key"].tolist())]
    refs = refs.assign(amount_cents=pay.loc[refs["payment_index"], "amount_cents"].to_numpy())
    by_amount = _amount_block(refs, names)
    if by_amount is not None:
        pairs = pd.concat([pairs, by_amount], ignore_index=True)
    pairs = pairs.sort_values("sim", ascending=False, kind="mergesort").drop_duplicates(
        ["payment_index", "invoice_key"])
    pairs = pairs[pairs["sim"] >= FUZZY_FLOOR]
    if pairs.empty:
        return _empty(), _empty()
    pp = p.loc[pairs["payment_index"]]
    ii = inv.iloc[invoice_at.get_indexer(pairs["invoice_key"])]
    amount_ok = (pp["amount_cents"].to_numpy() - ii["open_cents"].to_numpy()).__abs__() \
        <= settings.tolerance_cents
    patient = _patient_match(pp, ii)
    date_ok = _date_ok(pp["date"], ii)
    pairs["confidence"] = (0.45 * pairs["sim"].to_numpy() + 0.30 * amount_ok
                           + 0.15 * patient + 0.10 * date_ok).round(4)
    pairs = pairs.sort_values(["payment_index", "confidence", "invoice_key"],
                              ascending=[True, False, True], kind="mergesort")
    payment, confidence = pairs["payment_index"].to_numpy(), pairs["confidence"].to_numpy()
    first = np.r_[True, payment[1:] != payment[:-1]]  # each payment's best candidate
    has_second = np.r_[~first[1:], False]  # the next row is the same payment's runner-up
    runner_up = np.where(has_second, np.r_[confidence[1:], 0.0], 0.0)[first]
    best = pairs[first]
    clear = best["confidence"].to_numpy() - runner_up >= 0.05
    ok = (best["confidence"].to_numpy() >= settings.match_threshold) & clear
    first = pd.DataFrame({
        "payment_index": best["payment_index"].to_numpy(),
        "invoice_key": best["invoice_key"].to_numpy(),
        "applied_cents": p.loc[best["payment_index"], "amount_cents"].to_numpy(),
        "method": ("fuzzy " + best["field"]).to_numpy(), "confidence": best["confidence"].to_numpy(),
        "recorded_invoice_key": None})
    return first[ok], first[~ok]


def _evidence_matches(p: pd.DataFrame, inv: pd.DataFrame,
                      settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage 4: same patient, amount and date; one invoice or a unique subset of open invoices.
    `inv` carries each invoice's open_cents."""
    inv = inv[inv["open_cents"].to_numpy() > 0]
    pay = p[p["patient_id_key"].notna() | p["patient_key"].notna()]
    if pay.empty or inv.empty:
        return _empty(), _empty()
    pairs = _same_patient(pay, inv)
    if pairs.empty:
        return _empty(), _empty()
    pp = p.loc[pairs["payment_index"]].reset_index(drop=True)
    ii = inv.iloc[pd.Index(inv["invoice_key"]).get_indexer(pairs["invoice_key"])]
    amount = pp["amount_cents"].to_numpy(dtype="int64")
    open_ = ii["open_cents"].to_numpy(dtype="int64")
    pairs["open_cents"] = open_
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
    subsets = _subset_matches(p, rest, settings)
    applied = pd.concat([applied[cols], subsets], ignore_index=True)
    return applied, best.loc[~ok, cols]


def _subset_matches(p: pd.DataFrame, pairs: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """A unique set (2+) of one patient's open invoices whose balances sum to the payment."""
    rows = []
    open_cents = dict(zip(pairs["invoice_key"], pairs["open_cents"]))
    groups = pairs[pairs["date_ok"]].groupby("payment_index")["invoice_key"]
    for pidx, keys in groups:  # residual payments only, each with a handful of candidates
        keys = sorted(set(keys))
        if len(keys) < 2 or len(keys) > MAX_SUBSET_INVOICES:
            continue
        amount = int(p.at[pidx, "amount_cents"])
        balances = [int(open_cents[k]) for k in keys]
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
    paid = (applied.groupby("invoice_key", sort=False)["applied_cents"].sum()
            .reindex(inv["invoice_key"], fill_value=0).to_numpy())
    billed = inv["billed_cents"].to_numpy()
    at = pd.Index(inv["invoice_key"]).get_indexer(rec["invoice_key"])  # the recorded invoice A
    pay = p.loc[rec["payment_index"], [*who, "amount_cents", "date"]].reset_index(
        names="payment_index")
    patient_known = (pay["patient_id_key"].notna() | pay["patient_key"].notna()).to_numpy()
    other_patient = patient_known & (_patient_match(pay, inv[who].iloc[at]) == 0.0)
    already = paid[at] - rec["applied_cents"].to_numpy()
    overpays = already + pay["amount_cents"].to_numpy() > billed[at] + settings.tolerance_cents
    suspect = pay[(other_patient | overpays) & patient_known]
    if suspect.empty:
        return pd.DataFrame(columns=["payment_index", "recorded_invoice_key", "invoice_key"])
    inv_b = inv[[*who, "invoice_key", "service_date", "invoice_date"]].assign(
        open_cents=billed - paid)
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

    def with_open_balances() -> pd.DataFrame:
        done = pd.concat(applied, ignore_index=True)
        paid = done.groupby("invoice_key", sort=False)["applied_cents"].sum()
        paid = paid.reindex(invoices["invoice_key"], fill_value=0).to_numpy(dtype="int64")
        return invoices.assign(open_cents=invoices["billed_cents"].to_numpy(dtype="int64") - paid)

    left = pending[~pending.index.isin(stage12["payment_index"])]
    left = left[~left.index.isin(waiting)]
    fuzzy_ok, fuzzy_no = _fuzzy_matches(left, with_open_balances(), refs, names, settings)
    applied.append(fuzzy_ok)
    candidates.append(fuzzy_no)
    left = left[~left.index.isin(fuzzy_ok["payment_index"])]
    left = left[left["kind"] != "adjustment"]
    ev_ok, ev_no = _evidence_matches(left, with_open_balances(), settings)
    applied.append(ev_ok)
    candidates.append(ev_no)
    apps = pd.concat([a for a in applied if len(a)] or [_empty()], ignore_index=True)
    apps["applied_cents"] = apps["applied_cents"].astype("Int64")
    apps = apps.sort_values(["payment_index", "invoice_key"], kind="mergesort").reset_index(drop=True)
    cands = pd.concat([c for c in candidates if len(c)] or [_empty()], ignore_index=True)
    cands = cands[~cands["payment_index"].isin(apps["payment_index"])].reset_index(drop=True)
    return Matches(apps, cands)
