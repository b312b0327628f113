"""The claims of a cleanly written 835 read as columns rather than segment by segment.

The reader's state machine (`read._Reader.run`) costs microseconds per segment, and nine in ten
segments of a payer file sit inside claims (CLP, NM1, DTM, SVC, CAS, AMT …). Which claim and which
service line a segment belongs to follows from where the segments that open and close them stand
(a claim runs from its CLP to the next CLP, LX, PLB, SE or envelope; a line from its SVC to the
next SVC or the end of its claim), so for such a file the claim, line and adjustment tables are
built with array operations, each distinct segment text (payer files repeat most of theirs)
parsed once. The segments are taken from the tokenizer one kind at a time, and what is worked
out per distinct text (a date's validity, an adjustment's amount) is spread to the segments by
row number rather than repeated per segment. The kinds whose texts hardly repeat (CLP, NM1) are
read from a plain file's bytes where the tokenizer kept them and the file has a thousand or more
(`_Bytes`): a text is made only for the elements kept as text (a claim number, a patient's name
once per distinct name), and amounts and codes are told apart by their bytes and each distinct
one parsed once, by the same `cents`; otherwise they are split without numbering them. The
envelopes and transaction headers — a few segments per transaction — still go through the state
machine, which thereby keeps the only say on them.

Whether a file qualifies is decided first, and conservatively: if any claim-level segment is one
the state machine would report (an unreadable amount or date, a CLP without its number or status,
a transaction cut off inside a claim, a payer named after the claims began …), `plan` returns None
and the whole file goes through the state machine, so every problem is found and worded by one
code path. Both ways give the same tables; tests/x12/test_columnar.py reads files both ways.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.x12.tokenize import (
    WORD_MASKS,
    Delimiters,
    Tokens,
    distinct_spans,
    windows,
    words_of,
)
from engine.x12.values import (
    CLAIM_DATES,
    DAY_TYPE,
    LINE_DATES,
    NO_DAY,
    REMARK_ELEMENTS,
    cents,
    day,
    element,
    element_grid,
    object_grid,
    original_procedure,
    procedure,
    service_elements,
    to_number,
    valid_date,
)

# Below this many segments a file is read segment by segment: setting up the columns costs a
# few milliseconds per file whatever its size, which the state machine spends on ~2,000 segments.
MIN_SEGMENTS = 2_000

(_ST, _SE, _ENVELOPE, _GS, _LX, _PLB, _CLP, _SVC, _CAS, _DTM, _NM1, _AMT, _REF, _LQ, _MOA,
 _MIA, _HEADER, _OTHER) = range(18)
_KINDS = {"ST": _ST, "SE": _SE, "ISA": _ENVELOPE, "GE": _ENVELOPE, "IEA": _ENVELOPE,
          "TA1": _ENVELOPE, "GS": _GS, "LX": _LX, "PLB": _PLB, "CLP": _CLP, "SVC": _SVC,
          "CAS": _CAS, "DTM": _DTM, "NM1": _NM1, "AMT": _AMT, "REF": _REF, "LQ": _LQ,
          "MOA": _MOA, "MIA": _MIA, "TRN": _HEADER, "N1": _HEADER}
# the kinds whose texts hardly repeat in a file (a claim's own): split without numbering them
_UNREPEATED = (_CLP, _NM1)
# the segments the state machine hands to a claim's handlers while a claim is open
_CLAIM_KINDS = (_SVC, _CAS, _DTM, _NM1, _AMT, _REF, _LQ, _MOA, _MIA)
# what the state machine still reads while a claim is open (everything else there it skips)
_CLOSING_KINDS = (_SE, _GS, _LX, _PLB)


class _NotClean(Exception):
    """A claim-level segment the state machine would report: read the file its way."""


def _last(positions: np.ndarray) -> np.ndarray:
    """For each position, the last index ≤ it where `positions` is True (-1 before the first)."""
    return np.maximum.accumulate(np.where(positions, np.arange(len(positions)), -1))


def _before(last: np.ndarray) -> np.ndarray:
    """`_last` as seen just before each position."""
    return np.concatenate(([-1], last[:-1]))


def _open(last_event: np.ndarray, opens: np.ndarray) -> np.ndarray:
    """Is the most recent event (`last_event`, -1 for none) one that opens (`opens`)?"""
    return (last_event >= 0) & opens[np.maximum(last_event, 0)]


def _firsts(groups: np.ndarray) -> np.ndarray:
    """Where a run of equal (sorted) group numbers starts."""
    return np.concatenate(([True], groups[1:] != groups[:-1])) if len(groups) else \
        np.zeros(0, dtype=bool)


def _lasts(groups: np.ndarray) -> np.ndarray:
    """Where a run of equal (sorted) group numbers ends."""
    return np.concatenate((groups[1:] != groups[:-1], [True])) if len(groups) else \
        np.zeros(0, dtype=bool)


def _amounts(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cents of each token ("", None or unreadable: not ok), each distinct token parsed once."""
    codes, uniques = pd.factorize(tokens)
    values = [cents(t) if t else None for t in uniques] + [None]  # code -1: no token
    ok = np.array([v is not None for v in values], dtype=bool)
    data = np.array([v if v is not None else 0 for v in values], dtype=np.int64)
    return data[codes], ok[codes]


def _filled(n: int, text: str) -> np.ndarray:
    """`n` references to one `text` (`np.full` would make a copy of it for each)."""
    out = np.empty(n, dtype=object)
    out[:] = text
    return out


def _blank_is_none(texts: np.ndarray) -> np.ndarray:
    out = texts.copy()
    out[out == ""] = None
    return out


class _Segments:
    """The file's segments by kind: the element lists of one kind at a time (each distinct
    text split once, but for the kinds whose texts hardly repeat), and each position's row
    among them."""

    def __init__(self, tokens: Tokens, kind: np.ndarray):
        self.tokens = tokens
        self.kind = kind
        self.kinds: dict[int, tuple[np.ndarray, list[list[str]]]] = {}
        self.tables: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def of_kind(self, kind: int) -> tuple[np.ndarray, list[list[str]]]:
        """The element lists of `kind`, and for each position its row among them (-1 for the
        positions of other kinds)."""
        if kind not in self.kinds:
            at = np.flatnonzero(self.kind == kind)
            rows, which = self.tokens.rows(at, distinct=kind not in _UNREPEATED)
            row = np.full(len(self.kind), -1, dtype=np.intp)
            row[at] = which
            self.kinds[kind] = row, rows
        return self.kinds[kind]

    def table(self, kind: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """`of_kind` with the lists as an `element_grid` (a row each): values worked out once
        per row are spread to positions by the row numbers."""
        if (kind, width) not in self.tables:
            row, rows = self.of_kind(kind)
            self.tables[kind, width] = row, element_grid(rows, width)
        return self.tables[kind, width]

    def elements(self, kind: int, at: np.ndarray, width: int,
                 bytes_only: bool = False) -> _Grid | _Bytes | None:
        """Elements 1 to `width - 1` of the segments at positions `at`, all of `kind`: read
        from a plain file's bytes when there are many, else from their `element_grid` (None
        if `bytes_only`)."""
        # reading the bytes has a fixed cost (some fifty array operations) that pays off
        # from about a thousand segments on; a text per segment costs less below that
        spans = self.tokens.spans(at, width - 1) if len(at) >= MIN_SEGMENTS // 2 else None
        if spans is None:
            return None if bytes_only else _Grid(self.grid(kind, at, width))
        return _Bytes(*spans, self.tokens.shared_delimiters().element)

    def grid(self, kind: int, at: np.ndarray, width: int) -> np.ndarray:
        """`element_grid` of the segments at positions `at`, all of `kind`."""
        row, rows = self.of_kind(kind)
        take = row[at]
        if len(take) == len(rows) and (take == np.arange(len(take))).all():
            take = None  # each text once, in order (claims): no copy of the grid
        return element_grid(rows, width, take)

    def at(self, positions: np.ndarray) -> list[list[str]]:
        """The element lists of the segments at `positions` (a few), in order."""
        return self.tokens.at(positions)


class _Grid:
    """Elements of segments from their split texts: a column of `element_grid` each."""

    def __init__(self, grid: np.ndarray):
        self.grid = grid

    def texts(self, i: int) -> np.ndarray:
        return self.grid[:, i]

    def blank(self, i: int) -> np.ndarray:
        return self.grid[:, i] == ""

    def cents(self, *elements: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return [_amounts(self.grid[:, i]) for i in elements]

    def factorized(self, *elements: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return [pd.factorize(self.grid[:, i]) for i in elements]


class _Bytes:
    """Elements of segments from a plain file's bytes (`Tokens.spans`): a text is made only
    for an element whose value is text. Values that repeat (codes, amounts) are told apart by
    their bytes, read as one 64-bit number when they are eight bytes or fewer, and only each
    distinct one is made a text and parsed (by the same `cents` as everywhere).

    Texts are taken from the bytes of all their spans at once, with the element separator
    (never inside an element) between them, and split in one call: a `str` per element."""

    def __init__(self, data: np.ndarray, begin: np.ndarray, end: np.ndarray, separator: str):
        self.data, self.begin, self.end, self.separator = data, begin, end, separator

    def texts(self, i: int, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        return _texts(self.data, [(self.begin[rows, i - 1], self.end[rows, i - 1])],
                      self.separator)

    def blank(self, i: int) -> np.ndarray:
        return self.begin[:, i - 1] == self.end[:, i - 1]

    def names(self, last: int, first: int, rows: np.ndarray) -> np.ndarray:
        """Patient names from elements `last` and `first` at `rows`: "Last, First", or
        whichever of the two there is ("" for neither); the separator must not be in ", "."""
        last = (self.begin[rows, last - 1], self.end[rows, last - 1])
        first = (self.begin[rows, first - 1], self.end[rows, first - 1])
        both = (last[0] != last[1]) & (first[0] != first[1])
        return _texts(self.data, [last, (b", ", both), first], self.separator)

    def distinct(self, first: int, last: int,
                 rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which `rows` hold equal elements `first` to `last` (their bytes from the first's
        start to the last's end are equal), as `pd.factorize` numbers them, and the first of
        `rows` with each."""
        begin, end = self.begin[rows, first - 1], self.end[rows, last - 1]
        found = distinct_spans(self.data, begin, end - begin)
        return found if found is not None else (np.arange(len(rows)), np.arange(len(rows)))

    def _keys(self, elements: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The elements' texts of up to eight bytes each as a number (`(len(elements), n)`,
        equal texts equal numbers), and which are not (longer, or holding a NUL byte, which
        would read as the padding)."""
        columns = [i - 1 for i in elements]
        begin, end = self.begin[:, columns].T.ravel(), self.end[:, columns].T.ravel()
        lengths = end - begin
        [keys] = words_of(self.data, begin, lengths, 1)
        padded = keys | ~WORD_MASKS[np.minimum(lengths, 8)]
        odd = (lengths > 8) | (((padded - _ONES) & ~padded & _HIGHS) != 0)
        shape = (len(elements), len(self.begin))
        return keys.reshape(shape), odd.reshape(shape)

    def factorized(self, *elements: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """`pd.factorize` of each element's texts."""
        keys, odd = self._keys(elements)
        out = []
        for i, key, text_only in zip(elements, keys, odd):
            if text_only.any():
                out.append(pd.factorize(self.texts(i)))
            else:
                codes, distinct = pd.factorize(key)
                out.append((codes, _key_texts(distinct)))
        return out

    def cents(self, *elements: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """`_amounts` of each element: each distinct amount read once, by `cents`."""
        keys, odd = self._keys(elements)
        codes, distinct = pd.factorize(keys.ravel())
        values = [cents(t) if t else None for t in _key_texts(distinct)]
        ok = np.array([v is not None for v in values], dtype=bool)[codes].reshape(keys.shape)
        value = np.array([v or 0 for v in values], dtype=np.int64)[codes].reshape(keys.shape)
        out = []
        for j, i in enumerate(elements):
            rows = np.flatnonzero(odd[j])
            if len(rows):
                careful = [cents(t) if t else None for t in self.texts(i, rows)]
                value[j, rows] = [v or 0 for v in careful]
                ok[j, rows] = [v is not None for v in careful]
            out.append((value[j].copy(), ok[j].copy()))
        return out


_ONES, _HIGHS = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)


def _key_texts(keys: np.ndarray) -> np.ndarray:
    """The texts `_Bytes._keys` made `keys` of."""
    return np.array([key.tobytes().rstrip(b"\0").decode("ascii")
                     for key in keys.view(np.uint8).reshape(-1, 8)], dtype=object)


def _texts(data: np.ndarray, parts: list[tuple], separator: str) -> np.ndarray:
    """The text of each row of `parts` joined, as an object array. A part is a pair of arrays
    (where its bytes begin and end in `data`, a row each) or a pair (literal bytes, which rows
    have it); `separator` must be in no part."""
    n = len(parts[0][1])
    if not n:
        return np.empty(0, dtype=object)
    if len(parts) == 1 and not isinstance(parts[0][0], bytes):  # one span: the separator
        begin, end = parts[0]                                   # is written after it
        lengths = end - begin
        width = int(lengths.max()) + 1
        rows = windows(data, begin, width)
        rows[np.arange(n), lengths] = ord(separator)
        joined = rows[np.arange(width) <= lengths[:, None]]
        return _split_texts(joined, separator)
    blocks, kept = [], []
    for first, second in parts:
        if isinstance(first, bytes):
            width = len(first)
            blocks.append(np.broadcast_to(np.frombuffer(first, dtype=np.uint8), (n, width)))
            kept.append(np.broadcast_to(second[:, None], (n, width)))
        else:
            lengths = second - first
            width = int(lengths.max(initial=0))
            blocks.append(windows(data, first, width))
            kept.append(np.arange(width) < lengths[:, None])
    blocks.append(np.full((n, 1), ord(separator), dtype=np.uint8))
    kept.append(np.ones((n, 1), dtype=bool))
    joined = np.concatenate(blocks, axis=1)[np.concatenate(kept, axis=1)]
    return _split_texts(joined, separator)


def _split_texts(joined: np.ndarray, separator: str) -> np.ndarray:
    """The texts in `joined` (ASCII bytes), each followed by `separator`."""
    texts = joined.tobytes().decode("ascii").split(separator)
    texts.pop()
    return np.array(texts, dtype=object)


@dataclass
class Plan:
    """Which claim and line each segment position belongs to; `header`: the positions the
    state machine reads."""

    header: np.ndarray
    segments: _Segments
    kind: np.ndarray
    claim_start: np.ndarray
    claim_no: np.ndarray
    in_claim: np.ndarray
    line_start: np.ndarray
    line_no: np.ndarray
    in_line: np.ndarray
    tx_no: np.ndarray
    delims: Delimiters


@dataclass
class ClaimColumns:
    """A clean file's claims, lines and adjustments as columns (by column name; `(values,
    missing)` pairs for integers and cents, object arrays with None for blanks otherwise), and
    the positions of the segments left to the state machine (`header`)."""

    header: np.ndarray
    claims: dict
    lines: dict
    adjustments: dict
    tx_base: int

    def take_transactions(self, transactions: list[list]) -> None:
        """Each claim's trace and payer from its transaction's row, once the state machine has
        read the header (`transactions`: the reader's rows, this file's from `tx_base`)."""
        tx = self.claims["transaction_index"] - self.tx_base
        rows = transactions[self.tx_base:]
        for column, slot in (("trace", 11), ("payer", 14)):
            values = np.array([row[slot] for row in rows] + [None], dtype=object)
            self.claims[column] = values[tx]


def read_claims(tokens: Tokens, name: str, tx_base: int, claim_base: int, line_base: int,
                shared: dict) -> ClaimColumns | None:
    """The claims of `tokens` as columns numbered from the given bases (transactions from
    `tx_base`, one per ST), or None when the file is to be read segment by segment. Texts that
    repeat are taken from `shared` (text → the one object kept for it) and added to it."""
    where = plan(tokens)
    if where is None:
        return None
    try:
        claims, lines, adjustments = _Tables(where, name, tx_base, claim_base, line_base,
                                             shared).build()
    except _NotClean:
        return None
    except (ArithmeticError, ValueError, TypeError, IndexError):
        # a value a parser stumbles on (`1E26` as an amount): the state machine reads that
        # segment on its own and reports it
        return None
    return ClaimColumns(where.header, claims, lines, adjustments, tx_base)


def plan(tokens: Tokens) -> Plan | None:
    """Where the claims of `tokens` stand, or None when the file is read segment by segment."""
    n, delims = tokens.count, tokens.shared_delimiters()
    if n < max(MIN_SEGMENTS, 1) or delims is None:
        return None
    ids, names = tokens.segment_ids()
    kind = np.array([_KINDS.get(name, _OTHER) for name in names], dtype=np.int8)[ids]
    segments = _Segments(tokens, kind)
    if any(element(t, 1) not in ("835", "") for t in segments.of_kind(_ST)[1]):
        return None  # a transaction that is not an 835: skipped and reported there

    st = kind == _ST
    tx_event = st | (kind == _SE) | (kind == _ENVELOPE)
    tx_open = _open(_before(_last(tx_event)), st)
    claim_start = (kind == _CLP) & tx_open
    claim_event = claim_start | tx_event | (kind == _LX) | (kind == _PLB)
    last_claim_event = _last(claim_event)
    in_claim = _open(_before(last_claim_event), claim_start)
    if (in_claim & (st | (kind == _ENVELOPE))).any() or _open(last_claim_event[-1:],
                                                              claim_start).any():
        return None  # a transaction cut off inside a claim
    line_start = (kind == _SVC) & in_claim
    in_line = _open(_before(_last(claim_event | line_start)), line_start)
    tx_no = np.cumsum(st) - 1
    claim_no = np.cumsum(claim_start) - 1

    # a claim takes its trace and payer from its transaction as they are when its CLP is read
    starts = np.flatnonzero(claim_start)
    if len(starts):
        first_claim = np.full(int(tx_no[-1]) + 1, n)
        firsts = starts[_firsts(tx_no[starts])]
        first_claim[tx_no[firsts]] = firsts
        header_kind = np.flatnonzero((kind == _HEADER) & (tx_no >= 0))
        if (header_kind > first_claim[tx_no[header_kind]]).any():
            return None

    by_columns = claim_start | (in_claim & np.isin(kind, _CLAIM_KINDS))
    skipped = in_claim & ~by_columns & ~np.isin(kind, _CLOSING_KINDS)
    return Plan(header=np.flatnonzero(~by_columns & ~skipped),
                segments=segments, kind=kind, claim_start=claim_start,
                claim_no=claim_no, in_claim=in_claim, line_start=line_start,
                line_no=np.cumsum(line_start) - 1, in_line=in_line, tx_no=tx_no,
                delims=delims)


class _Tables:
    """The claim, line and adjustment columns of a planned file, a method per segment kind;
    each raises _NotClean on a segment the state machine would report."""

    def __init__(self, plan: Plan, name: str, tx_base: int, claim_base: int, line_base: int,
                 shared: dict):
        self.p = plan
        self.name = name
        self.tx_base, self.claim_base, self.line_base = tx_base, claim_base, line_base
        self.claims_at = np.flatnonzero(plan.claim_start)
        self.lines_at = np.flatnonzero(plan.line_start)
        self.memo = shared

    def shared(self, texts: np.ndarray) -> np.ndarray:
        """Equal texts as one object, as the state machine keeps them: a million claims hold a
        few filing codes and one object per patient name, not a copy each."""
        memo = self.memo
        return np.fromiter(map(memo.setdefault, texts, texts), dtype=object, count=len(texts))

    def positions(self, kind: int, where: np.ndarray) -> np.ndarray:
        return np.flatnonzero((self.p.kind == kind) & where)

    def build(self) -> tuple[dict, dict, dict]:
        claims = self.claims()
        lines = self.lines(claims["claim"])
        adjustments = self.adjustments()
        self.patients(claims)
        self.claim_dates(claims)
        self.remarks(claims)
        self.line_details(lines)
        return claims, lines, adjustments

    # -- claims --------------------------------------------------------------------------------
    def claims(self) -> dict:
        p, at = self.p, self.claims_at
        clp = p.segments.elements(_CLP, at, 8)
        claim, payer_claim = clp.texts(1), clp.texts(7)
        (status, statuses), (filing, filings) = clp.factorized(2, 6)
        (charge, charge_ok), (paid, paid_ok), (resp, resp_ok) = clp.cents(3, 4, 5)
        resp_blank = clp.blank(5)
        if not (charge_ok & paid_ok & (resp_ok | resp_blank) & (claim != "")
                & (statuses != "")[status]).all():
            raise _NotClean
        n = len(at)
        tx = p.tx_no[at]
        none = np.full(n, None, dtype=object)
        no_day = np.full(n, NO_DAY)
        return {
            "claim_index": np.arange(self.claim_base, self.claim_base + n, dtype=np.int64),
            "transaction_index": self.tx_base + tx, "file": _filled(n, self.name),
            "segment": at + 1, "claim": claim, "status": self.shared(statuses)[status],
            "charge_cents": charge, "paid_cents": paid, "patient_resp_cents": (resp, resp_blank),
            "filing_indicator": self.shared(_blank_is_none(filings))[filing],
            "payer_claim": _blank_is_none(payer_claim), "patient": none.copy(),
            "patient_id": none.copy(), "statement_from": no_day.copy(),
            "statement_to": no_day.copy(), "received_date": no_day.copy(),
            "service_date": no_day, "remark_codes": none.copy(), "trace": none.copy(),
            "payer": none.copy(), "complete": np.ones(n, dtype=bool),
        }

    def patients(self, claims: dict) -> None:
        """The first NM1*QC of each claim names its patient."""
        p = self.p
        at = self.positions(_NM1, p.in_claim)
        nm1 = p.segments.elements(_NM1, at, 10, bytes_only=True)
        if nm1 is not None and nm1.separator not in ", ":
            [(qualifier, qualifiers)] = nm1.factorized(1)
            qc = np.flatnonzero((qualifiers == "QC")[qualifier])
            if (nm1.blank(3) & nm1.blank(4))[qc].any():
                raise _NotClean  # a nameless QC leaves the claim open to the next one
            claim = p.claim_no[at[qc]]
            keep = _firsts(claim)
            qc, claim = qc[keep], claim[keep]
            # patients have several claims: each distinct name and id made once
            codes, firsts = nm1.distinct(3, 4, qc)
            claims["patient"][claim] = self.shared(nm1.names(3, 4, qc[firsts]))[codes]
            codes, firsts = nm1.distinct(9, 9, qc)
            claims["patient_id"][claim] = _blank_is_none(nm1.texts(9, qc[firsts]))[codes]
            return
        nm1_row, grid = p.segments.table(_NM1, 10)
        qc = np.flatnonzero(grid[:, 1] == "QC")
        name, nameless = _names(grid[qc, 3], grid[qc, 4])
        patient_id = _blank_is_none(grid[qc, 9])
        row = np.full(len(grid), -1, dtype=np.intp)  # an NM1 row → its QC row
        row[qc] = np.arange(len(qc))
        row = row[nm1_row[at]]
        at, row = at[row >= 0], row[row >= 0]
        if nameless[row].any():
            raise _NotClean  # a nameless QC leaves the claim open to the next one
        name = self.shared(name)
        claim = p.claim_no[at]
        keep = _firsts(claim)
        claims["patient"][claim[keep]] = name[row[keep]]
        claims["patient_id"][claim[keep]] = patient_id[row[keep]]

    def claim_dates(self, claims: dict) -> None:
        """Statement and received dates: a claim's last DTM of each kind (a blank one clears)."""
        p = self.p
        at, row, qualifier, date = self.dates(p.in_claim & ~p.in_line, tuple(CLAIM_DATES))
        for q, column in CLAIM_DATES.items():
            mine = (qualifier == q)[row]
            claim = p.claim_no[at[mine]]
            keep = _lasts(claim)
            claims[column][claim[keep]] = date[row[mine][keep]]

    def dates(self, where: np.ndarray, read: tuple[str, ...]) -> tuple[np.ndarray, ...]:
        """DTM positions in `where`, the row of each among the distinct DTM texts, and their
        qualifiers and dates (datetime64, NaT when blank) by row; those with a qualifier in
        `read` must hold a date or nothing."""
        p = self.p
        at = self.positions(_DTM, where)
        row, grid = p.segments.table(_DTM, 3)
        row = row[at]
        qualifier, token = grid[:, 1], grid[:, 2]
        ok = np.fromiter(map(valid_date, token), dtype=bool, count=len(token))
        if (np.isin(qualifier, read) & ~ok & (token != ""))[row].any():
            raise _NotClean
        return at, row, qualifier, np.array([day(t) for t in token], dtype=DAY_TYPE)

    def remarks(self, claims: dict) -> None:
        """MOA / MIA remark codes, joined by ":" in the order they come."""
        p = self.p
        at = np.flatnonzero(np.isin(p.kind, (_MOA, _MIA)) & p.in_claim)
        remarks = claims["remark_codes"]
        for position, seg in zip(at.tolist(), p.segments.at(at)):
            codes = [element(seg, i) for i in REMARK_ELEMENTS[seg[0]] if element(seg, i)]
            if codes:
                claim = p.claim_no[position]
                existing = remarks[claim]
                remarks[claim] = self.memo.setdefault(
                    remark := ":".join(([existing] if existing else []) + codes), remark)

    # -- service lines -------------------------------------------------------------------------
    def lines(self, claim_numbers: np.ndarray) -> dict:
        p, at = self.p, self.lines_at
        row, rows = p.segments.of_kind(_SVC)
        parsed = object_grid([self.service(seg) for seg in rows], 13)
        for i in (9, 11):  # revenue code, original procedure
            parsed[:, i] = self.shared(parsed[:, i])
        take = row[at]
        if not parsed[:, 12].astype(bool)[take].all():
            raise _NotClean
        # each column taken on its own (its own array), numbers converted once per text
        column = {i: parsed[:, i][take] for i in (0, 1, 2, 3, 4, 5, 6, 9, 11)}
        units = np.array([np.nan if u is None else u for u in parsed[:, 10]], dtype=np.float64)
        n = len(at)
        claim = p.claim_no[at]
        none = np.full(n, None, dtype=object)
        return {
            "line_index": np.arange(self.line_base, self.line_base + n, dtype=np.int64),
            "claim_index": self.claim_base + claim,
            "transaction_index": self.tx_base + p.tx_no[at],
            "file": _filled(n, self.name), "segment": at + 1,
            "claim": claim_numbers[claim], "qualifier": column[0],
            "cpt": column[1], "modifier": column[3], "modifiers": column[2],
            "modifier1": column[3].copy(), "modifier2": column[4], "modifier3": column[5],
            "modifier4": column[6], "charge_cents": parsed[:, 7].astype(np.int64)[take],
            "paid_cents": parsed[:, 8].astype(np.int64)[take], "revenue_code": column[9],
            "units": units[take], "original_cpt": column[11],
            "service_date": np.full(n, NO_DAY), "line_control": none.copy(),
            "allowed_cents": none.copy(), "remark_codes": none.copy(),
        }

    def service(self, seg: list[str]) -> tuple:
        """SVC → qualifier, code, modifiers, modifier 1–4, charge, paid, revenue code, units,
        original procedure, and whether the state machine would take it without a word."""
        composite, charge_token, paid_token, revenue, units_token, original_token = (
            service_elements(seg))
        qualifier, code, modifiers, mod1, mod2, mod3, mod4 = procedure(
            composite, self.p.delims.component, self.p.delims.element)
        charge = cents(charge_token) if charge_token else None
        paid = cents(paid_token) if paid_token else None
        units = to_number(units_token) if units_token else 1.0
        original = original_procedure(original_token, self.p.delims)
        ok = code is not None and charge is not None and paid is not None and units is not None
        return (qualifier, code, modifiers, mod1, mod2, mod3, mod4, charge or 0, paid or 0,
                revenue or None, units, original, ok)

    def line_details(self, lines: dict) -> None:
        """A line's first 472/150 date, first REF*6R, last AMT*B6 and its LQ*HE remarks."""
        p = self.p
        at, row, qualifier, date = self.dates(p.in_line, LINE_DATES)
        mine = (np.isin(qualifier, LINE_DATES) & ~np.isnat(date))[row]
        line = p.line_no[at[mine]]
        keep = _firsts(line)
        lines["service_date"][line[keep]] = date[row[mine][keep]]

        at = self.positions(_REF, p.in_line)
        row, grid = p.segments.table(_REF, 3)
        row = row[at]
        mine = ((grid[:, 1] == "6R") & (grid[:, 2] != ""))[row]
        line = p.line_no[at[mine]]
        keep = _firsts(line)
        lines["line_control"][line[keep]] = grid[row[mine][keep], 2]

        at = self.positions(_AMT, p.in_line)
        row, grid = p.segments.table(_AMT, 3)
        row = row[at]
        b6 = np.flatnonzero(grid[:, 1] == "B6")
        value, ok = _amounts(grid[b6, 2])
        b6_row = np.full(len(grid), -1, dtype=np.intp)  # an AMT row → its B6 row
        b6_row[b6] = np.arange(len(b6))
        row = b6_row[row]
        mine = row >= 0
        row = row[mine]
        if (~ok & (grid[b6, 2] != ""))[row].any():
            raise _NotClean
        line = p.line_no[at[mine]]
        keep = _lasts(line)
        row = row[keep]
        allowed = lines["allowed_cents"]
        allowed[line[keep]] = np.where(ok[row], value[row].astype(object), None)

        remarks = lines["remark_codes"]
        at = self.positions(_LQ, p.in_line)
        for position, seg in zip(at.tolist(), p.segments.at(at)):
            if element(seg, 1) == "HE" and element(seg, 2):
                line = p.line_no[position]
                existing = remarks[line]
                remark = f"{existing}:{element(seg, 2)}" if existing else element(seg, 2)
                remarks[line] = self.memo.setdefault(remark, remark)

    # -- adjustments ---------------------------------------------------------------------------
    def adjustments(self) -> dict:
        p = self.p
        at = self.positions(_CAS, p.in_claim)
        row, rows = p.segments.of_kind(_CAS)
        parsed = [_adjustments(seg) for seg in rows]
        if any(a is None for a in parsed):
            raise _NotClean
        counts = np.array([len(a) for a in parsed], dtype=np.intp)
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.intp)
        flat = object_grid([adj for a in parsed for adj in a], 4)
        flat[:, 0], flat[:, 1] = self.shared(flat[:, 0]), self.shared(flat[:, 1])
        which = row[at]
        per = counts[which]
        owner = np.repeat(np.arange(len(at)), per)
        within = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
        rows_at = offsets[which][owner] + within
        at = at[owner]
        in_line = p.in_line[at]
        n = len(at)
        level = _filled(n, "claim")
        level[in_line] = "line"
        return {
            "claim_index": self.claim_base + p.claim_no[at],
            "line_index": (self.line_base + np.where(in_line, p.line_no[at], 0), ~in_line),
            "transaction_index": self.tx_base + p.tx_no[at],
            "file": _filled(n, self.name), "segment": at + 1, "level": level,
            "group": flat[rows_at, 0], "reason": flat[rows_at, 1],
            "amount_cents": flat[:, 2].astype(np.int64)[rows_at],
            "quantity": flat[:, 3].astype(np.float64)[rows_at],
        }


def _names(last: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NM1*QC names: "Last, First", or whichever of the two there is (None without either);
    and which have neither."""
    names = np.fromiter(map(", ".join, zip(last, first)), dtype=object, count=len(last))
    has_last, has_first = last != "", first != ""
    one = np.flatnonzero(~(has_last & has_first))
    names[one] = np.where(has_last[one], last[one], first[one])
    nameless = ~has_last & ~has_first
    names[nameless] = None
    return names, nameless


def _adjustments(seg: list[str]) -> list[tuple] | None:
    """A CAS's (group, reason, cents, quantity) adjustments; None when the state machine would
    report it."""
    n = len(seg)
    if n == 4:  # the usual one reason and amount, no quantity
        _, group, reason, token = seg
        value = cents(token) if token else None
        if group and reason and value is not None:
            return [(group, reason, value, None)]
    group = seg[1] if n > 1 else ""
    if not group:
        return None
    out = []
    for i in range(2, min(20, n), 3):
        reason = seg[i]
        token = seg[i + 1] if i + 1 < n else ""
        if not reason and not token:
            continue
        value = cents(token) if token else None
        if not reason or value is None:
            return None
        quantity = to_number(seg[i + 2]) if i + 2 < n and seg[i + 2] else None
        out.append((group, reason, value, quantity))
    return out
