"""Bank deposits ↔ 835 remittances (by trace), then ↔ posted payments (by reference or batch).

`match_deposits(deposits, transactions, payments, settings)` gives the `deposit_matches` table
that the section C checks (ERA_WITHOUT_DEPOSIT, DEPOSIT_WITHOUT_ERA, DEPOSIT_AMOUNT_MISMATCH)
read. Every deposit row and every money-moving remittance transaction appears in exactly one row;
notification-only remittances (BPR01 `H` or method `NON`, `moves_money` False) need no deposit and
never appear.

Stages, from the strongest evidence to the weakest:

1. **Trace.** Remittance transactions are grouped by trace (TRN02) key: several ST transactions
   with one trace are one EFT or check and are summed. A deposit names a trace when its
   reference/description holds it, in this order of preference: a `TRN*1*<trace>*` segment,
   the whole reference, or any token (run of letters and digits with at least one digit and at
   least 3 characters) of it — so `ACH CREDIT HCCLAIMPMT TRN*1*0012345678*1512345678~` and
   `EFT 12345678` both name trace `0012345678`. Keys ignore case, punctuation and leading zeros
   (engine.ids.normalize_key). Deposits naming the same trace are summed too. A trace group with
   deposits is `matched` when the totals agree within `settings.tolerance_cents`, else
   `amount_mismatch` (instead of, never in addition to, remit_only / deposit_only). A group
   without deposits is `remit_only`, unless its total is exactly zero (nothing to deposit:
   `matched`).
2. **Reference.** A deposit no remittance explains is explained by postings whose reference
   shares a token with the description (`CHECK 004512` ↔ reference `chk-4512`), posted from 14
   days before to 3 days after the deposit: one posting of the same amount, or all such postings
   of that reference together (one check paying several invoices). Each posting explains at
   most one deposit.
3. **Batch.** Else by a batch of postings of one method (card, cash, check, EFT, or the method
   text as typed) on one day whose sum equals the deposit, dated the deposit day or 1–3 days
   before it (card settlement). The nearest day wins; a description naming a method (CARD,
   CASH, CHECK, ...) prefers batches of that method; each batch explains at most one deposit.
   Postings used in stage 2, adjustments (write-offs: no money), refunds (amount ≤ 0),
   duplicate postings (`duplicate`, see engine.normalise) and postings without a date are
   left out.
4. Otherwise the deposit is `deposit_only`.

Columns of `deposit_matches` (one row per deposit and per money-moving transaction; within a
trace group the i-th transaction and the i-th deposit share a row, so a 1:1 match is one row):

- `group` (str): the match unit — `trace:<trace_key>` for a trace group, `transaction:<label>`
  for a money-moving transaction without a trace, `deposit:<label>` for a deposit that names no
  remitted trace. Status and group totals are the group's.
- `deposit_index`: label of the deposit's row in `deposits`, NA on a transaction-only row.
- `transaction_index`: label of the transaction's row in `transactions` (the engine.x12 table's
  index, equal to its `transaction_index` column), NA on a deposit-only row.
- `trace` (str): TRN02 as the remittance wrote it (first transaction of the group); for a
  deposit-only row the `TRN*1*<trace>` found in its description, if any; else NA.
- `trace_key` (str): the matching key of that trace (upper case, letters and digits only, no
  leading zeros — equal to engine.x12's trace_key for ordinary numeric traces).
- `payer`, `payer_key` (str): the remittance's payer, else the deposit's.
- `method` (str): BPR04 payment method of the group's first transaction (ACH, CHK, ...), NA.
- `payment_date` (datetime64): latest BPR16 date of the group's transactions (NaT if none).
- `deposit_date` (datetime64): this row's deposit date (NaT on a transaction-only row).
- `deposit_cents`, `remit_cents` (Int64): this row's own deposit amount / transaction paid
  amount (NA when the row has none), so column sums never double count.
- `group_deposit_cents`, `group_remit_cents` (Int64): totals of the group (0 when the group has
  no deposit / no transaction; NA when its transactions' amounts are unreadable).
- `transactions`, `deposits` (int64): how many transactions / deposits the group has.
- `status` (str): matched | amount_mismatch | remit_only | deposit_only | explained_by_payments.
- `explained_by` (str or NA): "835 trace 0012345678", "check posting P-123", "postings with
  reference 4512 (3 payments)", "card batch of 2026-03-02 (5 payments)"; NA when nothing does.

Vectorised: tokens are found in one regex pass over the joined texts and merged; candidate pairs
are filtered and de-duplicated with sorts, never with per-row Python loops.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from engine.ids import normalize_key
from engine.positions import equal_pairs
from engine.settings import Settings

STATUSES = ("matched", "amount_mismatch", "remit_only", "deposit_only", "explained_by_payments")
MATCH_COLUMNS = (
    "group", "deposit_index", "transaction_index", "trace", "trace_key", "payer", "payer_key",
    "method", "payment_date", "deposit_date", "deposit_cents", "remit_cents",
    "group_deposit_cents", "group_remit_cents", "transactions", "deposits", "status",
    "explained_by",
)

REFERENCE_DAYS_BEFORE = 14  # a posting may precede its deposit by this many days
REFERENCE_DAYS_AFTER = 3    # ... or follow it by this many
BATCH_MAX_LAG = 3           # a batch may reach the bank up to 3 days after it was taken
MIN_TOKEN = 3               # shorter tokens ("1" of TRN*1*) name nothing
# dtypes once: a dtype name costs a registry lookup per use
_INT64, _US, _OBJECT = pd.Int64Dtype(), np.dtype("datetime64[us]"), np.dtype(object)

_TRN = r"(?i)TRN\s*\*\s*[^*~\\]*\*\s*([^*~\\\s]+)"
# a whole token (a run of letters and digits, not part of a longer one) of at least MIN_TOKEN
# characters that holds a digit
_NAMING_TOKEN = rf"(?<![0-9A-Za-z])(?=[0-9A-Za-z]*[0-9])[0-9A-Za-z]{{{MIN_TOKEN},}}"
_TOKEN_OR_NEWLINE = re.compile(rf"\n|{_NAMING_TOKEN}")
# zeros that start a digit run and are followed by a digit; written to begin with the literal
# 0 (rather than the lookbehind) so that re skips ahead to the next 0
_LEADING_ZEROS = re.compile(r"0(?<![0-9]0)0*(?=[0-9])")
_ADJUSTMENT = r"(?i)write[\s\-]*off|adjust|contractual|discount|w/o|courtesy|bad\s*debt"
_METHOD_GROUPS = (  # (group, pattern on the posting's method, pattern on a bank description)
    ("card", r"(?i)card|visa|master|amex|discover|debit|\bcc\b",
     r"(?i)card|merch|visa|mastercard|amex|bankcard|settle"),
    ("cash", r"(?i)cash", r"(?i)cash"),
    ("check", r"(?i)che(?:ck|que)|\bchk\b", r"(?i)che(?:ck|que)|\bchk\b|remote\s*dep|\brdc\b"),
    ("eft", r"(?i)\beft\b|\bach\b|wire|electronic|direct", r"(?i)\bach\b|\beft\b|wire"),
)


# ---------------------------------------------------------------------------------- helpers
def _keys(text: pd.Series) -> pd.Series:
    """normalize_key once per distinct value (tokens and traces repeat a lot)."""
    if not len(text):
        return pd.Series([], index=text.index, dtype=_OBJECT)
    codes, uniques = pd.factorize(text.to_numpy(dtype=_OBJECT), use_na_sentinel=True)
    keys = normalize_key(pd.Series(uniques, dtype="str")).to_numpy(dtype=object, na_value=None)
    return pd.Series(np.append(keys, None)[codes], index=text.index, dtype=_OBJECT)  # -1: None


def _text(s: pd.Series) -> pd.Series:
    return s.astype("str").fillna("")


def _col(df: pd.DataFrame, name: str, default=pd.NA) -> pd.Series:
    if name in df:
        return df[name]
    return pd.Series(default, index=df.index, dtype=_OBJECT)


def _tokens(text: pd.Series) -> pd.DataFrame:
    """(owner label, key, pos) of each digit-bearing token of at least MIN_TOKEN characters.

    The texts are searched as one newline-joined string, so the regex runs once rather than once
    per row: a token never holds a newline, and each newline found moves on to the next owner.
    """
    texts = _text(text)
    joined = "\n".join(texts.tolist())
    if joined.count("\n") >= len(texts):  # a text holds a newline itself: make it a space
        joined = "\n".join(texts.str.replace("\n", " ", regex=False).tolist())
    found = np.array(_TOKEN_OR_NEWLINE.findall(joined), dtype=object)
    newline = found == "\n"
    owner = np.cumsum(newline)[~newline]  # tokens come in text order
    if not len(owner):
        return pd.DataFrame({"owner": pd.Series([], dtype=_OBJECT),
                             "key": pd.Series([], dtype=_OBJECT),
                             "pos": pd.Series([], dtype="int64")})
    pos = np.arange(len(owner)) - np.searchsorted(owner, owner)
    # tokens are ASCII letters and digits: normalize_key is upper case + leading zeros dropped
    key = _LEADING_ZEROS.sub("", "\n".join(found[~newline]).upper()).split("\n")
    return pd.DataFrame({"owner": text.index.to_numpy()[owner],
                         "key": np.array(key, dtype=object), "pos": pos})


def _trace_in(reference: pd.Series) -> pd.Series:
    """The TRN*1*<trace> each reference holds (None: none)."""
    trn = _text(reference).str.extract(_TRN, expand=False)
    return trn.where(trn.notna() & (trn != ""), None)


def _deposit_names(deposits: pd.DataFrame) -> pd.DataFrame:
    """What each deposit's description could name: (dep, key, prio, pos), best prio first."""
    ref = _col(deposits, "reference")
    tok = _tokens(ref)
    n = len(deposits)
    key = np.concatenate([deposits["trace_key"].to_numpy(), _keys(ref).to_numpy(),
                          tok["key"].to_numpy()])
    named = pd.notna(key)
    dep = np.concatenate([deposits.index, deposits.index, tok["owner"].to_numpy()])[named]
    key = key[named]
    prio = np.repeat([0, 1, 2], [n, n, len(tok)])[named]
    pos = np.concatenate([np.zeros(2 * n, dtype="int64"), tok["pos"].to_numpy()])[named]
    dep_code = pd.factorize(dep, sort=True)[0]  # the labels' order
    order = np.lexsort((pos, prio, dep_code))
    key_code, keys = pd.factorize(key[order])
    first = np.unique(dep_code[order] * len(keys) + key_code, return_index=True)[1]
    keep = order[np.sort(first)]  # each (dep, key) once, at its best
    return pd.DataFrame({"dep": dep[keep], "key": key[keep], "prio": prio[keep],
                         "pos": pos[keep]})


def _int_labels(values) -> pd.Series:
    s = pd.Series(values, dtype=_OBJECT)
    try:
        return s.astype(_INT64)
    except (TypeError, ValueError):
        return s


def _typed(column: str, values: np.ndarray):
    """A deposit_matches column in its documented dtype, None for missing text."""
    if column in ("deposit_index", "transaction_index"):
        return _int_labels(values)
    if column.endswith("_cents"):
        return pd.to_numeric(pd.Series(values), errors="coerce").astype(_INT64)
    if column.endswith("_date"):
        return pd.to_datetime(pd.Series(values), errors="coerce").astype(_US)
    if column in ("transactions", "deposits"):
        return values.astype("int64")
    text = np.array(values, dtype=_OBJECT)  # a copy
    text[pd.isna(text)] = None
    return pd.Series(text, dtype=_OBJECT)


def _no_rows(*columns: str) -> pd.DataFrame:
    """An empty result of object columns, made only when returned (it costs more than the
    checks that lead to it)."""
    return pd.DataFrame({c: pd.Series([], dtype=_OBJECT) for c in columns})


def _empty() -> pd.DataFrame:
    dtypes = {"deposit_index": _INT64, "transaction_index": _INT64,
              "payment_date": _US, "deposit_date": _US,
              "deposit_cents": _INT64, "remit_cents": _INT64, "group_deposit_cents": _INT64,
              "group_remit_cents": _INT64, "transactions": "int64", "deposits": "int64"}
    return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, _OBJECT)) for c in MATCH_COLUMNS})


def _method_group(method: pd.Series) -> pd.Series:
    """card | cash | check | eft, else the method as typed (lower case), else "other"."""
    codes, uniques = pd.factorize(method.to_numpy(dtype=_OBJECT))  # a handful (-1: none)

    def group_of(typed: str) -> str:
        for group, pattern, _ in _METHOD_GROUPS:
            if re.search(pattern, typed):
                return group
        return typed.lower() or "other"

    groups = np.array([group_of(str(m).strip()) for m in uniques] + ["other"], dtype=object)
    return pd.Series(groups[codes], index=method.index, dtype=_OBJECT)


def _description_hint(reference: pd.Series) -> pd.Series:
    """The method a bank description names (first that fits), NA when none."""
    r = _text(reference)
    conds = [r.str.contains(pat, regex=True) for _, _, pat in _METHOD_GROUPS]
    return pd.Series(np.select(conds, [g for g, _, _ in _METHOD_GROUPS], default=None),
                     index=r.index, dtype=_OBJECT)


# ---------------------------------------------------------------------------------- stage 1
def _transaction_groups(transactions: pd.DataFrame) -> dict[str, np.ndarray]:
    """Money-moving transactions by label, with their group id (trace key, else the row itself):
    columns as arrays (stage 1 reads them so), remit_cents as an Int64 array."""
    tx = transactions if transactions is not None else pd.DataFrame()
    moves = _col(tx, "moves_money", True).astype(_OBJECT).where(
        _col(tx, "moves_money", True).notna(), True).astype(bool)
    rows = np.flatnonzero(moves.to_numpy())
    rows = rows[np.argsort(tx.index.to_numpy()[rows], kind="stable")]

    def column(name: str, default=pd.NA) -> pd.Series:
        return _col(tx, name, default).iloc[rows]

    key = _keys(column("trace")).to_numpy()
    label = tx.index[rows].astype(str).to_numpy(dtype=object)
    traced = pd.notna(key)
    return {
        "tx": tx.index.to_numpy()[rows],
        "group": np.where(traced, "trace:" + np.where(traced, key, ""), "transaction:" + label),
        "key": key,
        "trace": column("trace").to_numpy(dtype=object),
        "payer": column("payer").to_numpy(dtype=object),
        "payer_key": column("payer_key").to_numpy(dtype=object),
        "method": column("method").to_numpy(dtype=object),
        "payment_date": pd.to_datetime(column("payment_date", pd.NaT), errors="coerce")
        .to_numpy(dtype="datetime64[us]"),
        "remit_cents": pd.to_numeric(column("paid_cents"), errors="coerce").astype(_INT64).array,
    }


def _trace_pairs(deposits: pd.DataFrame, names: pd.DataFrame, tx: dict[str, np.ndarray],
                 tol: int) -> pd.DataFrame:
    """(dep, group) for each deposit naming a remitted trace; the best name per deposit: by
    priority, then a name whose trace total agrees with the deposit, then position."""
    def none() -> pd.DataFrame:
        return _no_rows("dep", "group")

    if names.empty or not len(tx["tx"]):
        return none()
    traced = pd.notna(tx["key"])
    codes, keys = pd.factorize(tx["key"][traced])
    total = np.zeros(len(keys), dtype=np.int64)
    np.add.at(total, codes, tx["remit_cents"][traced].to_numpy(dtype=np.int64, na_value=0))
    group = tx["group"][traced][np.unique(codes, return_index=True)[1]]  # its first's group
    trace_at = pd.Index(keys).get_indexer(names["key"])  # each name's trace, -1: none
    hit = np.flatnonzero(trace_at >= 0)
    if not len(hit):
        return none()
    trace_at, dep = trace_at[hit], names["dep"].to_numpy()[hit]
    amount = deposits["amount"].iloc[deposits.index.get_indexer(dep)]
    differs = (amount.isna().to_numpy()
               | (np.abs(amount.to_numpy(dtype=np.int64, na_value=0) - total[trace_at]) > tol))
    dep_rank = pd.factorize(dep, sort=True)[0]
    order = np.lexsort((names["pos"].to_numpy()[hit], differs, names["prio"].to_numpy()[hit],
                        dep_rank))
    best = order[np.unique(dep_rank[order], return_index=True)[1]]
    return pd.DataFrame({"dep": dep[best], "group": group[trace_at[best]]})


def _rank_within(codes: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each code, in array order (a groupby cumcount, on an array)."""
    order = np.argsort(codes, kind="stable")
    rank = np.empty(len(codes), dtype=np.int64)
    rank[order] = np.arange(len(codes)) - np.searchsorted(codes[order], codes[order])
    return rank


def _traced(dep: pd.DataFrame, tx: dict[str, np.ndarray], pairs: pd.DataFrame,
            tol: int) -> dict[str, np.ndarray]:
    """Stage 1's deposit_matches columns, as arrays: the i-th transaction of a group (by label)
    and its i-th deposit (by date, then label) share a row; rows by group, then i.

    Plain arrays indexed by group code and row: the merge and groupby transforms they replace
    cost more, in fixed overhead, than the work itself.
    """
    d_at = dep.index.get_indexer(pairs["dep"])  # each pair's deposit, by position
    codes, groups = pd.factorize(np.concatenate([tx["group"],
                                                 pairs["group"].to_numpy(dtype=object)]),
                                 sort=True)
    split = len(tx["tx"])  # transactions first, then deposits
    t_code, d_code = codes[:split], codes[split:]
    d_date = dep["date"].to_numpy()[d_at]
    date_nat_last = np.where(np.isnat(d_date), np.iinfo(np.int64).max, d_date.astype(np.int64))
    label_rank = pd.factorize(pairs["dep"].to_numpy(), sort=True)[0]  # labels' order, as codes
    order = np.lexsort((label_rank, date_nat_last, d_code))
    d_at, d_code = d_at[order], d_code[order]
    t_rank, d_rank = _rank_within(t_code), _rank_within(d_code)
    width = max(t_rank.max(initial=0), d_rank.max(initial=0)) + 1
    row_keys, row_of = np.unique(np.concatenate([t_code * width + t_rank,
                                                 d_code * width + d_rank]), return_inverse=True)
    t_row, d_row = row_of[:split], row_of[split:]
    code = row_keys // width  # each row's group
    n, n_groups = len(row_keys), len(groups)

    def first_known(column: str) -> np.ndarray:  # the group's first value that is not NA
        values = tx[column]
        known = np.flatnonzero(pd.notna(values))
        found, first = np.unique(t_code[known], return_index=True)
        out = np.full(n_groups, np.nan, dtype=object)
        out[found] = values[known[first]]
        return out

    def on_rows(at_row: np.ndarray, values: np.ndarray, missing) -> np.ndarray:
        out = np.full(n, missing, dtype=values.dtype if values.dtype.kind == "M" else object)
        out[at_row] = values
        return out

    n_tx = np.bincount(t_code, minlength=n_groups)
    n_dep = np.bincount(d_code, minlength=n_groups)
    remit = tx["remit_cents"]
    remit_known = ~remit.isna()
    g_remit = np.zeros(n_groups, dtype=np.int64)
    np.add.at(g_remit, t_code, remit.to_numpy(dtype=np.int64, na_value=0))
    g_remit_known = np.bincount(t_code[remit_known], minlength=n_groups) > 0
    g_dep = np.zeros(n_groups, dtype=np.int64)
    np.add.at(g_dep, d_code, dep["amount"].to_numpy(dtype=np.int64, na_value=0)[d_at])
    g_paid = np.full(n_groups, np.datetime64("NaT"), dtype="datetime64[us]")
    np.maximum.at(g_paid.view(np.int64), t_code,  # NaT is the smallest: max skips it
                  tx["payment_date"].view(np.int64))
    status = np.where(
        n_dep == 0, np.where(g_remit_known & (g_remit == 0), "matched", "remit_only"),
        np.where(g_remit_known & (np.abs(g_dep - g_remit) <= tol), "matched", "amount_mismatch"))
    trace = first_known("trace")
    said = "835 trace " + pd.Series(trace, dtype=object).fillna("").astype(str)
    said = said.to_numpy(dtype=object)
    explained = np.where(n_dep == 0, np.where(status == "matched",
                                              said + " pays $0.00: no deposit expected", None),
                         said)
    dep_payer = on_rows(d_row, dep["payer"].to_numpy(dtype=object)[d_at], np.nan)
    dep_payer_key = on_rows(d_row, dep["payer_key"].to_numpy(dtype=object)[d_at], np.nan)
    payer, payer_key = first_known("payer")[code], first_known("payer_key")[code]
    return {
        "group": groups[code],
        "deposit_index": on_rows(d_row, pairs["dep"].to_numpy()[order], np.nan),
        "transaction_index": on_rows(t_row, tx["tx"], np.nan),
        "trace": trace[code],
        "trace_key": first_known("key")[code],
        "payer": np.where(pd.isna(payer), dep_payer, payer),
        "payer_key": np.where(pd.isna(payer_key), dep_payer_key, payer_key),
        "method": first_known("method")[code],
        "payment_date": g_paid[code],
        "deposit_date": on_rows(d_row, d_date[order], np.datetime64("NaT")),
        "deposit_cents": on_rows(d_row, dep["amount"].to_numpy(dtype=object)[d_at], pd.NA),
        "remit_cents": on_rows(t_row, remit.to_numpy(dtype=object), pd.NA),
        "group_deposit_cents": g_dep[code],
        "group_remit_cents": np.where(g_remit_known, g_remit, pd.NA)[code],
        "transactions": n_tx[code],
        "deposits": n_dep[code],
        "status": status[code],
        "explained_by": explained[code],
    }


# ---------------------------------------------------------------------------------- stage 2-3
def _postings(payments: pd.DataFrame) -> pd.DataFrame:
    """Posted money that can reach the bank: (pay, label, method, group, date, amount, ref)."""
    p = payments
    if p is None or not len(p) or "amount_cents" not in p or "date" not in p:
        return pd.DataFrame(columns=["pay", "label", "method", "mgroup", "date", "amount",
                                     "reference", "reference_key"])
    amount = pd.to_numeric(p["amount_cents"], errors="coerce").astype(_INT64)
    date = pd.to_datetime(p["date"], errors="coerce").dt.normalize()
    method = _col(p, "method")
    ok = (amount.to_numpy(dtype="int64", na_value=0) > 0) & date.notna().to_numpy()
    if "kind" in p:
        ok &= p["kind"].to_numpy(dtype=object) != "adjustment"
    else:
        ok &= ~_text(method).str.contains(_ADJUSTMENT, regex=True).to_numpy()
    if "duplicate" in p:
        ok &= ~p["duplicate"].to_numpy(dtype=bool, na_value=False)
    if "payment" in p:
        label = p["payment"]
    else:
        label = _col(p, "payment_id").astype(_OBJECT)
        label = label.where(label.notna(), "Payments row " + _col(p, "row", "?").astype(str))

    def text(values: pd.Series) -> pd.Series:  # object: a DataFrame would infer str, row by row
        return pd.Series(values.to_numpy(dtype=_OBJECT)[ok], dtype=_OBJECT, copy=False)

    method = text(method)
    # the columns are new arrays already: not copied again into one block
    return pd.DataFrame({
        "pay": p.index[ok], "label": text(label), "method": method,
        "mgroup": _method_group(method), "date": date.to_numpy()[ok],
        "amount": amount.to_numpy()[ok], "reference": text(_col(p, "reference")),
        "reference_key": text(_col(p, "reference_key")),
    }, copy=False)


def _with_postings(pairs: pd.DataFrame, post: pd.DataFrame) -> pd.DataFrame:
    """`pairs.join(post, on="pay_row")`. `_postings` numbers its rows 0, 1, …, so every pay_row
    is found by arithmetic on that RangeIndex, where a join would hash a million labels."""
    at = (post.index.get_indexer(pairs["pay_row"]) if isinstance(post.index, pd.RangeIndex)
          else None)
    if at is None or (at < 0).any():
        return pairs.join(post, on="pay_row")
    return pd.concat([pairs, post.take(at).set_axis(pairs.index)], axis=1)


def _by_reference(dep: pd.DataFrame, names: pd.DataFrame, post: pd.DataFrame,
                  tol: int) -> pd.DataFrame:
    """Deposits explained by postings of the same reference: (dep, explained_by, pays)."""
    def none() -> pd.DataFrame:
        return _no_rows("dep", "explained_by", "pays")

    if dep.empty or post.empty:
        return none()
    dnames = names[names["dep"].isin(dep.index)][["dep", "key"]]
    wanted = set(dnames["key"])
    # tokens of each distinct reference once, kept only when some deposit names them
    codes, uniques = pd.factorize(post["reference"].to_numpy(dtype=object))  # -1: none
    utok = _tokens(pd.Series(uniques, dtype=_OBJECT))
    utok = utok[utok["key"].isin(wanted)].drop_duplicates(["owner", "key"])
    whole = post["reference_key"].astype(_OBJECT)
    whole_named = whole.isin(wanted).to_numpy()
    if not whole_named.any() and whole.isna().all():  # a payments table without keys: make them
        whole = _keys(post["reference"])
        whole_named = whole.isin(wanted).to_numpy()
    if utok.empty and not whole_named.any():
        return none()
    # each posting's tokens by the number of its reference (an inner merge on it, on arrays)
    pay_row, tok_at = equal_pairs(codes + 1, utok["owner"].to_numpy(dtype=np.intp) + 1)
    pnames = pd.concat([pd.DataFrame({"pay_row": post.index[pay_row],
                                      "key": utok["key"].to_numpy()[tok_at]}),
                        pd.DataFrame({"pay_row": post.index[whole_named],
                                      "key": whole.to_numpy()[whole_named]})],
                       ignore_index=True).drop_duplicates()
    pairs = dnames.merge(pnames, on="key", how="inner")
    if pairs.empty:
        return none()
    pairs = _with_postings(pairs, post[["pay", "label", "method", "date", "amount"]])
    pairs["dep_date"] = pairs["dep"].map(dep["date"]).to_numpy()
    pairs["dep_amount"] = pairs["dep"].map(dep["amount"]).astype(_INT64).to_numpy()
    lag = (pairs["dep_date"] - pairs["date"]).dt.days
    pairs = pairs[(lag >= -REFERENCE_DAYS_AFTER) & (lag <= REFERENCE_DAYS_BEFORE)].copy()
    if pairs.empty:
        return none()
    pairs["gap"] = (pairs["dep_date"] - pairs["date"]).dt.days.abs()
    pairs = pairs.drop_duplicates(["dep", "key", "pay_row"])
    # one posting of the deposit's amount
    single = pairs[(pairs["amount"] - pairs["dep_amount"]).abs() <= tol].copy()
    single["n"] = 1
    single["pays"] = single["pay_row"].map(lambda r: (r,))
    word = _text(single["method"]).str.strip()
    word = word.where(word.str.isupper(), word.str.lower())  # "EFT" stays, "Check" → "check"
    single["explained_by"] = (word.where(word != "", "posted") + " posting "
                              + _text(single["label"]))
    # all postings of one reference together
    g = pairs.groupby(["dep", "key"], sort=False)
    sums = pd.DataFrame({"total": g["amount"].sum(), "n": g.size(), "gap": g["gap"].max(),
                         "dep_amount": g["dep_amount"].first()}).reset_index()
    sums = sums[(sums["n"] > 1) & ((sums["total"] - sums["dep_amount"]).abs() <= tol)]
    if len(sums):
        members = g["pay_row"].agg(tuple).rename("pays")
        sums = sums.join(members, on=["dep", "key"])
        ref_text = sums["key"].astype(str)
        sums["explained_by"] = ("postings with reference " + ref_text + " ("
                                + sums["n"].astype(str) + " payments)")
    cand = pd.concat([single[["dep", "n", "gap", "pays", "explained_by"]],
                      sums.reindex(columns=["dep", "n", "gap", "pays", "explained_by"])],
                     ignore_index=True)
    if cand.empty:
        return none()
    cand["dep_date"] = cand["dep"].map(dep["date"]).to_numpy()
    cand = cand.sort_values(["n", "gap", "dep_date", "dep"], kind="mergesort")
    chosen = []
    for _ in range(3):  # rounds of one-to-one assignment, not a loop over rows
        best = cand.drop_duplicates("dep")
        used = best.explode("pays")
        clash = used["pays"].duplicated(keep="first")
        lost = set(used.loc[clash.to_numpy(), "dep"])
        best = best[~best["dep"].isin(lost)]
        chosen.append(best)
        taken = set(best.explode("pays")["pays"])
        cand = cand[~cand["dep"].isin(best["dep"])
                    & ~cand["pays"].map(lambda t, taken=taken: bool(taken.intersection(t)))]
        if cand.empty:
            break
    out = pd.concat(chosen, ignore_index=True)
    return out[["dep", "explained_by", "pays"]]


def _by_batch(dep: pd.DataFrame, post: pd.DataFrame, tol: int) -> pd.DataFrame:
    """Deposits explained by one day's postings of one method: (dep, explained_by).

    Batches are numbered in (day, method group) order, so the batches of one day are a run of
    numbers: each deposit's candidates, on its day and up to BATCH_MAX_LAG days before, are found
    by binary search, on plain arrays (a few small frames cost more than the work here).
    """
    def none() -> pd.DataFrame:
        return _no_rows("dep", "explained_by")

    if dep.empty or post.empty:
        return none()
    group_at, groups = pd.factorize(post["mgroup"].to_numpy(dtype=object), sort=True)
    # np.unique's numbers, hashed rather than sorting every posting: a few batches get sorted
    batch_at, batch_key = pd.factorize(_days(post["date"]) * len(groups) + group_at, sort=True)
    batch_day, batch_group = np.divmod(batch_key, len(groups))
    total = np.zeros(len(batch_key), dtype="int64")
    np.add.at(total, batch_at, post["amount"].to_numpy(dtype="int64"))
    d = dep[dep["date"].notna() & dep["amount"].notna()]
    dep_day = _days(d["date"])
    # each deposit once per day of lag: (deposit, lag) pairs, then their batches of that day
    lag = np.repeat(np.arange(BATCH_MAX_LAG + 1), len(d))
    day = np.tile(dep_day, BATCH_MAX_LAG + 1) - lag
    start = np.searchsorted(batch_day, day, side="left")
    count = np.searchsorted(batch_day, day, side="right") - start
    pair = np.repeat(np.arange(len(day)), count)
    run_start = np.cumsum(count) - count  # where each pair's run of batches begins in `pair`
    batch = np.repeat(start - run_start, count) + np.arange(len(pair))
    at, lag = pair % len(d), lag[pair]  # the deposit's position in d
    fits = np.abs(total[batch] - d["amount"].to_numpy(dtype="int64")[at]) <= tol
    at, lag, batch = at[fits], lag[fits], batch[fits]
    if not len(at):
        return none()
    hint = d["hint"].to_numpy(dtype=object)[at]
    off_hint = pd.notna(hint) & (hint != groups[batch_group[batch]])
    label_rank = np.argsort(np.argsort(d.index.to_numpy(), kind="stable"))  # order of labels
    order = np.lexsort((batch, label_rank[at], dep_day[at], lag, off_hint))
    at, batch = at[order], batch[order]
    chosen_at, chosen_batch = [], []
    for _ in range(3):  # rounds of one-to-one assignment: each deposit's best, each batch once
        best = np.sort(np.unique(at, return_index=True)[1])
        best = best[np.sort(np.unique(batch[best], return_index=True)[1])]
        chosen_at.append(at[best])
        chosen_batch.append(batch[best])
        free = ~np.isin(at, at[best]) & ~np.isin(batch, batch[best])
        at, batch = at[free], batch[free]
        if not len(at):
            break
    at, batch = np.concatenate(chosen_at), np.concatenate(chosen_batch)
    n = np.bincount(batch_at, minlength=len(batch_key))[batch]
    name = pd.Series(groups[batch_group[batch]], dtype=_OBJECT).replace({"eft": "EFT"})
    date = pd.Series(np.datetime_as_string(batch_day[batch].astype("datetime64[D]")))
    return pd.DataFrame({"dep": d.index.to_numpy()[at],
                         "explained_by": (name + " batch of " + date + " (" + n.astype(str)
                                          + np.where(n == 1, " payment)", " payments)"))})


def _days(dates: pd.Series) -> np.ndarray:
    """Days since 1970 of dates already normalised to midnight."""
    return dates.to_numpy().astype("datetime64[D]").astype("int64")


# ---------------------------------------------------------------------------------- main
WAITING_COLUMNS = ("trace_key", "source")


def waiting_deposits(left_out: pd.DataFrame | None) -> pd.DataFrame:
    """The traces that Deposits rows the reader left out (a date or amount could not be read)
    name, as stage 1 would read them: (trace_key, source = where the row is), each trace once.
    Their remittances still have no deposit, but the deposit is on a row waiting to be corrected
    rather than missing from the bank, which is what staff need to be told."""
    if left_out is None or not len(left_out):
        return pd.DataFrame({c: pd.Series([], dtype=_OBJECT) for c in WAITING_COLUMNS})
    dep = pd.DataFrame({"reference": _col(left_out, "reference").astype(_OBJECT)},
                       index=left_out.index)
    dep["trace_key"] = _keys(_trace_in(dep["reference"]))
    names = _deposit_names(dep)
    source = _col(left_out, "source").astype(_OBJECT)
    return pd.DataFrame({"trace_key": names["key"].to_numpy(dtype=object),
                         "source": source.loc[names["dep"]].to_numpy(dtype=object)},
                        dtype=_OBJECT).drop_duplicates("trace_key").reset_index(drop=True)


def match_deposits(deposits: pd.DataFrame, transactions: pd.DataFrame, payments: pd.DataFrame,
                   settings: Settings) -> pd.DataFrame:
    """The deposit_matches table (see the module docstring)."""
    tol = int(settings.tolerance_cents)
    deposits = deposits if deposits is not None else pd.DataFrame()
    dep = pd.DataFrame({
        "date": pd.to_datetime(_col(deposits, "date", pd.NaT), errors="coerce")
        .dt.normalize().astype(_US),
        "amount": pd.to_numeric(_col(deposits, "amount_cents"), errors="coerce").astype(_INT64),
        "reference": _col(deposits, "reference").astype(_OBJECT),
        "payer": _col(deposits, "payer").astype(_OBJECT),
        "payer_key": _col(deposits, "payer_key").astype(_OBJECT),
    }, index=deposits.index)
    dep["trace"] = _trace_in(dep["reference"])
    dep["trace_key"] = _keys(dep["trace"])
    tx = _transaction_groups(transactions)
    if dep.empty and not len(tx["tx"]):
        return _empty()
    names = _deposit_names(dep) if len(dep) else pd.DataFrame(columns=["dep", "key", "prio",
                                                                          "pos"])

    # stage 1: traces
    pairs = _trace_pairs(dep, names, tx, tol)
    in_trace = dep.index.isin(pairs["dep"])
    traced = _traced(dep, tx, pairs, tol)  # the columns as arrays: typed once, at the end

    # stages 2-4: deposits no remittance names
    rest = dep[~in_trace].copy()
    rest["hint"] = _description_hint(rest["reference"])
    post = _postings(payments)
    by_ref = _by_reference(rest, names, post, tol)
    used = set(by_ref.explode("pays")["pays"]) if len(by_ref) else set()
    left = rest[~rest.index.isin(by_ref["dep"])]
    by_batch = _by_batch(left, post.loc[~post.index.isin(used), ["date", "mgroup", "amount"]], tol)
    explained = [by_ref, by_batch]  # each deposit in one of them at most
    why_at = pd.Index(np.concatenate([e["dep"].to_numpy() for e in explained]),
                      dtype=_OBJECT).get_indexer(rest.index)  # -1: none
    rest_why = np.append(np.concatenate([e["explained_by"].to_numpy(dtype=object)
                                         for e in explained]), None)[why_at]
    labels = pd.Series(rest.index.astype(str), index=rest.index)
    none = np.full(len(rest), None, dtype=object)
    alone = {
        "group": ("deposit:" + labels).to_numpy(),
        "deposit_index": rest.index.to_numpy(),
        "transaction_index": none,
        "trace": rest["trace"].to_numpy(),
        "trace_key": rest["trace_key"].to_numpy(),
        "payer": rest["payer"].to_numpy(),
        "payer_key": rest["payer_key"].to_numpy(),
        "method": none,
        "payment_date": np.full(len(rest), np.datetime64("NaT"), dtype="datetime64[us]"),
        "deposit_date": rest["date"].to_numpy(),
        "deposit_cents": rest["amount"].to_numpy(),
        "remit_cents": np.full(len(rest), pd.NA, dtype=object),
        "group_deposit_cents": rest["amount"].fillna(0).to_numpy(),
        "group_remit_cents": np.zeros(len(rest), dtype="int64"),
        "transactions": np.zeros(len(rest), dtype="int64"),
        "deposits": np.ones(len(rest), dtype="int64"),
        "status": np.where(pd.notna(rest_why), "explained_by_payments", "deposit_only"),
        "explained_by": rest_why,
    }

    parts = [part for part in (traced, alone) if len(part["group"])]
    if not parts:
        out = _empty()
        return pd.DataFrame({c: _typed(c, out[c].to_numpy()) for c in MATCH_COLUMNS})
    return pd.DataFrame({c: _typed(c, np.concatenate([part[c] for part in parts]))
                         for c in MATCH_COLUMNS})
