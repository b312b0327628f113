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
        return pd.Series([], index=text.index, dtype="object")
    codes, uniques = pd.factorize(text.astype("object"), use_na_sentinel=True)
    keys = normalize_key(pd.Series(uniques, dtype="str")).astype("object")
    keys = keys.where(keys.notna(), None).to_numpy()
    out = np.full(len(text), None, dtype=object)
    found = codes >= 0
    out[found] = keys[codes[found]]
    return pd.Series(out, index=text.index, dtype="object")


def _text(s: pd.Series) -> pd.Series:
    return s.astype("object").where(s.notna(), "").astype(str)


def _col(df: pd.DataFrame, name: str, default=pd.NA) -> pd.Series:
    if name in df:
        return df[name]
    return pd.Series(default, index=df.index, dtype="object")


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
        return pd.DataFrame({"owner": pd.Series([], dtype="object"),
                             "key": pd.Series([], dtype="object"),
                             "pos": pd.Series([], dtype="int64")})
    pos = np.arange(len(owner)) - np.searchsorted(owner, owner)
    # tokens are ASCII letters and digits: normalize_key is upper case + leading zeros dropped
    key = _LEADING_ZEROS.sub("", "\n".join(found[~newline]).upper()).split("\n")
    return pd.DataFrame({"owner": text.index.to_numpy()[owner],
                         "key": np.array(key, dtype=object), "pos": pos})


def _deposit_names(deposits: pd.DataFrame) -> pd.DataFrame:
    """What each deposit's description could name: (dep, key, prio, pos), best prio first."""
    ref = _col(deposits, "reference")
    parts = []
    parts.append(pd.DataFrame({"dep": deposits.index, "key": deposits["trace_key"].to_numpy(),
                               "prio": 0, "pos": 0}))
    parts.append(pd.DataFrame({"dep": deposits.index, "key": _keys(ref).to_numpy(), "prio": 1,
                               "pos": 0}))
    tok = _tokens(ref)
    parts.append(pd.DataFrame({"dep": tok["owner"].to_numpy(), "key": tok["key"].to_numpy(),
                               "prio": 2, "pos": tok["pos"].to_numpy()}))
    names = pd.concat(parts, ignore_index=True)
    names = names[names["key"].notna()]
    return (names.sort_values(["dep", "prio", "pos"], kind="mergesort")
            .drop_duplicates(["dep", "key"]).reset_index(drop=True))


def _int_labels(values) -> pd.Series:
    s = pd.Series(values, dtype="object")
    try:
        return s.astype("Int64")
    except (TypeError, ValueError):
        return s


def _typed(column: str, values: pd.Series):
    """A deposit_matches column in its documented dtype, None for missing text."""
    if column in ("deposit_index", "transaction_index"):
        return _int_labels(values.to_numpy())
    if column.endswith("_cents"):
        return pd.to_numeric(values, errors="coerce").astype("Int64")
    if column.endswith("_date"):
        return pd.to_datetime(values, errors="coerce").astype("datetime64[us]")
    if column in ("transactions", "deposits"):
        return values.astype("int64")
    text = values.to_numpy(dtype="object").copy()  # to_numpy can return a view
    text[pd.isna(text)] = None
    return pd.Series(text, dtype="object")


def _empty() -> pd.DataFrame:
    dtypes = {"deposit_index": "Int64", "transaction_index": "Int64",
              "payment_date": "datetime64[us]", "deposit_date": "datetime64[us]",
              "deposit_cents": "Int64", "remit_cents": "Int64", "group_deposit_cents": "Int64",
              "group_remit_cents": "Int64", "transactions": "int64", "deposits": "int64"}
    return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, "object")) for c in MATCH_COLUMNS})


def _method_group(method: pd.Series) -> pd.Series:
    """card | cash | check | eft, else the method as typed (lower case), else "other"."""
    codes, uniques = pd.factorize(method.to_numpy(dtype="object"))  # a handful (-1: none)
    m = pd.Series(uniques, dtype="object").astype(str).str.strip()
    conds = [m.str.contains(pat, regex=True).to_numpy() for _, pat, _ in _METHOD_GROUPS]
    other = m.str.lower().where(m != "", "other").to_numpy()
    groups = np.select(conds, [g for g, _, _ in _METHOD_GROUPS], default=None)
    groups = np.append(np.where(pd.isna(groups), other, groups).astype(object), "other")
    return pd.Series(groups[codes] if len(codes) else [], index=method.index, dtype="object")


def _description_hint(reference: pd.Series) -> pd.Series:
    """The method a bank description names (first that fits), NA when none."""
    r = _text(reference)
    conds = [r.str.contains(pat, regex=True) for _, _, pat in _METHOD_GROUPS]
    return pd.Series(np.select(conds, [g for g, _, _ in _METHOD_GROUPS], default=None),
                     index=r.index, dtype="object")


# ---------------------------------------------------------------------------------- stage 1
def _transaction_groups(transactions: pd.DataFrame) -> pd.DataFrame:
    """Money-moving transactions with their group id (trace key, else the row itself)."""
    tx = transactions if transactions is not None else pd.DataFrame()
    moves = _col(tx, "moves_money", True).astype("object").where(
        _col(tx, "moves_money", True).notna(), True).astype(bool)
    tx = tx[moves.to_numpy()]
    key = _keys(_col(tx, "trace"))
    label = pd.Series(tx.index.astype(str), index=tx.index)
    group = ("trace:" + key).where(key.notna(), "transaction:" + label)
    out = pd.DataFrame({
        "tx": tx.index, "group": group.to_numpy(), "key": key.to_numpy(),
        "trace": _col(tx, "trace").astype("object").to_numpy(),
        "payer": _col(tx, "payer").astype("object").to_numpy(),
        "payer_key": _col(tx, "payer_key").astype("object").to_numpy(),
        "method": _col(tx, "method").astype("object").to_numpy(),
        "payment_date": pd.to_datetime(_col(tx, "payment_date", pd.NaT), errors="coerce")
        .astype("datetime64[us]").to_numpy(),
        "remit_cents": pd.to_numeric(_col(tx, "paid_cents"), errors="coerce")
        .astype("Int64").to_numpy(),
    })
    return out.sort_values("tx", kind="mergesort").reset_index(drop=True)


def _trace_pairs(deposits: pd.DataFrame, names: pd.DataFrame, tx: pd.DataFrame,
                 tol: int) -> pd.DataFrame:
    """(dep, group) for each deposit naming a remitted trace; the best name per deposit."""
    if names.empty or tx.empty:
        return pd.DataFrame({"dep": pd.Series([], dtype="object"),
                             "group": pd.Series([], dtype="object")})
    by_key = tx[tx["key"].notna()].groupby("key", sort=False)
    totals = pd.DataFrame({"group": by_key["group"].first(), "total": by_key["remit_cents"].sum()})
    hit = names.merge(totals, left_on="key", right_index=True, how="inner")
    if hit.empty:
        return pd.DataFrame({"dep": pd.Series([], dtype="object"),
                             "group": pd.Series([], dtype="object")})
    amount = hit["dep"].map(deposits["amount_cents"]).astype("Int64")
    hit["differs"] = ((amount - hit["total"].astype("Int64")).abs() > tol).fillna(True)
    hit = hit.sort_values(["dep", "prio", "differs", "pos"], kind="mergesort")
    return hit.drop_duplicates("dep")[["dep", "group"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------- stage 2-3
def _postings(payments: pd.DataFrame) -> pd.DataFrame:
    """Posted money that can reach the bank: (pay, label, method, group, date, amount, ref)."""
    p = payments
    if p is None or not len(p) or "amount_cents" not in p or "date" not in p:
        return pd.DataFrame(columns=["pay", "label", "method", "mgroup", "date", "amount",
                                     "reference", "reference_key"])
    amount = pd.to_numeric(p["amount_cents"], errors="coerce").astype("Int64")
    date = pd.to_datetime(p["date"], errors="coerce").dt.normalize()
    method = _col(p, "method")
    ok = amount.notna() & (amount > 0) & date.notna()
    if "kind" in p:
        ok &= p["kind"].to_numpy(dtype=object) != "adjustment"
    else:
        ok &= ~_text(method).str.contains(_ADJUSTMENT, regex=True)
    if "duplicate" in p:
        ok &= ~p["duplicate"].to_numpy(dtype=bool, na_value=False)
    if "payment" in p:
        label = _col(p, "payment").astype("object")
    else:
        label = _col(p, "payment_id").astype("object")
        label = label.where(label.notna(), "Payments row " + _col(p, "row", "?").astype(str))
    ok = ok.fillna(False).astype(bool).to_numpy()

    def text(values: pd.Series) -> pd.Series:  # object: a DataFrame would infer str, row by row
        return pd.Series(values.to_numpy(dtype="object")[ok], dtype="object")

    return pd.DataFrame({
        "pay": p.index[ok], "label": text(label), "method": text(method),
        "mgroup": text(_method_group(method)), "date": date.to_numpy()[ok],
        "amount": amount.to_numpy()[ok], "reference": text(_col(p, "reference")),
        "reference_key": text(_col(p, "reference_key")),
    })


def _by_reference(dep: pd.DataFrame, names: pd.DataFrame, post: pd.DataFrame,
                  tol: int) -> pd.DataFrame:
    """Deposits explained by postings of the same reference: (dep, explained_by, pays)."""
    none = pd.DataFrame({"dep": pd.Series([], dtype="object"),
                         "explained_by": pd.Series([], dtype="object"),
                         "pays": pd.Series([], dtype="object")})
    if dep.empty or post.empty:
        return none
    dnames = names[names["dep"].isin(dep.index)][["dep", "key"]]
    wanted = set(dnames["key"])
    # tokens of each distinct reference once, kept only when some deposit names them
    codes, uniques = pd.factorize(post["reference"].to_numpy(dtype=object))  # -1: none
    utok = _tokens(pd.Series(uniques, dtype="object"))
    utok = utok[utok["key"].isin(wanted)].drop_duplicates(["owner", "key"])
    whole = post["reference_key"].astype("object")
    if whole.isna().all():  # a payments table without keys: make them
        whole = _keys(post["reference"])
    whole_named = whole.isin(wanted).to_numpy()
    if utok.empty and not whole_named.any():
        return none
    by_code = pd.DataFrame({"pay_row": post.index, "owner": codes})
    whole = pd.DataFrame({"pay_row": post.index, "key": whole.to_numpy()})
    pnames = pd.concat([by_code.merge(utok, on="owner", how="inner")[["pay_row", "key"]],
                        whole[whole_named]], ignore_index=True).drop_duplicates()
    pairs = dnames.merge(pnames, on="key", how="inner")
    if pairs.empty:
        return none
    pairs = pairs.join(post[["pay", "label", "method", "date", "amount"]], on="pay_row")
    pairs["dep_date"] = pairs["dep"].map(dep["date"]).to_numpy()
    pairs["dep_amount"] = pairs["dep"].map(dep["amount"]).astype("Int64").to_numpy()
    lag = (pairs["dep_date"] - pairs["date"]).dt.days
    pairs = pairs[(lag >= -REFERENCE_DAYS_AFTER) & (lag <= REFERENCE_DAYS_BEFORE)].copy()
    if pairs.empty:
        return none
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
        return none
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
    none = pd.DataFrame({"dep": pd.Series([], dtype="object"),
                         "explained_by": pd.Series([], dtype="object")})
    if dep.empty or post.empty:
        return none
    group_at, groups = pd.factorize(post["mgroup"].to_numpy(dtype=object), sort=True)
    batch_key, batch_at = np.unique(_days(post["date"]) * len(groups) + group_at,
                                    return_inverse=True)
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
        return none
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
    name = pd.Series(groups[batch_group[batch]], dtype="object").replace({"eft": "EFT"})
    date = pd.Series(np.datetime_as_string(batch_day[batch].astype("datetime64[D]")))
    return pd.DataFrame({"dep": d.index.to_numpy()[at],
                         "explained_by": (name + " batch of " + date + " (" + n.astype(str)
                                          + np.where(n == 1, " payment)", " payments)"))})


def _days(dates: pd.Series) -> np.ndarray:
    """Days since 1970 of dates already normalised to midnight."""
    return dates.to_numpy().astype("datetime64[D]").astype("int64")


# ---------------------------------------------------------------------------------- main
def match_deposits(deposits: pd.DataFrame, transactions: pd.DataFrame, payments: pd.DataFrame,
                   settings: Settings) -> pd.DataFrame:
    """The deposit_matches table (see the module docstring)."""
    tol = int(settings.tolerance_cents)
    deposits = deposits if deposits is not None else pd.DataFrame()
    dep = pd.DataFrame({
        "date": pd.to_datetime(_col(deposits, "date", pd.NaT), errors="coerce")
        .dt.normalize().astype("datetime64[us]"),
        "amount": pd.to_numeric(_col(deposits, "amount_cents"), errors="coerce").astype("Int64"),
        "reference": _col(deposits, "reference").astype("object"),
        "payer": _col(deposits, "payer").astype("object"),
        "payer_key": _col(deposits, "payer_key").astype("object"),
    }, index=deposits.index)
    dep["amount_cents"] = dep["amount"]
    trn = _text(dep["reference"]).str.extract(_TRN, expand=False)
    dep["trace"] = trn.where(trn.notna() & (trn != ""), None)  # the TRN*1*<trace> it holds
    dep["trace_key"] = _keys(dep["trace"])
    tx = _transaction_groups(transactions)
    if dep.empty and tx.empty:
        return _empty()
    names = _deposit_names(dep) if len(dep) else pd.DataFrame(columns=["dep", "key", "prio",
                                                                          "pos"])

    # stage 1: traces
    pairs = _trace_pairs(dep, names, tx, tol)
    in_trace = dep.index.isin(pairs["dep"])
    dg = pd.DataFrame({"dep": pairs["dep"].to_numpy(), "group": pairs["group"].to_numpy()})
    dg["date"] = dep["date"].reindex(dg["dep"]).to_numpy()
    dg["deposit_cents"] = dep["amount"].reindex(dg["dep"]).astype("Int64").to_numpy()
    dg = dg.sort_values(["group", "date", "dep"], kind="mergesort", na_position="last")
    dg["rank"] = dg.groupby("group", sort=False).cumcount()
    tx["rank"] = tx.groupby("group", sort=False).cumcount()
    rows = tx.merge(dg, on=["group", "rank"], how="outer", sort=False)
    rows["group"] = rows["group"].astype("object")
    grp = rows.groupby("group", sort=False)
    n_tx = grp["tx"].transform("count")
    n_dep = grp["dep"].transform("count")
    g_remit = grp["remit_cents"].transform("sum", min_count=1).astype("Int64")
    g_dep = grp["deposit_cents"].transform("sum").astype("Int64")
    first = grp[["trace", "payer", "payer_key", "method"]].transform("first")
    pay_date = grp["payment_date"].transform("max")
    status = np.where(n_dep == 0,
                      np.where((g_remit == 0).fillna(False), "matched", "remit_only"),
                      np.where(((g_dep - g_remit).abs() <= tol).fillna(False), "matched",
                               "amount_mismatch"))
    trace_text = first["trace"].astype("object")
    explained = np.where(
        n_dep == 0,
        np.where(status == "matched", "835 trace " + trace_text.fillna("").astype(str)
                 + " pays $0.00: no deposit expected", None),
        "835 trace " + trace_text.fillna("").astype(str))
    dep_payer = rows["dep"].map(dep["payer"])
    dep_payer_key = rows["dep"].map(dep["payer_key"])
    traced = pd.DataFrame({
        "group": rows["group"].to_numpy(),
        "deposit_index": rows["dep"].to_numpy(),
        "transaction_index": rows["tx"].to_numpy(),
        "trace": trace_text.to_numpy(),
        "trace_key": rows["group"].str.removeprefix("trace:").where(
            rows["group"].str.startswith("trace:"), None).to_numpy(),
        "payer": first["payer"].fillna(dep_payer).to_numpy(),
        "payer_key": first["payer_key"].fillna(dep_payer_key).to_numpy(),
        "method": first["method"].to_numpy(),
        "payment_date": pay_date.to_numpy(),
        "deposit_date": rows["date"].to_numpy(),
        "deposit_cents": rows["deposit_cents"].astype("Int64").to_numpy(),
        "remit_cents": rows["remit_cents"].astype("Int64").to_numpy(),
        "group_deposit_cents": g_dep.fillna(0).to_numpy(),
        "group_remit_cents": g_remit.where(n_tx > 0, 0).to_numpy(),
        "transactions": n_tx.astype("int64").to_numpy(),
        "deposits": n_dep.astype("int64").to_numpy(),
        "status": status,
        "explained_by": explained,
    })

    # stages 2-4: deposits no remittance names
    rest = dep[~in_trace].copy()
    rest["hint"] = _description_hint(rest["reference"])
    post = _postings(payments)
    by_ref = _by_reference(rest, names, post, tol)
    used = set(by_ref.explode("pays")["pays"]) if len(by_ref) else set()
    left = rest[~rest.index.isin(by_ref["dep"])]
    by_batch = _by_batch(left, post.loc[~post.index.isin(used), ["date", "mgroup", "amount"]], tol)
    explained_by = pd.concat([by_ref[["dep", "explained_by"]], by_batch], ignore_index=True)
    why = pd.Series(explained_by["explained_by"].to_numpy(),
                    index=pd.Index(explained_by["dep"].to_numpy(), dtype="object"),
                    dtype="object")
    rest_why = pd.Series(rest.index, index=rest.index).map(why) if len(why) else \
        pd.Series(None, index=rest.index, dtype="object")
    labels = pd.Series(rest.index.astype(str), index=rest.index)
    alone = pd.DataFrame({
        "group": ("deposit:" + labels).to_numpy(),
        "deposit_index": rest.index.to_numpy(),
        "transaction_index": None,
        "trace": rest["trace"].to_numpy(),
        "trace_key": rest["trace_key"].to_numpy(),
        "payer": rest["payer"].to_numpy(),
        "payer_key": rest["payer_key"].to_numpy(),
        "method": None,
        "payment_date": pd.NaT,
        "deposit_date": rest["date"].to_numpy(),
        "deposit_cents": rest["amount"].to_numpy(),
        "remit_cents": pd.NA,
        "group_deposit_cents": rest["amount"].fillna(0).to_numpy(),
        "group_remit_cents": 0,
        "transactions": 0,
        "deposits": 1,
        "status": np.where(rest_why.notna(), "explained_by_payments", "deposit_only"),
        "explained_by": rest_why.to_numpy(),
    }, index=pd.RangeIndex(len(rest)))

    frames = [f for f in (traced, alone) if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else _empty()
    return pd.DataFrame({c: _typed(c, out[c]) for c in MATCH_COLUMNS})
