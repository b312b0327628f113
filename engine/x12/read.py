"""Read an X12 835 remittance into flat tables: transactions, claims, lines, adjustments, PLB.

The 835 is a tree (transaction → claim → service line, with adjustments at claim and line level
and provider-level adjustments at the end), but reconciliation needs joins and group sums, so the
tree is flattened into DataFrames linked by integer indices. Every record keeps `file`,
`segment` (its own 1-based segment number) and `source` (`"era/acme.835 segment 57"`) so any
finding can point staff to the exact place in the file.

Reading is one pass over the tokenised segments with a small state machine. In a file whose
claims are cleanly written — nearly every payer file — the state machine reads only the envelopes
and transaction headers, and the claims, lines and adjustments are read as columns
(engine.x12.columnar), each distinct segment text once; a file with anything odd inside a claim
is read segment by segment throughout. Amounts become integer cents by a string split (no floats,
no Decimal on the fast path). A segment that cannot be understood becomes a problem record —
file, segment and what was expected, never the values themselves, which may be patient data —
and reading carries on: a remittance file is never refused because one segment is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from engine.read.memory import paused_gc
from engine.x12.columnar import read_claims
from engine.x12.tokenize import (
    Delimiters,
    Tokens,
    split_composite,
    tokenize,
)
from engine.x12.values import (
    BLANKS,
    CLAIM_DATES,
    DAY_TYPE,
    LINE_DATES,
    NO_DAY,
    REMARK_ELEMENTS,
    cents,
    date_text,
    day,
    element,
    object_grid,
    original_procedure,
    procedure,
    service_elements,
    to_number,
    valid_date,
)

try:  # the shared identifier keys, so 835 claims join the workbook's claims
    from engine.ids import normalize_key, normalize_name
except ImportError:  # pragma: no cover - engine.ids is part of the engine
    def normalize_key(text: pd.Series) -> pd.Series:
        s = text.astype("str").str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
        s = s.str.replace(r"(?<![0-9])0+(?=[0-9])", "", regex=True)
        return s.where(s.notna() & (s != ""), pd.NA)

    def normalize_name(text: pd.Series) -> pd.Series:
        s = text.astype("str").str.upper().str.replace(r"[^0-9A-Z ]", " ", regex=True)
        s = s.str.split().str.join(" ")
        return s.where(s.notna() & (s != ""), pd.NA)

TRANSACTION_COLUMNS = (
    "transaction_index", "file", "segment", "source", "control", "version", "handling",
    "paid_cents", "credit_debit", "method", "payment_date", "trace", "trace_key", "payer_id",
    "payer", "payer_key", "payer_ref", "payee", "payee_npi", "payee_id", "moves_money",
    "plb_total_cents", "complete",
)
CLAIM_COLUMNS = (
    "claim_index", "transaction_index", "file", "segment", "source", "claim", "claim_key",
    "status", "charge_cents", "paid_cents", "patient_resp_cents", "filing_indicator",
    "payer_claim", "patient", "patient_key", "patient_id", "statement_from", "statement_to",
    "received_date", "service_date", "remark_codes", "trace", "trace_key", "payer", "payer_key",
    "complete",
)
LINE_COLUMNS = (
    "line_index", "claim_index", "transaction_index", "file", "segment", "source", "claim",
    "claim_key", "qualifier", "cpt", "cpt_key", "modifier", "modifiers", "modifier1",
    "modifier2", "modifier3", "modifier4", "charge_cents", "paid_cents", "revenue_code", "units",
    "original_cpt", "service_date", "line_control", "allowed_cents", "remark_codes",
)
ADJUSTMENT_COLUMNS = (
    "claim_index", "line_index", "transaction_index", "file", "segment", "source", "level",
    "group", "reason", "amount_cents", "quantity",
)
PLB_COLUMNS = (
    "transaction_index", "file", "segment", "source", "provider_id", "fiscal_date", "reason",
    "reference", "amount_cents", "trace", "trace_key", "payer",
)
PROBLEM_COLUMNS = ("file", "segment", "source", "segment_id", "message", "severity", "claim",
                   "trace")

_INT_COLUMNS = {"transaction_index", "claim_index", "line_index", "segment"}
_MONEY_SUFFIX = "_cents"
_DATE_COLUMNS = {"payment_date", "statement_from", "statement_to", "received_date",
                 "service_date", "fiscal_date"}
_FLOAT_COLUMNS = {"units", "quantity"}
_BOOL_COLUMNS = {"moves_money", "complete"}


@dataclass
class Remit:
    """Remittance tables; indices link them (claims.transaction_index → transactions, …)."""

    transactions: pd.DataFrame = field(default_factory=lambda: _frame([], TRANSACTION_COLUMNS))
    claims: pd.DataFrame = field(default_factory=lambda: _frame([], CLAIM_COLUMNS))
    lines: pd.DataFrame = field(default_factory=lambda: _frame([], LINE_COLUMNS))
    adjustments: pd.DataFrame = field(default_factory=lambda: _frame([], ADJUSTMENT_COLUMNS))
    plb: pd.DataFrame = field(default_factory=lambda: _frame([], PLB_COLUMNS))
    problems: pd.DataFrame = field(default_factory=lambda: _frame([], PROBLEM_COLUMNS))


_STR = pd.api.types.pandas_dtype("str")


def _frame(rows: list, columns: tuple[str, ...], reader_rows: bool = False) -> pd.DataFrame:
    """Rows to a typed table: Int64 indices and cents, datetime64 dates, str text.

    `reader_rows` are `_Reader` records: their blank `source` is written here from `file` and
    `segment` (the file alone for a record with no segment), and their *_key columns are left
    empty for `add_keys` to fill.
    """
    table = _Columns(columns, reader_rows)
    table.add(rows)
    return table.frame()


class _Columns:
    """A table built a batch of rows at a time, each batch typed as soon as it is added.

    The reader hands over its finished rows every few ten thousand records and forgets them, so
    the rows of a whole run never exist at once: the per-row lists and the numbers and dates
    they hold are gone as soon as their batch is typed. Text stays as object arrays until
    `frame`.
    """

    def __init__(self, columns: tuple[str, ...], reader_rows: bool = False,
                 suffixes: _SegmentSuffixes | None = None):
        self.columns = columns
        self.reader_rows = reader_rows
        self.suffixes = suffixes or _SegmentSuffixes()
        self.parts: list[list] = [[] for _ in columns]
        self.n = 0

    def add(self, rows: list) -> None:
        grid = object_grid(rows, len(self.columns))
        self.add_columns({c: grid[:, i] for i, c in enumerate(self.columns)})

    def add_columns(self, given: dict) -> None:
        """A batch given as columns: an array per name (a `(values, missing)` pair will do for
        integers and cents), None for a blank; *_key and `source` columns may be left out."""
        columns = self.columns
        first = given[columns[0]]
        n = len(first[0] if isinstance(first, tuple) else first)
        for c, part in zip(columns, self.parts):
            if self.reader_rows and c.endswith("_key"):
                continue
            col = given.get(c)
            if c == "source" and self.reader_rows:  # after `segment` in every table
                numbers, missing = self.parts[columns.index("segment")][-1]
                col = self.suffixes.sources(given["file"], numbers, missing)
            elif c in _INT_COLUMNS or c.endswith(_MONEY_SUFFIX):
                if not isinstance(col, tuple):
                    try:
                        col = (col.astype(np.int64), np.zeros(n, dtype=bool))
                    except TypeError:  # blanks (None) among the numbers
                        missing = pd.isna(col)
                        data = np.zeros(n, dtype=np.int64)
                        data[~missing] = col[~missing].astype(np.int64)
                        col = (data, missing)
            elif c in _DATE_COLUMNS:
                col = _dates(col)
            elif c in _FLOAT_COLUMNS:
                col = _floats(col)
            elif c in _BOOL_COLUMNS:
                col = col.astype("bool")
            elif col.base is not None:  # its own array: a view would keep a whole grid alive
                col = col.copy()
            part.append(col)
        self.n += n

    def frame(self) -> pd.DataFrame:
        if not any(self.parts):
            self.add([])
        out = {}
        # as floats: pandas would look at each cell of a blank object column it makes itself
        blank = np.full(self.n, np.nan)
        for c, part in zip(self.columns, self.parts):
            if not part:  # a key column: a stand-in until `add_keys` fills it
                out[c] = blank
                continue
            if isinstance(part[0], tuple):
                data, missing = _joined([p[0] for p in part]), _joined([p[1] for p in part])
                out[c] = pd.arrays.IntegerArray(data, missing)
            elif part[0].dtype == object:
                out[c] = _texts(_joined(part), owned=len(part) > 1)
            else:
                out[c] = _joined(part)
            part.clear()  # each column's batches go as soon as it is joined
        # the arrays are new and ours alone: no need for the copy pandas makes by default
        return pd.DataFrame(out, index=pd.RangeIndex(self.n), columns=list(self.columns),
                            copy=False)


class _SegmentSuffixes:
    """Writes `source` (`"era/acme.835 segment 57"`, the file alone for a record with no
    segment) as file + `" segment 57"`, each suffix written once per reader.

    Records of one segment (the adjustments of one CAS) share one text.
    """

    def __init__(self):
        self.texts = np.empty(0, dtype=object)

    def sources(self, files: np.ndarray, numbers: np.ndarray, missing: np.ndarray) -> np.ndarray:
        n = len(files)
        if not n:
            return np.empty(0, dtype=object)
        # a record shares its predecessor's text when both name the same segment of one file;
        # file names (objects) are compared only where the numbers already match, which is rare
        same = (numbers[1:] == numbers[:-1]) & (missing[1:] == missing[:-1])
        candidates = np.flatnonzero(same)
        same[candidates] = files[candidates + 1] == files[candidates]
        new = np.ones(n, dtype=bool)
        new[1:] = ~same
        firsts = np.flatnonzero(new)
        files, numbers, missing = files[firsts], numbers[firsts], missing[firsts]
        numbers = np.where(missing, 0, numbers)
        top = int(numbers.max()) + 1
        if top > len(self.texts):
            have = len(self.texts)
            more = np.empty(max(top, have + have // 4) - have, dtype=object)
            more[:] = [f" segment {i}" for i in range(have, have + len(more))]
            self.texts = np.concatenate([self.texts, more])
        texts = np.add(files, self.texts[numbers])
        texts[missing] = files[missing]
        return texts[np.cumsum(new) - 1]


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _texts(col: np.ndarray, owned: bool = False) -> pd.api.extensions.ExtensionArray:
    """Text cells (str or None) as a str array, as `pd.array` makes it but with no copy of an
    `owned` `col` (one no other table or column holds); `col` is overwritten.

    `pd.array` converts each blank on its own at a cost many times that of a text, so a
    column that looks mostly blank has its blanks marked in one vectorised pass instead (the
    result is the same either way).
    """
    if len(col) and np.equal(col[:64], None).mean() > 0.25:
        col[np.equal(col, None)] = np.nan
        try:
            return pd.arrays.StringArray(col, dtype=_STR)
        except (TypeError, ValueError):  # not all text, or a pandas without this signature
            pass
    return _STR.construct_array_type()._from_sequence(col, dtype=_STR, copy=not owned)


def _floats(col: np.ndarray) -> np.ndarray:
    """Numbers (or None) as float64, blanks as NaN."""
    try:
        return col.astype(np.float64)  # the reader's cells: floats and None
    except (TypeError, ValueError):
        return pd.to_numeric(pd.Series(col), errors="coerce").astype("float64").to_numpy()


def _dates(col: np.ndarray) -> np.ndarray:
    """CCYYMMDD texts (or None) to datetime64[us] (NaT for anything else), each distinct text
    parsed once per run: a batch is typed per file, and a file holds a few hundred dates.
    Dates already typed (the column reader's) are taken as they are."""
    if col.dtype == DAY_TYPE:
        return col
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    days = np.array([day(text) for text in uniques] + [NO_DAY], dtype=DAY_TYPE)
    return days[codes]  # code -1: no date


def _version(text: str) -> str | None:
    if "00501" in text or "005010" in text:
        return "5010"
    if "00401" in text or "004010" in text:
        return "4010"
    return None


_ELEMENT_NAMES = {
    "BPR02": "the total payment", "CLP03": "the claim charge", "CLP04": "the claim payment",
    "CLP05": "the patient responsibility", "SVC02": "the line charge", "SVC03": "the line payment",
    "SVC05": "the units", "AMT02": "the amount", "PLB": "the adjustment amount",
    "CAS": "the adjustment amount",
}
_CLAIM_DATES = {qualifier: CLAIM_COLUMNS.index(column)  # DTM01 → slot in a claim's row
                for qualifier, column in CLAIM_DATES.items()}
_ENVELOPE = frozenset(("ISA", "GE", "IEA", "TA1"))


_BATCH = 1 << 16  # claim, line and adjustment rows kept before they are typed and let go


class _Memo(dict):
    """`convert` of each text a reader has seen: a repeat costs one dict look-up, no call."""

    def __init__(self, convert):
        super().__init__()
        self.convert = convert

    def __missing__(self, token: str):
        value = self[token] = self.convert(token)
        return value


class _Reader:
    """One pass over a file's segments; appends rows to the per-table lists.

    Rows leave `source` blank: `_Columns` writes the whole column at once from `file` and
    `segment`, which costs a fraction of formatting it per record. Once a transaction is
    closed its rows are final, and the three big tables hand them over to their `_Columns`
    in batches (`flush`). Texts that repeat from row to row (codes, names) are kept once in
    `shared`, so a million adjustments hold a handful of group codes, not a million copies.
    """

    def __init__(self, name: str):
        self.transactions: list[list] = []
        self.claims: list[list] = []
        self.lines: list[list] = []
        self.adjustments: list[tuple] = []
        self.plb: list[tuple] = []
        self.problems: list[tuple] = []
        suffixes = _SegmentSuffixes()
        self.claim_table = _Columns(CLAIM_COLUMNS, True, suffixes)
        self.line_table = _Columns(LINE_COLUMNS, True, suffixes)
        self.adjustment_table = _Columns(ADJUSTMENT_COLUMNS, True, suffixes)
        self.shared = _Memo(lambda text: text)  # the first of equal texts, for its repeats
        self.amounts = _Memo(cents)
        self.dates = _Memo(date_text)
        self.units = _Memo(to_number)
        self.start_file(name)

    def flush(self) -> None:
        """Hand the finished claim, line and adjustment rows to their tables."""
        for rows, table in ((self.claims, self.claim_table), (self.lines, self.line_table),
                            (self.adjustments, self.adjustment_table)):
            if rows:
                table.add(rows)
                rows.clear()
        self.amounts.clear()  # a batch's distinct amounts, dates and units, not a whole run's
        self.dates.clear()
        self.units.clear()

    def start_file(self, name: str) -> None:
        """Read another file into the same tables (indices carry on, as `concat` shifts them)."""
        self.name = name
        self.tx: list | None = None
        self.claim: list | None = None
        self.line: list | None = None
        self.skip_claim = False
        self.n1 = ""  # the N1 loop we are in: PR (payer), PE (payee)
        self.gs_version: str | None = None
        self._foreign = False  # inside an ST that is not an 835

    # -- helpers -------------------------------------------------------------------------------
    def problem(self, number: int | None, seg_id: str, message: str, severity: str = "low"):
        claim = self.claim[5] if self.claim is not None else None
        trace = self.tx[11] if self.tx is not None else None
        self.problems.append((self.name, number, None, seg_id, message, severity, claim, trace))

    def amount(self, seg: list[str], i: int, number: int, required: bool) -> tuple[int | None, bool]:
        """Cents of element i; (None, True) when blank and optional, (None, False) when bad."""
        token = seg[i] if i < len(seg) else ""
        if token:
            value = cents(token)
            if value is not None:
                return value, True
            what = "is not a number"
        elif required:
            what = "is missing"
        else:
            return None, True
        label = f"{seg[0]}{i:02d}"
        self.problem(number, seg[0], f"{label} ({_ELEMENT_NAMES.get(label, 'an amount')}) "
                                     f"{what}; expected an amount such as 123.45")
        return None, False

    def date(self, seg: list[str], i: int, number: int) -> str | None:
        token = seg[i] if i < len(seg) else ""
        if not token:
            return None
        if not valid_date(token):
            self.problem(number, seg[0], f"{seg[0]}{i:02d} is not a date; expected CCYYMMDD")
            return None
        return token

    # -- segment handlers ----------------------------------------------------------------------
    def close_tx(self, number: int | None, truncated: bool) -> None:
        if self.tx is not None and truncated:
            # what follows the cut (claims, their money) is missing, not merely unreadable
            self.problem(number, "SE", "transaction has no SE segment; the file may be cut off "
                                       "and any claims after this point are missing", "high")
        self.tx = None
        self.claim = None
        self.line = None
        self.skip_claim = False
        self.n1 = ""
        if len(self.claims) + len(self.lines) + len(self.adjustments) >= _BATCH:
            self.flush()

    def st(self, seg: list[str], number: int) -> None:
        if self.tx is not None:
            self.close_tx(number, truncated=True)
        version = _version(element(seg, 3)) or self.gs_version
        # transaction_index, file, segment, source, control, version, handling, paid_cents,
        # credit_debit, method, payment_date, trace, trace_key, payer_id, payer, payer_key,
        # payer_ref, payee, payee_npi, payee_id, moves_money, plb_total_cents, complete
        self.tx = [len(self.transactions), self.name, number, None, element(seg, 2),
                   version, None, None, None, None, None, None, None, None, None, None, None,
                   None, None, None, True, 0, True]
        self.transactions.append(self.tx)
        self.claim = None
        self.line = None
        self.skip_claim = False
        self.n1 = ""

    def bpr(self, seg: list[str], number: int) -> None:
        tx = self.tx
        handling = element(seg, 1) or None
        paid, ok = self.amount(seg, 2, number, required=True)
        credit_debit = element(seg, 3) or None
        if paid is not None and credit_debit == "D":
            paid = -paid
        if not ok:
            tx[22] = False
        method = element(seg, 4) or None
        tx[6], tx[7], tx[8], tx[9] = handling, paid, credit_debit, method
        tx[10] = self.date(seg, 16, number)
        tx[20] = handling != "H" and method != "NON"

    def trn(self, seg: list[str], number: int) -> None:
        if self.tx[11] is None:
            self.tx[11] = element(seg, 2) or None
            self.tx[13] = element(seg, 3) or None

    def n1_(self, seg: list[str], number: int) -> None:
        self.n1 = element(seg, 1)
        if self.n1 == "PR":
            self.tx[14] = element(seg, 2) or None
        elif self.n1 == "PE":
            self.tx[17] = element(seg, 2) or None
            qualifier, ident = element(seg, 3), element(seg, 4) or None
            if qualifier == "XX":
                self.tx[18] = ident
            self.tx[19] = ident

    def clp(self, seg: list[str], number: int) -> None:
        self.line = None
        self.claim = None
        self.skip_claim = False
        claim_id, status, charge_text, paid_text, resp_text, filing, payer_claim = (
            seg[1:8] if len(seg) >= 8 else (seg + BLANKS)[1:8])
        amounts = self.amounts
        charge, paid = amounts[charge_text], amounts[paid_text]
        if not claim_id or charge is None or paid is None:
            missing = [label for label, ok in (("CLP01 (the claim number)", claim_id),
                                               ("CLP03 (the claim charge)", charge is not None),
                                               ("CLP04 (the claim payment)", paid is not None))
                       if not ok]
            self.problem(number, "CLP", f"{' and '.join(missing)} could not be read; expected a "
                                        "claim number and amounts such as 123.45 — this claim "
                                        "was left out", "high")
            if self.problems[-1][6] is None and claim_id:
                self.problems[-1] = self.problems[-1][:6] + (claim_id, self.problems[-1][7])
            self.skip_claim = True
            self.tx[22] = False
            return
        resp = amounts[resp_text] if resp_text else None
        if resp_text and resp is None:
            self.amount(seg, 5, number, required=False)  # reports it
        tx = self.tx
        # claim_index, transaction_index, file, segment, source, claim, claim_key, status,
        # charge_cents, paid_cents, patient_resp_cents, filing_indicator, payer_claim, patient,
        # patient_key, patient_id, statement_from, statement_to, received_date, service_date,
        # remark_codes, trace, trace_key, payer, payer_key, complete
        shared = self.shared
        self.claim = [self.claim_table.n + len(self.claims), tx[0], self.name, number, None,
                      claim_id, None, shared[status] if status else "1", charge, paid,
                      resp, shared[filing] if filing else None,
                      payer_claim or None, None, None, None, None, None, None, None, None,
                      tx[11], None, tx[14], None, True]
        if not status:
            self.problem(number, "CLP", "CLP02 (the claim status) is missing; read as 1 "
                                        "(processed as primary)")
        self.claims.append(self.claim)

    def nm1(self, seg: list[str], number: int, delims: Delimiters) -> None:
        claim = self.claim
        if len(seg) > 1 and seg[1] == "QC" and claim[13] is None:
            if len(seg) < 10:
                seg = seg + BLANKS
            last, first = seg[3], seg[4]
            patient = f"{last}, {first}" if last and first else (last or first or None)
            claim[13] = self.shared[patient]
            claim[15] = seg[9] or None

    def dtm(self, seg: list[str], number: int, delims: Delimiters | None = None) -> None:
        if len(seg) == 3:  # the usual qualifier and date
            _, qualifier, token = seg
        else:
            qualifier, token = element(seg, 1), element(seg, 2)
        # a valid date is taken as is; `date` reports a bad one
        line = self.line
        if line is not None:
            if qualifier in LINE_DATES and line[22] is None:
                line[22] = self.dates[token] or self.date(seg, 2, number)
            return
        if self.claim is not None:
            slot = _CLAIM_DATES.get(qualifier)
            if slot is not None:
                self.claim[slot] = self.dates[token] or self.date(seg, 2, number)
        elif self.tx is not None and qualifier == "405" and self.tx[10] is None:
            self.tx[10] = self.date(seg, 2, number)

    def moa(self, seg: list[str], number: int, delims: Delimiters) -> None:
        codes = [element(seg, i) for i in REMARK_ELEMENTS[seg[0]] if element(seg, i)]
        if codes:
            existing = self.claim[20]
            remarks = ":".join(([existing] if existing else []) + codes)
            self.claim[20] = self.shared[remarks]

    def svc(self, seg: list[str], number: int, delims: Delimiters) -> None:
        claim = self.claim
        composite, charge_token, paid_token, revenue, units_token, original_token = (
            service_elements(seg))
        qualifier, code, modifiers, mod1, mod2, mod3, mod4 = procedure(
            composite, delims.component, delims.element)
        if code is None:
            self.problem(number, "SVC", "SVC01 has no procedure code; expected a composite "
                                        "such as HC:99213 (the line is kept without a code)")
        # a readable amount is taken as is; `amount` reports a blank or bad one
        amounts = self.amounts
        charge = amounts[charge_token] if charge_token else None
        if charge is None:
            self.amount(seg, 2, number, required=True)
        paid = amounts[paid_token] if paid_token else None
        if paid is None:
            self.amount(seg, 3, number, required=True)
        if charge is None or paid is None:
            claim[25] = False
        units = self.units[units_token] if units_token else 1.0
        if units is None:
            self.problem(number, "SVC", "SVC05 (the units) is not a number; read as 1")
            units = 1.0
        original = original_procedure(original_token, delims)
        # line_index, claim_index, transaction_index, file, segment, source, claim, claim_key,
        # qualifier, cpt, cpt_key, modifier, modifiers, modifier1..4, charge_cents, paid_cents,
        # revenue_code, units, original_cpt, service_date, line_control, allowed_cents,
        # remark_codes
        shared = self.shared
        self.line = [self.line_table.n + len(self.lines), claim[0], claim[1], self.name, number,
                     None, claim[5], None, qualifier, code, None, mod1, modifiers, mod1, mod2,
                     mod3, mod4, charge, paid, shared[revenue] if revenue else None,
                     units, shared[original] if original else None, None, None, None,
                     None]
        self.lines.append(self.line)

    def cas(self, seg: list[str], number: int, delims: Delimiters | None = None) -> None:
        claim, line = self.claim, self.line
        if line is None:
            line_index, level = None, "claim"
        else:
            line_index, level = line[0], "line"
        shared = self.shared
        if len(seg) == 4:  # the usual one reason and amount, no quantity
            _, group, reason, token = seg
            value = self.amounts[token]  # None when blank or bad
            if group and reason and value is not None:
                self.adjustments.append((claim[0], line_index, claim[1], self.name, number, None,
                                         level, shared[group], shared[reason], value, None))
                return
        n = len(seg)
        group = seg[1] if n > 1 else ""
        if not group:
            self.problem(number, "CAS", "CAS01 (the group code) is missing; expected CO, PR, OA, "
                                        "PI or CR — this adjustment was left out")
            claim[25] = False
            return
        group = shared[group]
        name, append = self.name, self.adjustments.append
        for i in range(2, min(20, n), 3):
            reason = seg[i]
            token = seg[i + 1] if i + 1 < n else ""
            if not reason and not token:
                continue
            value = self.amounts[token] if token else None
            if not reason or value is None:
                self.problem(number, "CAS", f"CAS{i:02d}/CAS{i + 1:02d} should be a reason code "
                                            "and an amount; this adjustment was left out")
                claim[25] = False
                continue
            quantity = to_number(seg[i + 2]) if i + 2 < n and seg[i + 2] else None
            append((claim[0], line_index, claim[1], name, number, None, level, group,
                    shared[reason], value, quantity))

    def ref(self, seg: list[str], number: int, delims: Delimiters | None = None) -> None:
        qualifier = element(seg, 1)
        if self.line is not None:
            if qualifier == "6R" and self.line[23] is None:
                self.line[23] = element(seg, 2) or None
        elif self.claim is None and self.n1 == "PR" and qualifier == "2U":
            self.tx[16] = element(seg, 2) or None

    def amt(self, seg: list[str], number: int, delims: Delimiters) -> None:
        if self.line is not None and len(seg) > 1 and seg[1] == "B6":
            token = seg[2] if len(seg) > 2 else ""
            value = self.amounts[token] if token else None
            if token and value is None:
                self.amount(seg, 2, number, required=False)  # reports it
            self.line[24] = value

    def lq(self, seg: list[str], number: int, delims: Delimiters) -> None:
        if self.line is not None and element(seg, 1) == "HE" and element(seg, 2):
            existing = self.line[25]
            remarks = f"{existing}:{element(seg, 2)}" if existing else element(seg, 2)
            self.line[25] = self.shared[remarks]

    def plb_(self, seg: list[str], number: int, delims: Delimiters) -> None:
        self.claim = None
        self.line = None
        self.skip_claim = False
        tx = self.tx
        provider = element(seg, 1) or None
        fiscal = self.date(seg, 2, number)
        for i in range(3, min(len(seg), 15), 2):
            composite = element(seg, i)
            token = element(seg, i + 1)
            if not composite and not token:
                continue
            parts = split_composite(composite, delims)
            reason = parts[0].strip()
            reference = delims.component.join(parts[1:]).strip() or None
            value = cents(token) if token else None
            if not reason or value is None:
                self.problem(number, "PLB", f"PLB{i:02d}/PLB{i + 1:02d} should be a reason code "
                                            "and an amount; this adjustment was left out")
                tx[22] = False
                continue
            tx[21] += value
            self.plb.append((tx[0], self.name, number, None, provider, fiscal, reason,
                             reference, value, tx[11], None, tx[14]))

    # -- driver --------------------------------------------------------------------------------
    def run(self, tokens: Tokens) -> None:
        """Read `tokenize(data, strip_elements=True)` (the handlers expect stripped elements)."""
        for number, message in tokens.problems:
            severity = "high" if not tokens.count else "low"
            self.problem(number, "", message, severity)
        saw_st = False
        # the segments of a claim, found with one look-up rather than a chain of tests (a local:
        # bound methods kept on self would tie it into a cycle only the collector can free)
        in_claim = {"CAS": self.cas, "SVC": self.svc, "NM1": self.nm1, "DTM": self.dtm,
                    "REF": self.ref, "AMT": self.amt, "LQ": self.lq, "MOA": self.moa,
                    "MIA": self.moa}.get
        by_columns = read_claims(tokens, self.name, len(self.transactions),
                                 self.claim_table.n + len(self.claims),
                                 self.line_table.n + len(self.lines), self.shared)
        if by_columns is not None:
            self.flush()  # the rows read before go first, as numbered
            segments, numbers, delimiters = tokens.take(by_columns.header)
        else:
            segments, numbers, delimiters = tokens.segments, tokens.numbers, tokens.delimiters
        for seg, number, delims in zip(segments, numbers, delimiters):
            sid = seg[0]
            try:
                # a claim is open only inside a transaction and after a readable CLP
                handler = in_claim(sid) if self.claim is not None else None
                if handler is not None:
                    handler(seg, number, delims)
                elif sid == "CLP" and self.tx is not None:  # the most common of the rest
                    self.clp(seg, number)
                elif sid == "ST":
                    if element(seg, 1) not in ("835", ""):
                        self.problem(number, "ST", "this transaction is not an 835 remittance "
                                                   "(ST01); it was skipped", "low")
                        self.close_tx(number, truncated=self.tx is not None)
                        self.tx = None
                        self._foreign = True
                        continue
                    saw_st = True
                    self._foreign = False
                    self.st(seg, number)
                elif sid == "GS":
                    self.gs_version = _version(element(seg, 8))
                elif sid in _ENVELOPE:
                    if self.tx is not None:
                        self.close_tx(number, truncated=True)
                elif self.tx is None:
                    if self._foreign:
                        continue
                    severity = "high" if sid == "CLP" else "low"
                    self.problem(number, sid, f"{sid} segment outside a transaction (no ST "
                                              "before it); it was skipped", severity)
                elif sid == "SE":
                    self.close_tx(number, truncated=False)
                elif sid == "CLP":
                    self.clp(seg, number)
                elif sid == "PLB":
                    self.plb_(seg, number, delims)
                elif sid == "LX":
                    self.claim = None
                    self.line = None
                    self.skip_claim = False
                elif self.skip_claim or self.claim is not None:
                    continue
                elif sid == "BPR":
                    self.bpr(seg, number)
                elif sid == "TRN":
                    self.trn(seg, number)
                elif sid == "N1":
                    self.n1_(seg, number)
                elif sid in ("REF", "DTM"):
                    (self.ref if sid == "REF" else self.dtm)(seg, number)
                elif sid in ("SVC", "CAS"):
                    self.problem(number, sid, f"{sid} segment without a CLP claim before "
                                              "it; it was skipped")
                    self.tx[22] = False
            except Exception:  # noqa: BLE001 - one odd segment must not lose the file
                self.problem(number, sid[:3], f"{sid[:3]} segment could not be read; it was "
                                              "skipped", "high" if sid == "CLP" else "low")
        if self.tx is not None:
            self.close_tx(tokens.count or None, truncated=True)
        if by_columns is not None:
            by_columns.take_transactions(self.transactions)
            self.claim_table.add_columns(by_columns.claims)
            self.line_table.add_columns(by_columns.lines)
            self.adjustment_table.add_columns(by_columns.adjustments)
        if not saw_st and tokens.count:
            self.problem(None, "", "this is not an X12 835 file: it has no ST*835 transaction",
                         "high")


def _finish(reader: _Reader) -> Remit:
    reader.shared.clear()
    reader.flush()
    tx = _frame(reader.transactions, TRANSACTION_COLUMNS, reader_rows=True)
    claims = reader.claim_table.frame()
    lines = reader.line_table.frame()
    adjustments = reader.adjustment_table.frame()
    plb = _frame(reader.plb, PLB_COLUMNS, reader_rows=True)
    problems = _frame(reader.problems, PROBLEM_COLUMNS, reader_rows=True)
    add_keys(tx, claims, lines, plb)
    if len(claims):
        # service date of a claim: its statement date, else its first line's date
        first_line = lines.groupby("claim_index")["service_date"].first()
        from_lines = pd.Series(first_line.reindex(claims["claim_index"].to_numpy()).to_numpy(),
                               index=claims.index, dtype="datetime64[us]")
        claims["service_date"] = claims["statement_from"].fillna(from_lines)
    return Remit(tx, claims, lines, adjustments, plb, problems)


def trace_key(trace: pd.Series) -> pd.Series:
    """Trace matching key: upper case, no spaces, leading zeros dropped (an all-zero trace is 0)."""
    s = trace.astype("str").str.upper().str.replace(r"\s+", "", regex=True)
    s = s.str.replace(r"^0+(?=.)", "", regex=True)
    return s.where(s.notna() & (s != ""), pd.NA).astype("str")


def _on_uniques(values: pd.Series, fn) -> pd.Series:
    """Apply a vectorised key function once per distinct value (payers and traces repeat)."""
    return _keys_on_uniques([values], fn)[0]


def _keys_on_uniques(columns: list[pd.Series], fn) -> list[pd.Series]:
    """`_on_uniques` for several columns with one call of `fn` (its fixed cost dominates on
    the small tables of one file)."""
    codes, uniques = pd.factorize(np.concatenate([c.to_numpy(dtype=object) for c in columns]),
                                  use_na_sentinel=True)
    keys = pd.array(fn(pd.Series(uniques, dtype="str")).astype("object").to_numpy(),
                    dtype=_STR)
    result, start = [], 0
    for values in columns:
        part = codes[start:start + len(values)]
        start += len(values)
        # code -1: no value, no key (a take of the typed keys: no check of each text again)
        result.append(pd.Series(keys.take(part, allow_fill=True), index=values.index))
    return result


def add_keys(tx: pd.DataFrame, claims: pd.DataFrame, lines: pd.DataFrame,
             plb: pd.DataFrame) -> None:
    """Fill the *_key columns from their display columns (vectorised, in place)."""
    tx["trace_key"], claims["trace_key"], plb["trace_key"] = _keys_on_uniques(
        [tx["trace"], claims["trace"], plb["trace"]], trace_key)
    tx["payer_key"], claims["patient_key"], claims["payer_key"] = _keys_on_uniques(
        [tx["payer"], claims["patient"], claims["payer"]], normalize_name)
    # claim numbers hardly repeat: `normalize_key` finds the distinct ones itself
    claims["claim_key"] = normalize_key(claims["claim"]).astype(_STR).array
    lines["cpt_key"] = _on_uniques(lines["cpt"], normalize_key)
    # a line's claim number is its claim's, so is its key
    lines["claim_key"] = pd.Series(claims["claim_key"].array.take(
        lines["claim_index"].to_numpy(dtype=np.int64)), index=lines.index)


def read_835(source: str | Path | bytes, name: str | None = None) -> Remit:
    """Read one 835 file (a path or its bytes); `name` is how sources and findings show it.

    Never raises on file content: unreadable parts become `problems` rows.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = name or "835"
    else:
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except OSError:
            reader = _Reader(name)
            reader.problem(None, "", "the file could not be opened", "high")
            return _finish(reader)
    # the collector stays off until the tables are built and the rows freed: none of them are
    # in cycles, and walking millions of them again and again cost as much as reading them
    with paused_gc():
        reader = _Reader(name)
        reader.run(tokenize(data, strip_elements=True))
        remit = _finish(reader)
        del reader
    return remit


def read_835_files(files: list[tuple[Path, str]]) -> Remit:
    """`concat([read_835(path, name) for path, name in files])`, with the tables built once.

    Building DataFrames has a fixed cost per table that dominated runs of many small files.
    """
    if not files:
        return Remit()
    with paused_gc():  # for the whole batch, as in `read_835`
        reader = _Reader(files[0][1])
        for path, name in files:
            reader.start_file(name)
            try:
                data = Path(path).read_bytes()
            except OSError:
                reader.problem(None, "", "the file could not be opened", "high")
                continue
            reader.run(tokenize(data, strip_elements=True))
        remit = _finish(reader)
        del reader
    return remit


def concat(remits: list[Remit]) -> Remit:
    """Stack several Remits, shifting the integer indices so they stay unique and linked."""
    if not remits:
        return Remit()
    parts: dict[str, list[pd.DataFrame]] = {f.name: [] for f in fields(Remit)}
    offsets = {"transaction_index": 0, "claim_index": 0, "line_index": 0}
    owners = {"transaction_index": "transactions", "claim_index": "claims",
              "line_index": "lines"}
    for remit in remits:
        for f in fields(Remit):
            df = getattr(remit, f.name).copy()
            for col, offset in offsets.items():
                if col in df and offset:
                    df[col] = df[col] + offset
            parts[f.name].append(df)
        for col, owner in owners.items():
            offsets[col] += len(getattr(remit, owner))
    out = {}
    for name, frames in parts.items():
        frames = [f for f in frames if len(f)] or frames[:1]
        out[name] = pd.concat(frames, ignore_index=True) if len(frames) > 1 else \
            frames[0].reset_index(drop=True)
    return Remit(**out)
