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

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA

from engine.positions import equal_pairs, sum_at
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
    # each application's invoice as a position in the invoices matched against: what settling
    # sums on, without hashing the invoice keys again
    invoice_at: np.ndarray


_EMPTY = pd.DataFrame({
    "payment_index": pd.Series([], dtype="int64"), "invoice_key": pd.Series([], dtype="str"),
    "applied_cents": pd.Series([], dtype="Int64"), "method": pd.Series([], dtype="str"),
    "confidence": pd.Series([], dtype="float64"), "recorded_invoice_key": pd.Series([], dtype="str")})


def _empty() -> pd.DataFrame:
    return _EMPTY.copy()  # building it anew costs a dozen pandas calls


def _references(p: pd.DataFrame, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Long table of what each payment of `rows` (a mask) names, as arrays: (payment_index, field,
    field_priority, raw, key). Not a DataFrame: it would check that every string is one."""
    fields = list(_FIELD_PRIORITY)
    keys = [p[f"{field}_key"].to_numpy() for field in fields]
    has = [np.flatnonzero(rows & ~pd.isna(key)) for key in keys]
    count = [len(at) for at in has]
    return {
        "payment_index": p.index.to_numpy()[np.concatenate(has)],
        "field": np.repeat(np.array(fields, dtype=object), count),
        "field_priority": np.repeat(list(_FIELD_PRIORITY.values()), count),
        "raw": np.concatenate([p[field].to_numpy()[at] for field, at in zip(fields, has)]),
        "key": np.concatenate([key[at] for key, at in zip(keys, has)])}


def _invoice_names(inv: pd.DataFrame) -> dict[str, np.ndarray]:
    """Long table of the numbers an invoice answers to, as arrays (see `_references`): its
    invoice number and its claim number (invoice_key, invoice_at = its row in `inv`, raw, key); an
    invoice without a claim number answers to its invoice number."""
    invoice_key = inv["invoice_key"].to_numpy()
    claim_key = inv["claim_key"].to_numpy()
    has_claim = ~pd.isna(claim_key) & (claim_key != invoice_key)
    return {
        "invoice_key": np.concatenate([invoice_key, invoice_key[has_claim]]),
        "invoice_at": np.concatenate([np.arange(len(inv)), np.flatnonzero(has_claim)]),
        "raw": np.concatenate([inv["invoice"].to_numpy(), inv["claim"].to_numpy()[has_claim]]),
        "key": np.concatenate([invoice_key, claim_key[has_claim]])}


def _same_typed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether two numbers were typed the same, ignoring case and surrounding spaces."""
    same = a == b
    differ = np.flatnonzero(~same)  # few: most are typed identically
    same[differ] = [x.strip().upper() == y.strip().upper() for x, y in zip(a[differ], b[differ])]
    return same


def _reference_matches(p: pd.DataFrame, refs: dict[str, np.ndarray], names: dict[str, np.ndarray]
                       ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Stages 1 and 2, one best (unique) invoice per payment: the applications' columns (arrays:
    misapplications change some before the frame is built), and each one's invoice as a
    position (`names`' invoice_at)."""
    at_ref, at_name = _equal_pairs(refs["key"], names["key"])
    if not len(at_ref):
        return ({column: np.array([], dtype=object) for column in APPLICATION_COLUMNS},
                np.array([], dtype="int64"))
    exact = _same_typed(refs["raw"][at_ref], names["raw"][at_name])
    field_priority = refs["field_priority"][at_ref]
    payment = refs["payment_index"][at_ref]
    priority = field_priority * 2 + ~exact
    order = np.lexsort((priority, payment))  # stable: ties keep the pairs' order
    payment, priority = payment[order], priority[order]
    invoice_at = names["invoice_at"][at_name[order]]
    first = np.r_[True, payment[1:] != payment[:-1]]
    best_at = np.flatnonzero(first)  # each payment's best row
    best_of = best_at[np.cumsum(first) - 1]  # for every row, its payment's best row
    # the same best priority pointing at two invoices is ambiguous (the invoices hold one row
    # per invoice key, see normalise.invoice_totals: two positions are two invoice numbers)
    rival = (priority == priority[best_of]) & (invoice_at != invoice_at[best_of])
    best_at = best_at[~np.isin(best_at, best_of[rival])]
    priority = priority[best_at]
    field_priority, exact = priority // 2, priority % 2 == 0
    invoice = names["invoice_key"][at_name[order[best_at]]]
    return {
        "payment_index": payment[best_at], "invoice_key": invoice,
        "applied_cents": p["amount_cents"].array[p.index.get_indexer(payment[best_at])].to_numpy(),
        "method": _REFERENCE_METHODS[priority],
        "confidence": np.where(exact, 1.0, 0.96) - field_priority * 0.01,
        "recorded_invoice_key": np.where(field_priority == _FIELD_PRIORITY["invoice"],
                                         invoice, None)}, invoice_at[best_at]


def _patient_codes(payments: pd.DataFrame, invoices: pd.DataFrame) -> dict[str, np.ndarray]:
    """The patient ID and name keys of payments and invoices numbered together (-1: missing):
    the matcher compares and joins patients many times, and integers need no string hashing.
    Keys `patient_id_code`, `patient_code` (payments), `inv_patient_id_code`, `inv_patient_code`."""
    codes = {}
    for column, name in (("patient_id_key", "patient_id_code"), ("patient_key", "patient_code")):
        code = _numbered(np.concatenate([payments[column].to_numpy(), invoices[column].to_numpy()]))
        codes[name], codes[f"inv_{name}"] = code[:len(payments)], code[len(payments):]
    return codes


def _numbered(keys: np.ndarray) -> np.ndarray:
    """`pd.factorize(keys)[0]` of str keys (NaN: missing), the same numbers for less: pandas hashes
    them with its table for text only when every key is a str, and one missing key sends them all
    through its table of Python objects, ≈ 1.4 times as slow (numbers go by first appearance
    either way)."""
    missing = pd.isna(keys)
    if not missing.any():
        return pd.factorize(keys)[0]
    codes = np.full(len(keys), -1, dtype=np.intp)
    codes[~missing] = pd.factorize(keys[~missing])[0]
    return codes


def _patient_match(pid: np.ndarray, pn: np.ndarray, ipid: np.ndarray,
                   ipn: np.ndarray) -> np.ndarray:
    """Row by row, 1 same patient, 0 different, 0.5 when the payment names no patient
    (pid, pn: the payments' patient_id_code and patient_code; ipid, ipn: the invoices').

    Same patient: the same patient ID, or the same name where one side has no ID — two IDs that
    differ are two patients whatever their names (common names repeat in a large practice)."""
    has_id, inv_has_id = pid >= 0, ipid >= 0
    same_id = has_id & inv_has_id & (pid == ipid)
    same_name = (pn >= 0) & (pn == ipn) & ~(has_id & inv_has_id)
    unknown = ~has_id & (pn < 0)
    return np.where(same_id | same_name, 1.0, np.where(unknown, 0.5, 0.0))


def _date_ok(pay_date: np.ndarray, start: np.ndarray) -> np.ndarray:
    ok = (pay_date >= start - DATE_SLACK) & (pay_date <= start + DATE_WINDOW)
    return np.where(pd.isna(start) | pd.isna(pay_date), False, ok)


def _equal_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) where left[i] == right[j], neither missing, in an inner merge's order (by
    i, then j): a merge on one key done on integer codes, without the frames a merge builds and
    its hashing of str columns (plain object arrays factorize faster)."""
    codes = pd.factorize(np.concatenate([left, right]))[0] + 1  # 0: missing
    return equal_pairs(codes[:len(left)], codes[len(left):])


def _same_patient(pid: np.ndarray, pn: np.ndarray, ipid: np.ndarray,
                  ipn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) of a payment and an invoice of the same patient, as `_patient_match`
    means it; each pair once (arguments as for `_patient_match`)."""
    by_id = _few_equal_pairs(pid + 1, ipid + 1)
    # a name counts where one side has no ID, so no pair is found both ways; a practice has few
    # names, so pairing every name would make millions of pairs to drop
    no_id = _few_equal_pairs(np.where(pid < 0, pn + 1, 0), ipn + 1)
    to_no_id = _few_equal_pairs(np.where(pid < 0, 0, pn + 1), np.where(ipid < 0, ipn + 1, 0))
    by_name = [np.concatenate(pair) for pair in zip(no_id, to_no_id)]
    in_order = np.argsort(by_name[0], kind="stable")  # by payment, then invoice
    return (np.concatenate([by_id[0], by_name[0][in_order]]),
            np.concatenate([by_id[1], by_name[1][in_order]]))


def _few_equal_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`equal_pairs(left, right)`, sorting only the right rows whose number the left has: a few
    payments against all the invoices."""
    wanted = np.flatnonzero(np.isin(right, left[left > 0]))
    i, j = equal_pairs(left, right[wanted])
    return i, wanted[j]


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


def _amount_block(refs: dict[str, np.ndarray], names: dict[str, np.ndarray]
                  ) -> dict[str, np.ndarray] | None:
    """Reference/invoice-number pairs similar enough (≥ FUZZY_FLOOR) among invoices whose open
    balance equals the payment (`refs` carry the payment's amount_cents, `names` the invoice's
    open_cents; columns as arrays, see `_references`): each reference's AMOUNT_BLOCK_KEEP most
    similar numbers, the first in `names`' order among equally similar ones, as
    (payment_index, invoice_at, field, sim) of each pair, by reference, then in `names`' order.

    A few visit fees repeat across thousands of invoices, so the pairs are scored per amount, a
    slice of payments at a time, with rapidfuzz's matrix scorer: time grows with the pairs but
    memory stays bounded. A pair's similarity depends only on its edit distance and the longer
    key's length, so among the invoice numbers of one length the nearest are the most similar and
    the choice is made on the distances (`_nearest`); the numbers of each length are scored
    apart and the most similar of all kept. Ties are broken by position, never by how a sort
    happens to run on this machine's processor, so every machine applies the same payments.
    References that no invoice number of the amount can bring to FUZZY_FLOOR (`_may_reach_floor`)
    are not scored: their rows would hold no pair, and each reference's pairs do not depend on the
    others."""
    q = _rows(refs, np.isin(refs["amount_cents"], names["open_cents"]))
    c = _rows(names, np.isin(names["open_cents"], q["amount_cents"]))
    q_keys, c_keys = q["key"], c["inv_key"]
    q_length = np.fromiter(map(len, q_keys.tolist()), dtype=np.intp, count=len(q_keys))
    c_length = np.fromiter(map(len, c_keys.tolist()), dtype=np.intp, count=len(c_keys))
    table = _similarity_table(int(max(q_length.max(initial=0), c_length.max(initial=0))))
    c_by_amount = _positions_by_value(c["open_cents"])
    hit_q, hit_c, sims = [], [], []
    for amount, rows in _positions_by_value(q["amount_cents"]).items():
        choices = c_by_amount[amount]
        if len(choices) > COMMON_FEE_INVOICES:
            rows = rows[_may_reach_floor(q_keys[rows], c_keys[choices])]
        if not len(rows):
            continue
        by_length = [(length, choices[at], c_keys[choices[at]].tolist())
                     for length, at in _positions_by_value(c_length[choices]).items()]
        for lo in range(0, len(rows), AMOUNT_BLOCK_SLICE):
            chunk = rows[lo:lo + AMOUNT_BLOCK_SLICE]
            i, at_c, sim = _most_similar(q_keys[chunk].tolist(), q_length[chunk], by_length, table)
            if len(i):
                hit_q.append(chunk[i])
                hit_c.append(at_c)
                sims.append(sim)
    if not sims:
        return None
    at_q, at_c = np.concatenate(hit_q), np.concatenate(hit_c)
    return {"payment_index": q["payment_index"][at_q], "invoice_at": c["invoice_at"][at_c],
            "field": q["field"][at_q], "sim": np.concatenate(sims)}


def _most_similar(keys: list[str], length: np.ndarray, by_length: list, table: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each key's AMOUNT_BLOCK_KEEP most similar choices at or above FUZZY_FLOOR, the first
    (lowest position) among equally similar ones: (key row, choice position, similarity), by row,
    then by position. `by_length`: the choices as (their length, their positions in order, their
    keys); `table`: `_similarity_table`."""
    found = []
    for choice_length, positions, choice_keys in by_length:
        longer = np.maximum(length, choice_length)
        reach = (table[longer] >= FUZZY_FLOOR).sum(axis=1) - 1  # the farthest distance kept
        if (reach < 0).all():
            continue
        distance = process.cdist(keys, choice_keys, scorer=OSA.distance,
                                 dtype=np.min_scalar_type(table.shape[0]))
        i, j = _nearest(distance, reach, AMOUNT_BLOCK_KEEP)
        found.append((i, positions[j], table[longer[i], distance[i, j]]))
    if not found:
        return np.array([], dtype=np.intp), np.array([], dtype=np.intp), np.array([])
    i, at, sim = (np.concatenate(column) for column in zip(*found))
    if len(found) > 1:  # the most similar of each length: the most similar of all
        order = np.lexsort((at, -sim, i))
        i, at, sim = i[order], at[order], sim[order]
        kept = _first_of_each(i, AMOUNT_BLOCK_KEEP, len(keys))
        order = np.lexsort((at[kept], i[kept]))
        i, at, sim = i[kept][order], at[kept][order], sim[kept][order]
    return i, at, sim


def _nearest(distance: np.ndarray, reach: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of each row's `keep` smallest distances no farther than the row's `reach`
    (-1: none), the first columns among equal distances, in row-major order. Distances are small
    integers, so each row's cut-off is found by counting, nearest first, and no sort is run over the
    matrix."""
    limit = reach.copy()  # a row with fewer than `keep` within its reach keeps them all
    open_ = np.flatnonzero(reach > 0)
    for t in range(int(reach.max(initial=0))):
        open_ = open_[reach[open_] > t]
        if not len(open_):
            break
        rows = distance if len(open_) == len(distance) else distance[open_]
        enough = np.count_nonzero(rows <= t, axis=1) >= keep
        limit[open_[enough]] = t
        open_ = open_[~enough]
    i, j = np.nonzero(distance < (limit + 1).astype(distance.dtype)[:, None])
    at_limit = distance[i, j] == limit[i]
    nearer = np.bincount(i[~at_limit], minlength=len(distance))
    # the rows' cells at their limit, numbered along the row from 0
    run = np.cumsum(at_limit)
    before = np.r_[0, run][np.searchsorted(i, np.arange(len(distance)))]
    kept = ~at_limit | (run - before[i] - 1 < keep - nearer[i])
    return i[kept], j[kept]


def _first_of_each(rows: np.ndarray, keep: int, n_rows: int) -> np.ndarray:
    """Positions of the first `keep` entries of each row in `rows` (sorted)."""
    start = np.searchsorted(rows, np.arange(n_rows))
    return np.flatnonzero(np.arange(len(rows)) - start[rows] < keep)


@functools.cache
def _similarity_table(longest: int) -> np.ndarray:
    """[n, d]: OSA.normalized_similarity (score_cutoff=FUZZY_FLOOR) of two keys d edits apart, the
    longer one of length n (n, d ≤ longest; d ≤ n)."""
    return np.array([[OSA.normalized_similarity("a" * n, "b" * d + "a" * (n - d),
                                                score_cutoff=FUZZY_FLOOR) if d <= n else 0.0
                      for d in range(longest + 1)] for n in range(longest + 1)])


def _rows(table: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """The rows of `mask` of a table held as arrays."""
    return {column: values[mask] for column, values in table.items()}


def _positions_by_value(values: np.ndarray) -> dict:
    """`groupby(values, sort=False).indices` without the frame: each distinct value (in the order
    of its first row) → the positions of its rows."""
    codes, distinct = pd.factorize(values)
    if not len(distinct):
        return {}
    rows = np.argsort(codes, kind="stable")
    return dict(zip(distinct.tolist(), np.split(rows, np.cumsum(np.bincount(codes))[:-1])))


def _fuzzy_matches(p: pd.DataFrame, inv: pd.DataFrame, refs: dict[str, np.ndarray],
                   names: dict[str, np.ndarray], settings: Settings
                   ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Stage 3: references a typo away, blocked by patient and by amount, confirmed by evidence:
    (applied, candidates, the applied invoices as positions in `inv`). `p`, `inv`: the payments
    and invoices as match_payments gives them to stages 2–4 (patients as codes, when care
    started), `inv` in the order `names` were made from and with its open_cents.

    The candidate pairs are kept as arrays of positions (payment in `p`, reference in `refs`,
    invoice in `inv`): the joins are `_equal_pairs` on integers, in a merge's order."""
    ref_at = p.index.get_indexer(refs["payment_index"])  # the reference's payment, -1: not in p
    usable = np.flatnonzero(ref_at >= 0)
    ref_key = refs["key"][usable]
    long_enough = np.strings.str_len(ref_key.astype(str)) >= 4
    usable, ref_key = usable[long_enough], ref_key[long_enough]
    if not len(usable):
        return _empty(), _empty(), np.array([], dtype="int64")
    ref_at = ref_at[usable]
    ref_field = refs["field"][usable]
    name_at, name_key = names["invoice_at"], names["key"]
    amount, open_ = p["amount_cents"].to_numpy(), inv["open_cents"].to_numpy()
    pid, pn = p["patient_id_code"].to_numpy(), p["patient_code"].to_numpy()
    ipid, ipn = inv["patient_id_code"].to_numpy(), inv["patient_code"].to_numpy()
    # patient block: each reference of a payment against the numbers of its patient's invoices
    pay = pd.unique(ref_at)  # payments with a usable reference, in the order of their first one
    at_pay, at_inv = _same_patient(pid[pay], pn[pay], ipid, ipn)
    pair, ref = equal_pairs(pay[at_pay] + 1, ref_at + 1)
    pair, name = equal_pairs(at_inv[pair] + 1, name_at + 1)
    ref = ref[pair]
    # plain lists: iterating a pandas string column element by element costs more than the scorer
    sim = [OSA.normalized_similarity(a, b)
           for a, b in zip(ref_key[ref].tolist(), name_key[name].tolist())]
    # the amount block pairs numbers of invoices whose open balance some reference's payment has
    name_open = open_[name_at]
    some = np.flatnonzero(np.isin(name_open, amount[ref_at]))
    by_amount = _amount_block(
        {"payment_index": refs["payment_index"][usable], "key": ref_key, "field": ref_field,
         "amount_cents": amount[ref_at]},
        {"invoice_at": name_at[some], "inv_key": name_key[some], "open_cents": name_open[some]})
    payment, invoice = ref_at[ref], name_at[name]
    field, sim = ref_field[ref], np.array(sim, dtype="float64")
    if by_amount is not None:
        payment = np.concatenate([payment, p.index.get_indexer(by_amount["payment_index"])])
        invoice = np.concatenate([invoice, by_amount["invoice_at"]])
        field = np.concatenate([field, by_amount["field"]])
        sim = np.concatenate([sim, by_amount["sim"]])
    # each payment and invoice once, by its most similar reference (the first of equals)
    by_sim = np.argsort(-sim, kind="stable")
    pair_code = payment[by_sim] * len(inv) + invoice[by_sim]
    kept = by_sim[~pd.Index(pair_code).duplicated()]
    kept = kept[sim[kept] >= FUZZY_FLOOR]
    if not len(kept):
        return _empty(), _empty(), np.array([], dtype="int64")
    payment, invoice, field, sim = payment[kept], invoice[kept], field[kept], sim[kept]
    amount_ok = (amount[payment] - open_[invoice]).__abs__() <= settings.tolerance_cents
    patient = _patient_match(pid[payment], pn[payment], ipid[invoice], ipn[invoice])
    date_ok = _date_ok(p["date"].to_numpy()[payment], inv["start"].to_numpy()[invoice])
    confidence = (0.45 * sim + 0.30 * amount_ok + 0.15 * patient + 0.10 * date_ok).round(4)
    invoice_key = inv["invoice_key"].to_numpy()[invoice]
    payment_index = p.index.to_numpy()[payment]
    order = np.lexsort((pd.factorize(invoice_key, sort=True)[0], -confidence, payment_index))
    payment_index, confidence = payment_index[order], confidence[order]
    first = np.r_[True, payment_index[1:] != payment_index[:-1]]  # each payment's best candidate
    has_second = np.r_[~first[1:], False]  # the next row is the same payment's runner-up
    runner_up = np.where(has_second, np.r_[confidence[1:], 0.0], 0.0)[first]
    best = order[first]
    clear = confidence[first] - runner_up >= 0.05
    ok = (confidence[first] >= settings.match_threshold) & clear
    first = pd.DataFrame({
        "payment_index": payment_index[first], "invoice_key": invoice_key[best],
        "applied_cents": amount[payment[best]], "method": "fuzzy " + field[best],
        "confidence": confidence[first], "recorded_invoice_key": None})
    return first[ok], first[~ok], invoice[best][ok]


def _evidence_matches(p: pd.DataFrame, inv: pd.DataFrame,
                      settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Stage 4: same patient, amount and date; one invoice or a unique subset of open invoices:
    (applied, candidates, the applied invoices as positions in `inv`). `inv` carries each
    invoice's open_cents."""
    open_ = inv["open_cents"].to_numpy(dtype="int64")
    is_open = np.flatnonzero(open_ > 0)
    at_pay, at_inv = _same_patient(p["patient_id_code"].to_numpy(), p["patient_code"].to_numpy(),
                                   inv["patient_id_code"].to_numpy()[is_open],
                                   inv["patient_code"].to_numpy()[is_open])
    if not len(at_pay):
        return _empty(), _empty(), np.array([], dtype="int64")
    at_inv = is_open[at_inv]
    amount = p["amount_cents"].to_numpy(dtype="int64")[at_pay]
    open_ = open_[at_inv]
    exact = np.abs(amount - open_) <= settings.tolerance_cents
    partial = amount < open_
    date_ok = _date_ok(p["date"].to_numpy()[at_pay], inv["start"].to_numpy()[at_inv])
    n_open = np.bincount(at_pay)[at_pay]  # the payment's candidates
    n_exact = np.bincount(at_pay[exact], minlength=len(p))[at_pay]
    amount_score = np.where(exact, 0.30, np.where(partial & (n_open == 1), 0.20, 0.0))
    unique = np.where(exact, n_exact == 1, n_open == 1)
    confidence = (0.40 + amount_score + 0.10 * date_ok + 0.15 * unique).round(4)
    payment_index, invoice_key = p.index.to_numpy()[at_pay], inv["invoice_key"].to_numpy()[at_inv]
    order = np.lexsort((pd.factorize(invoice_key, sort=True)[0], -confidence, payment_index))
    first = np.r_[True, payment_index[order][1:] != payment_index[order][:-1]]
    best = order[first]  # each payment's best candidate
    ok = confidence[best] >= settings.match_threshold
    fits = exact[best] | partial[best]
    best_rows = pd.DataFrame({
        "payment_index": payment_index[best], "invoice_key": invoice_key[best],
        "applied_cents": p["amount_cents"].to_numpy()[at_pay[best]],
        "method": np.where(exact[best], "patient + amount + date",
                           "patient + date (partial payment)"),
        "confidence": confidence[best], "recorded_invoice_key": None})
    applied, applied_at = best_rows[fits & ok], at_inv[best[fits & ok]]
    # a payment no single invoice explains may settle a set of the patient's open invoices
    rest = np.flatnonzero(~np.isin(at_pay, at_pay[best[fits & ok]]) & date_ok)
    subsets, subsets_at = _subset_matches(payment_index[rest], invoice_key[rest], at_inv[rest],
                                          amount[rest], open_[rest], settings)
    if len(subsets):
        applied = pd.concat([applied, subsets], ignore_index=True)
        applied_at = np.concatenate([applied_at, subsets_at])
    return applied, best_rows[fits & ~ok], applied_at


def _subset_matches(payment_index: np.ndarray, invoice_key: np.ndarray, invoice_at: np.ndarray,
                    amount: np.ndarray, open_cents: np.ndarray, settings: Settings
                    ) -> tuple[pd.DataFrame, np.ndarray]:
    """A unique set (2+) of one patient's open invoices whose balances sum to the payment, and
    those invoices as positions (`invoice_at`). The arguments are candidate pairs (the payment's
    amount, the invoice's open balance)."""
    rows = []
    balance_of = dict(zip(invoice_key.tolist(), open_cents.tolist()))
    at_of = dict(zip(invoice_key.tolist(), invoice_at.tolist()))
    order = np.argsort(payment_index, kind="stable")
    starts = np.flatnonzero(np.r_[True, payment_index[order][1:] != payment_index[order][:-1]])
    for group in np.split(order, starts[1:]):  # residual payments only, each a handful of pairs
        keys = sorted(set(invoice_key[group].tolist()))
        if len(keys) < 2 or len(keys) > MAX_SUBSET_INVOICES:
            continue
        pidx, amount_ = payment_index[group[0]], int(amount[group[0]])
        balances = [balance_of[k] for k in keys]
        hits = [c for r in range(2, len(keys) + 1) for c in itertools.combinations(range(len(keys)), r)
                if abs(sum(balances[i] for i in c) - amount_) <= settings.tolerance_cents]
        if len(hits) != 1:
            continue
        chosen = hits[0]
        remaining = amount_
        for n, i in enumerate(chosen):
            part = balances[i] if n < len(chosen) - 1 else remaining
            remaining -= part
            rows.append((pidx, keys[i], part, "patient + amount (several invoices) + date", 0.9, None))
    if not rows:
        return _empty(), np.array([], dtype="int64")
    out = pd.DataFrame(rows, columns=list(APPLICATION_COLUMNS))
    out["applied_cents"] = out["applied_cents"].astype("Int64")
    return out, np.array([at_of[key] for key in out["invoice_key"].tolist()], dtype="int64")


def _misapplications(p: pd.DataFrame, inv: pd.DataFrame, applied: dict[str, np.ndarray],
                     applied_at: np.ndarray, settings: Settings) -> pd.DataFrame:
    """Recorded against invoice A while patient, amount and date say invoice B.
    `applied`: the applications' columns, `applied_at`: their invoices as positions in `inv`.

    Returns rows (payment_index, recorded_invoice_key=A, invoice_key=B, invoice_at=B's position)
    for unique B only.
    """
    columns = ["payment_index", "recorded_invoice_key", "invoice_key"]
    recorded_key = applied["recorded_invoice_key"]
    rec = ~pd.isna(recorded_key)
    if not rec.any():
        return pd.DataFrame(columns=columns)
    billed = inv["billed_cents"].to_numpy(dtype="int64")
    paid = sum_at(applied_at, applied["applied_cents"], len(inv))
    at = applied_at[rec]  # the recorded invoice A
    payment_index, recorded_key = applied["payment_index"][rec], recorded_key[rec]
    pay_at = p.index.get_indexer(payment_index)
    pid, pn = p["patient_id_code"].to_numpy()[pay_at], p["patient_code"].to_numpy()[pay_at]
    amount = p["amount_cents"].array[pay_at].to_numpy(dtype="int64")
    patient_known = (pid >= 0) | (pn >= 0)
    ipid, ipn = inv["patient_id_code"].to_numpy(), inv["patient_code"].to_numpy()
    other_patient = _patient_match(pid, pn, ipid[at], ipn[at]) == 0.0
    already = paid[at] - applied["applied_cents"].astype("int64")[rec]
    overpays = already + amount > billed[at] + settings.tolerance_cents
    suspect = np.flatnonzero((other_patient | overpays) & patient_known)
    if not len(suspect):
        return pd.DataFrame(columns=columns)
    at_rec, at_b = _same_patient(pid[suspect], pn[suspect], ipid, ipn)  # B: any of the patient
    at_rec = suspect[at_rec]
    recorded = recorded_key[at_rec]
    invoice = inv["invoice_key"].to_numpy()[at_b]
    fits = ((invoice != recorded)
            & (np.abs(amount[at_rec] - (billed - paid)[at_b]) <= settings.tolerance_cents)
            & _date_ok(p["date"].to_numpy()[pay_at[at_rec]], inv["start"].to_numpy()[at_b]))
    at_rec, recorded, invoice = at_rec[fits], recorded[fits], invoice[fits]
    unique = np.bincount(at_rec, minlength=len(pay_at))[at_rec] == 1
    return pd.DataFrame({"payment_index": payment_index[at_rec[unique]],
                         "recorded_invoice_key": recorded[unique], "invoice_key": invoice[unique],
                         "invoice_at": at_b[fits][unique]})


def match_payments(invoices: pd.DataFrame, payments: pd.DataFrame, settings: Settings,
                   waiting: frozenset = frozenset()) -> Matches:
    """Apply every payment (not duplicates) to invoices; see the module docstring for the stages.
    `waiting`: labels of payments that name an unreadable invoice row (stages 1–2 only)."""
    pending = ~payments["duplicate"].to_numpy() & payments["amount_cents"].notna().to_numpy()
    refs = _references(payments, pending)
    names = _invoice_names(invoices)
    # what the later stages read of the tables, patients as codes (`_patient_codes`)
    codes = _patient_codes(payments, invoices)
    pay = payments[["amount_cents", "date", "kind"]].assign(
        patient_id_code=codes["patient_id_code"], patient_code=codes["patient_code"])
    inv = invoices[["invoice_key", "billed_cents"]].assign(
        patient_id_code=codes["inv_patient_id_code"], patient_code=codes["inv_patient_code"],
        start=invoices["service_date"].fillna(invoices["invoice_date"]))  # when care started
    stage12, stage12_at = _reference_matches(payments, refs, names)
    moved = _misapplications(pay, inv, stage12, stage12_at, settings)
    if len(moved):
        target = pd.Index(moved["payment_index"]).get_indexer(stage12["payment_index"])
        idx = target >= 0
        stage12_at = np.where(idx, moved["invoice_at"].to_numpy()[target], stage12_at)
        stage12.update(
            invoice_key=np.where(idx, moved["invoice_key"].to_numpy()[target],
                                 stage12["invoice_key"]),
            method=np.where(idx, "patient + amount + date (recorded on another invoice)",
                            stage12["method"]),
            confidence=np.where(idx, 0.9, stage12["confidence"]))
    unpaid = invoices["billed_cents"].to_numpy(dtype="int64") - sum_at(
        stage12_at, stage12["applied_cents"], len(invoices))
    stage12 = pd.DataFrame(stage12) if len(stage12_at) else _empty()
    applied = [stage12]
    candidates = []

    left = pay[pending & ~payments.index.isin(stage12["payment_index"])
               & ~payments.index.isin(waiting)]
    fuzzy_ok, fuzzy_no, fuzzy_at = _fuzzy_matches(left, inv.assign(open_cents=unpaid), refs,
                                                  names, settings)
    applied.append(fuzzy_ok)
    candidates.append(fuzzy_no)
    unpaid = unpaid - sum_at(fuzzy_at, fuzzy_ok["applied_cents"].to_numpy(), len(invoices))
    left = left[~left.index.isin(fuzzy_ok["payment_index"])
                & (left["kind"] != "adjustment").to_numpy()]
    ev_ok, ev_no, ev_at = _evidence_matches(left, inv.assign(open_cents=unpaid), settings)
    applied.append(ev_ok)
    candidates.append(ev_no)
    apps = pd.concat([a for a in applied if len(a)] or [_empty()], ignore_index=True)
    apps["applied_cents"] = apps["applied_cents"].astype("Int64")
    # by payment, then invoice: a payment has several rows only when it settles a set of invoices
    # (stage 4), and those are made in invoice_key order
    apps = apps.sort_values("payment_index", kind="mergesort")
    invoice_at = np.concatenate([stage12_at, fuzzy_at, ev_at]).astype("int64")
    invoice_at, apps = invoice_at[apps.index.to_numpy()], apps.reset_index(drop=True)
    cands = pd.concat([c for c in candidates if len(c)] or [_empty()], ignore_index=True)
    cands = cands[~cands["payment_index"].isin(apps["payment_index"])].reset_index(drop=True)
    return Matches(apps, cands, invoice_at)
