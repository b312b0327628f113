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
# a stage 1-2 match's method by its priority (field priority * 2, + 1 when only normalised)
_REFERENCE_METHODS = np.array([f"{how} {field}" for field in _FIELD_PRIORITY
                               for how in ("exact", "normalised")], dtype=object)
DATE_SLACK = pd.Timedelta(days=7)
DATE_WINDOW = pd.Timedelta(days=400)
MAX_SUBSET_INVOICES = 12
FUZZY_FLOOR = 0.6  # similarity below which a reference is not a typo of an invoice number
AMOUNT_BLOCK_SLICE = 256
# numbers are dense, so a typo is a few keystrokes from hundreds of invoices of a common fee:
# each reference keeps its nearest few by amount (more could only make a match ambiguous, and
# the patient block already holds the invoices of the payer's patient)
AMOUNT_BLOCK_KEEP = 8
COMMON_FEE_INVOICES = 256  # an amount with more invoices: references are checked before scoring


@dataclass(frozen=True)
class Matches:
    applications: pd.DataFrame
    candidates: pd.DataFrame  # considered, not applied (below threshold or ambiguous)


_EMPTY = pd.DataFrame({
    "payment_index": pd.Series([], dtype="int64"), "invoice_key": pd.Series([], dtype="str"),
    "applied_cents": pd.Series([], dtype="Int64"), "method": pd.Series([], dtype="str"),
    "confidence": pd.Series([], dtype="float64"), "recorded_invoice_key": pd.Series([], dtype="str")})


def _empty() -> pd.DataFrame:
    return _EMPTY.copy()  # building it anew costs a dozen pandas calls


def _references(p: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """Long table of what each payment of `rows` (a mask) names: (payment_index, field,
    field_priority, raw, key)."""
    fields = list(_FIELD_PRIORITY)
    keys = [p[f"{field}_key"].to_numpy() for field in fields]
    has = [np.flatnonzero(rows & ~pd.isna(key)) for key in keys]
    count = [len(at) for at in has]
    return pd.DataFrame({
        "payment_index": p.index[np.concatenate(has)],
        "field": np.repeat(np.array(fields, dtype=object), count),
        "field_priority": np.repeat(list(_FIELD_PRIORITY.values()), count),
        "raw": np.concatenate([p[field].to_numpy()[at] for field, at in zip(fields, has)]),
        "key": np.concatenate([key[at] for key, at in zip(keys, has)])})


def _invoice_names(inv: pd.DataFrame) -> pd.DataFrame:
    """Long table of the numbers an invoice answers to: its invoice number and its claim number
    (invoice_key, invoice_at = its row in `inv`, raw, key); an invoice without a claim number
    answers to its invoice number."""
    invoice_key = inv["invoice_key"].to_numpy()
    claim_key = inv["claim_key"].to_numpy()
    has_claim = ~pd.isna(claim_key) & (claim_key != invoice_key)
    return pd.DataFrame({
        "invoice_key": np.concatenate([invoice_key, invoice_key[has_claim]]),
        "invoice_at": np.concatenate([np.arange(len(inv)), np.flatnonzero(has_claim)]),
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
    at_ref, at_name = _equal_pairs(refs["key"].to_numpy(), names["key"].to_numpy())
    if not len(at_ref):
        return _empty()
    exact = _same_typed(refs["raw"].to_numpy()[at_ref], names["raw"].to_numpy()[at_name])
    field_priority = refs["field_priority"].to_numpy()[at_ref]
    payment = refs["payment_index"].to_numpy()[at_ref]
    priority = field_priority * 2 + ~exact
    order = np.lexsort((priority, payment))  # stable: ties keep the pairs' order
    payment, priority = payment[order], priority[order]
    invoice = names["invoice_key"].to_numpy()[at_name[order]]
    first = np.r_[True, payment[1:] != payment[:-1]]
    best_at = np.flatnonzero(first)  # each payment's best row
    best_of = best_at[np.cumsum(first) - 1]  # for every row, its payment's best row
    # the same best priority pointing at two invoices is ambiguous
    rival = (priority == priority[best_of]) & (invoice != invoice[best_of])
    best_at = best_at[~np.isin(best_at, best_of[rival])]
    priority = priority[best_at]
    field_priority, exact = priority // 2, priority % 2 == 0
    return pd.DataFrame({
        "payment_index": payment[best_at], "invoice_key": invoice[best_at],
        "applied_cents": p["amount_cents"].array[p.index.get_indexer(payment[best_at])].to_numpy(),
        "method": _REFERENCE_METHODS[priority],
        "confidence": np.where(exact, 1.0, 0.96) - field_priority * 0.01,
        "recorded_invoice_key": np.where(field_priority == _FIELD_PRIORITY["invoice"],
                                         invoice[best_at], None)})


def _paid(invoice_at: pd.Index, applications: list[pd.DataFrame]) -> np.ndarray:
    """Cents the applications put on each invoice (in the order of `invoice_at`)."""
    paid = np.zeros(len(invoice_at), dtype="int64")
    for a in applications:
        np.add.at(paid, invoice_at.get_indexer(a["invoice_key"]),
                  a["applied_cents"].to_numpy(dtype="int64"))
    return paid


def _patient_match(pid: np.ndarray, pn: np.ndarray, ipid: np.ndarray,
                   ipn: np.ndarray) -> np.ndarray:
    """Row by row, 1 same patient, 0 different, 0.5 when the payment names no patient
    (pid, pn: the payments' patient_id_key and patient_key; ipid, ipn: the invoices').

    Same patient: the same patient ID, or the same name where one side has no ID — two IDs that
    differ are two patients whatever their names (common names repeat in a large practice)."""
    has_id, inv_has_id = ~pd.isna(pid), ~pd.isna(ipid)
    same_id = has_id & inv_has_id & (pid == ipid)
    same_name = ~pd.isna(pn) & (pn == ipn) & ~(has_id & inv_has_id)
    unknown = ~has_id & pd.isna(pn)
    return np.where(same_id | same_name, 1.0, np.where(unknown, 0.5, 0.0))


def _starts(inv: pd.DataFrame) -> np.ndarray:
    """When each invoice's care started: its service date, else its invoice date."""
    return inv["service_date"].fillna(inv["invoice_date"]).to_numpy()


def _date_ok(pay_date: np.ndarray, start: np.ndarray) -> np.ndarray:
    ok = (pay_date >= start - DATE_SLACK) & (pay_date <= start + DATE_WINDOW)
    return np.where(pd.isna(start) | pd.isna(pay_date), False, ok)


def _equal_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) where left[i] == right[j], neither missing, in an inner merge's order (by
    i, then j): a merge on one key done on integer codes, without the frames a merge builds and
    its hashing of str columns (plain object arrays factorize faster)."""
    codes = pd.factorize(np.concatenate([left, right]))[0] + 1  # 0: missing
    left_codes, right_codes = codes[:len(left)], codes[len(left):]
    by_code = np.argsort(right_codes, kind="stable")  # right positions, a run per code
    per_code = np.bincount(right_codes, minlength=codes.max(initial=0) + 1)
    start = (np.cumsum(per_code) - per_code)[left_codes]
    count = np.where(left_codes > 0, per_code[left_codes], 0)  # a missing value equals nothing
    i = np.repeat(np.arange(len(left)), count)
    run_start = np.repeat(np.cumsum(count) - count, count)
    j = by_code[np.repeat(start, count) + np.arange(len(i)) - run_start]
    return i, j


def _same_patient(pay: pd.DataFrame, inv: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) of a payment and an invoice of the same patient, as `_patient_match`
    means it; each pair once."""
    pid, ipid = pay["patient_id_key"].to_numpy(), inv["patient_id_key"].to_numpy()
    by_id = _equal_pairs(pid, ipid)
    by_name = _equal_pairs(pay["patient_key"].to_numpy(), inv["patient_key"].to_numpy())
    # a name counts where one side has no ID, so no pair is found both ways
    one_id = pd.isna(pid)[by_name[0]] | pd.isna(ipid)[by_name[1]]
    return (np.concatenate([by_id[0], by_name[0][one_id]]),
            np.concatenate([by_id[1], by_name[1][one_id]]))


def _code_points(keys: np.ndarray) -> np.ndarray:
    """One row of code points per key, 0 past its end (keys hold letters and digits only)."""
    codes = np.array(keys.tolist(), dtype=str)
    return codes.view(np.uint32).reshape(len(codes), -1)


def _may_reach_floor(keys: np.ndarray, inv_keys: np.ndarray) -> np.ndarray:
    """Which references some of these invoice numbers might bring to FUZZY_FLOOR. An OSA edit
    script changes the length by its insertions less its deletions and must delete or replace
    every character of the reference that no invoice number has (a transposition only moves
    characters both sides have), so against an invoice number of length n it needs at least
    max(foreign + max(n - length, 0), length - n) edits. The similarity that allows falls on
    either side of n = length, so n is taken as near the reference's length as the invoice
    numbers' lengths go."""
    codes, inv_codes = _code_points(keys), _code_points(inv_keys)
    seen = np.zeros(max(codes.max(), inv_codes.max()) + 1, dtype=bool)
    seen[inv_codes] = True
    seen[0] = True
    foreign = (~seen[codes]).sum(axis=1)
    length, inv_length = (codes != 0).sum(axis=1), (inv_codes != 0).sum(axis=1)
    n = np.minimum(np.maximum(length, inv_length.min()), inv_length.max())
    fewest = np.maximum(foreign + np.maximum(n - length, 0), length - n)
    # a hair below the floor: a rounding difference can only keep a reference, never drop one
    return 1 - fewest / np.maximum(length, n) >= FUZZY_FLOOR - 1e-9


def _amount_block(refs: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame | None:
    """Reference/invoice-number pairs similar enough (≥ FUZZY_FLOOR) among invoices whose open
    balance equals the payment (`refs` carry the payment's amount_cents, `names` the invoice's
    open_cents), the AMOUNT_BLOCK_KEEP most similar per reference. A few visit fees repeat across
    thousands of invoices, so the pairs are scored per amount, a slice of payments at a time, with
    rapidfuzz's matrix scorer: time grows with the pairs but memory stays bounded. References that
    no invoice number of the amount can bring to FUZZY_FLOOR (`_may_reach_floor`) are not scored:
    their rows would hold no pair, and each reference's pairs do not depend on the others."""
    q = refs[refs["amount_cents"].isin(names["open_cents"]).to_numpy()]
    c = names[names["open_cents"].isin(q["amount_cents"]).to_numpy()]
    q_keys, c_keys = q["key"].to_numpy(), c["inv_key"].to_numpy()
    c_by_amount = c.groupby("open_cents", sort=False).indices
    hit_q, hit_c, sims = [], [], []
    for amount, rows in q.groupby("amount_cents", sort=False).indices.items():
        choices = c_by_amount[amount]
        if len(choices) > COMMON_FEE_INVOICES:
            rows = rows[_may_reach_floor(q_keys[rows], c_keys[choices])]
        for lo in range(0, len(rows), AMOUNT_BLOCK_SLICE):
            chunk = rows[lo:lo + AMOUNT_BLOCK_SLICE]
            scores = process.cdist(q_keys[chunk].tolist(), c_keys[choices].tolist(),
                                   scorer=OSA.normalized_similarity,
                                   score_cutoff=FUZZY_FLOOR, dtype=np.float64)
            if scores.shape[1] > AMOUNT_BLOCK_KEEP:  # the nearest numbers of each reference only
                top = np.argpartition(-scores, AMOUNT_BLOCK_KEEP - 1, axis=1)[:, :AMOUNT_BLOCK_KEEP]
                top.sort(axis=1)  # in column order, as np.nonzero finds them
                sim = np.take_along_axis(scores, top, axis=1)
                hit = sim >= FUZZY_FLOOR
                i, j, sim = np.nonzero(hit)[0], top[hit], sim[hit]
            else:
                i, j = np.nonzero(scores >= FUZZY_FLOOR)
                sim = scores[i, j]
            if len(i):
                hit_q.append(chunk[i])
                hit_c.append(choices[j])
                sims.append(sim)
    if not sims:
        return None
    at_q, at_c = np.concatenate(hit_q), np.concatenate(hit_c)
    return pd.DataFrame({
        "payment_index": q["payment_index"].to_numpy()[at_q],
        "invoice_key": c["invoice_key"].to_numpy()[at_c],
        "invoice_at": c["invoice_at"].to_numpy()[at_c], "key": q_keys[at_q],
        "field": q["field"].to_numpy()[at_q], "inv_key": c_keys[at_c],
        "sim": np.concatenate(sims)})


def _fuzzy_matches(p: pd.DataFrame, inv: pd.DataFrame, refs: pd.DataFrame, names: pd.DataFrame,
                   settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage 3: references a typo away, blocked by patient and by amount, confirmed by evidence.
    `inv`: the invoices `names` were made from, in the same order, with their open_cents."""
    refs = refs[refs["payment_index"].isin(p.index)]
    refs = refs[refs["key"].str.len() >= 4]
    if refs.empty:
        return _empty(), _empty()
    pay = p.loc[refs["payment_index"].unique()]
    names = pd.DataFrame({
        "invoice_key": names["invoice_key"], "invoice_at": names["invoice_at"],
        "inv_key": names["key"],
        "open_cents": inv["open_cents"].to_numpy()[names["invoice_at"].to_numpy()]})
    at_pay, at_inv = _same_patient(pay, inv)
    pairs = pd.DataFrame({"payment_index": pay.index[at_pay], "invoice_at": at_inv})
    pairs = pairs.merge(refs[["payment_index", "key", "field"]], on="payment_index")
    pairs = pairs.merge(names[["invoice_at", "invoice_key", "inv_key"]], on="invoice_at")
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
    ii = inv.iloc[pairs["invoice_at"].to_numpy()]
    amount_ok = (pp["amount_cents"].to_numpy() - ii["open_cents"].to_numpy()).__abs__() \
        <= settings.tolerance_cents
    patient = _patient_match(pp["patient_id_key"].to_numpy(), pp["patient_key"].to_numpy(),
                             ii["patient_id_key"].to_numpy(), ii["patient_key"].to_numpy())
    date_ok = _date_ok(pp["date"].to_numpy(), _starts(ii))
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
    at_pay, at_inv = _same_patient(p, inv)
    if not len(at_pay):
        return _empty(), _empty()
    amount = p["amount_cents"].to_numpy(dtype="int64")[at_pay]
    open_ = inv["open_cents"].to_numpy(dtype="int64")[at_inv]
    exact = np.abs(amount - open_) <= settings.tolerance_cents
    pairs = pd.DataFrame({
        "payment_index": p.index[at_pay], "invoice_key": inv["invoice_key"].to_numpy()[at_inv],
        "open_cents": open_, "exact": exact, "partial": amount < open_,
        "date_ok": _date_ok(p["date"].to_numpy()[at_pay], _starts(inv)[at_inv])})
    n_open = np.bincount(at_pay)[at_pay]  # the payment's candidates
    n_exact = np.bincount(at_pay[exact], minlength=len(p))[at_pay]
    amount_score = np.where(exact, 0.30, np.where(pairs["partial"] & (n_open == 1), 0.20, 0.0))
    unique = np.where(exact, n_exact == 1, n_open == 1)
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
    columns = ["payment_index", "recorded_invoice_key", "invoice_key"]
    recorded_key = applied["recorded_invoice_key"].to_numpy()
    rec = ~pd.isna(recorded_key)
    if not rec.any():
        return pd.DataFrame(columns=columns)
    applied_at = pd.Index(inv["invoice_key"]).get_indexer(applied["invoice_key"])
    billed = inv["billed_cents"].to_numpy(dtype="int64")
    paid = np.zeros(len(inv), dtype="int64")
    np.add.at(paid, applied_at, applied["applied_cents"].to_numpy(dtype="int64"))
    at = applied_at[rec]  # the recorded invoice A
    payment_index, recorded_key = applied["payment_index"].to_numpy()[rec], recorded_key[rec]
    pay_at = p.index.get_indexer(payment_index)
    pid, pn = p["patient_id_key"].to_numpy()[pay_at], p["patient_key"].to_numpy()[pay_at]
    amount = p["amount_cents"].array[pay_at].to_numpy(dtype="int64")
    patient_known = ~pd.isna(pid) | ~pd.isna(pn)
    other_patient = _patient_match(pid, pn, inv["patient_id_key"].to_numpy()[at],
                                   inv["patient_key"].to_numpy()[at]) == 0.0
    already = paid[at] - applied["applied_cents"].to_numpy(dtype="int64")[rec]
    overpays = already + amount > billed[at] + settings.tolerance_cents
    suspect = np.flatnonzero((other_patient | overpays) & patient_known)
    if not len(suspect):
        return pd.DataFrame(columns=columns)
    pay = pd.DataFrame({"patient_id_key": pid[suspect], "patient_key": pn[suspect]})
    at_rec, at_b = _same_patient(pay, inv)  # invoice B: any of the same patient
    at_rec = suspect[at_rec]
    recorded = recorded_key[at_rec]
    invoice = inv["invoice_key"].to_numpy()[at_b]
    fits = ((invoice != recorded)
            & (np.abs(amount[at_rec] - (billed - paid)[at_b]) <= settings.tolerance_cents)
            & _date_ok(p["date"].to_numpy()[pay_at[at_rec]], _starts(inv)[at_b]))
    at_rec, recorded, invoice = at_rec[fits], recorded[fits], invoice[fits]
    unique = np.bincount(at_rec, minlength=len(pay_at))[at_rec] == 1
    return pd.DataFrame({"payment_index": payment_index[at_rec[unique]],
                         "recorded_invoice_key": recorded[unique], "invoice_key": invoice[unique]})


def match_payments(invoices: pd.DataFrame, payments: pd.DataFrame, settings: Settings,
                   waiting: frozenset = frozenset()) -> Matches:
    """Apply every payment (not duplicates) to invoices; see the module docstring for the stages.
    `waiting`: labels of payments that name an unreadable invoice row (stages 1–2 only)."""
    pending = ~payments["duplicate"].to_numpy() & payments["amount_cents"].notna().to_numpy()
    refs = _references(payments, pending)
    names = _invoice_names(invoices)
    stage12 = _reference_matches(payments, refs, names)
    moved = _misapplications(payments, invoices, stage12, settings)
    if len(moved):
        target = pd.Index(moved["payment_index"]).get_indexer(stage12["payment_index"])
        idx = target >= 0
        stage12 = stage12.assign(
            invoice_key=np.where(idx, moved["invoice_key"].to_numpy()[target],
                                 stage12["invoice_key"].to_numpy()),
            method=np.where(idx, "patient + amount + date (recorded on another invoice)",
                            stage12["method"].to_numpy()),
            confidence=np.where(idx, 0.9, stage12["confidence"].to_numpy()))
    applied = [stage12]
    candidates = []

    invoice_at = pd.Index(invoices["invoice_key"])
    billed = invoices["billed_cents"].to_numpy(dtype="int64")
    # stages 3 and 4 read these columns only: selecting rows of the whole tables copies them all
    evidence = invoices[["invoice_key", "patient_id_key", "patient_key", "service_date",
                         "invoice_date"]]
    unpaid = billed - _paid(invoice_at, applied)

    left = payments.loc[pending & ~payments.index.isin(stage12["payment_index"])
                        & ~payments.index.isin(waiting),
                        ["amount_cents", "date", "kind", "patient_id_key", "patient_key"]]
    fuzzy_ok, fuzzy_no = _fuzzy_matches(left, evidence.assign(open_cents=unpaid), refs, names,
                                        settings)
    applied.append(fuzzy_ok)
    candidates.append(fuzzy_no)
    unpaid = unpaid - _paid(invoice_at, [fuzzy_ok])
    left = left[~left.index.isin(fuzzy_ok["payment_index"])]
    left = left[left["kind"] != "adjustment"]
    ev_ok, ev_no = _evidence_matches(left, evidence.assign(open_cents=unpaid), settings)
    applied.append(ev_ok)
    candidates.append(ev_no)
    apps = pd.concat([a for a in applied if len(a)] or [_empty()], ignore_index=True)
    apps["applied_cents"] = apps["applied_cents"].astype("Int64")
    # by payment, then invoice: a payment has several rows only when it settles a set of invoices
    # (stage 4), and those are made in invoice_key order
    apps = apps.sort_values("payment_index", kind="mergesort").reset_index(drop=True)
    cands = pd.concat([c for c in candidates if len(c)] or [_empty()], ignore_index=True)
    cands = cands[~cands["payment_index"].isin(apps["payment_index"])].reset_index(drop=True)
    return Matches(apps, cands)
