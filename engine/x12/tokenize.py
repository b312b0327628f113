"""Split an X12 file into segments and elements, whatever separators and layout it uses.

X12 has no fixed delimiters: the ISA header declares them (its 4th character is the element
separator, ISA11 the repetition separator, ISA16 the component separator, and the character after
ISA16 ends every segment). Real remittance files add their own quirks — a UTF-8 byte-order mark,
indentation and line breaks between segments, a line break *before* each terminator, several
interchanges in one file, or no ISA/GS envelope at all (the file starts at ST). All of that is
handled here so the reader only sees clean lists of element strings.

The work is plain `str.split` with the garbage collector paused: a payer file is hundreds of
thousands of small lists, and letting the cyclic collector walk them repeatedly costs more than the
splitting itself. A payer file repeats most of its segments verbatim (adjustments, dates, amounts,
service lines), so the segment texts are numbered first (`Tokens.codes`) and each distinct one is
split once (`Tokens.texts`); its repeats share the list. Whitespace is trimmed element by element
only when a scan of the text finds some that could sit at the edge of one: most files have none
after their header, and one scan costs far less than stripping every element. Likewise, in ASCII
text only the segments with whitespace at an edge are trimmed, found from where the whitespace is.

A plainly written file — one interchange of ASCII text with no whitespace next to a separator,
as most payer files are — is not split at all up front: it is kept as its text and where each
segment starts and ends, and split as a reader asks, one kind of segment at a time
(`Tokens.rows`), with each segment's ID read from its first bytes. The segments of a kind are
numbered by a hash of their bytes, checked byte for byte, so only one text is made for each
distinct one; and a reader can take the elements of the kinds whose texts hardly repeat (a
claim's CLP and patient) straight from the bytes (`Tokens.spans`), making texts only of the
elements it keeps as text. The tokenizer makes no text, list or number per segment of such a
file. Nothing here raises on bad input: a file that is not X12 at all comes back with no
segments and one problem.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import itemgetter

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import as_strided

from engine.positions import first_of_each
from engine.read.memory import paused_gc

_WHITESPACE = " \t\r\n\x0b\x0c"
_DEFAULT_ELEMENT, _DEFAULT_COMPONENT, _DEFAULT_TERMINATOR = "*", ":", "~"
# composites seen in the wild with another separator than the one ISA16 declares
ALTERNATE_COMPONENTS = (":", ">")

_ISA_START = re.compile(r"ISA(?=[^A-Za-z0-9\s])")
_ST_START = re.compile(r"ST([^A-Za-z0-9\s])\s*835")


@dataclass(frozen=True)
class Delimiters:
    element: str = _DEFAULT_ELEMENT
    component: str = _DEFAULT_COMPONENT
    repetition: str | None = None
    terminator: str = _DEFAULT_TERMINATOR


@dataclass
class Tokens:
    """The segments of one file.

    `segments[i]` is the element list of a segment (`segments[i][0]` its ID, e.g. "CLP"),
    `numbers[i]` its 1-based position counted from the file's first segment, and
    `delimiters[i]` the separators in force for it (they can change per interchange).
    `problems` are (segment number or None, message) pairs about the file's syntax.
    Elements keep their spaces (ISA pads its fields) unless `tokenize(strip_elements=True)`.
    Segments with the same text share one list: treat them as read-only. `texts` holds each of
    those lists once and `codes[i]` says which is segment i's (`segments[i] is
    texts[codes[i]]`), so a reader can work once per distinct text.

    A plainly written file (see `_Plain`) is split only as far as it is asked: `segment_ids`,
    `rows`, `spans` and `take` give what a reader working by kind of segment needs without a
    list or a number per segment, and `texts`, `codes`, `segments`, `numbers` and `delimiters`
    are made when first asked for.
    """

    problems: list[tuple[int | None, str]] = field(default_factory=list)
    _numbers: list[int] | None = field(default_factory=list, repr=False)
    _delimiters: list[Delimiters] | None = field(default_factory=list, repr=False)
    _texts: np.ndarray | None = field(default_factory=lambda: np.empty(0, dtype=object),
                                      repr=False)
    _codes: np.ndarray | None = field(default_factory=lambda: np.empty(0, dtype=np.intp),
                                      repr=False)
    _segments: list[list[str]] | None = field(default=None, repr=False)
    _plain: _Plain | None = field(default=None, repr=False)

    @property
    def texts(self) -> np.ndarray:
        if self._texts is None:
            self._texts, self._codes = self._plain.texts_and_codes()
        return self._texts

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            self._texts, self._codes = self._plain.texts_and_codes()
        return self._codes

    @property
    def segments(self) -> list[list[str]]:
        if self._segments is None:
            self._segments = self.texts[self.codes].tolist()
        return self._segments

    @property
    def numbers(self) -> list[int]:
        if self._numbers is None:
            self._numbers = list(range(1, self.count + 1))
        return self._numbers

    @property
    def delimiters(self) -> list[Delimiters]:
        if self._delimiters is None:
            self._delimiters = [self._plain.delims] * self.count
        return self._delimiters

    @property
    def count(self) -> int:
        """How many segments there are."""
        return len(self._plain.starts) if self._plain is not None else len(self._numbers)

    def shared_delimiters(self) -> Delimiters | None:
        """The separators of all segments when they share one set and are numbered from 1
        without a gap, else None."""
        if self._plain is not None:
            return self._plain.delims
        n = len(self.numbers)
        if n and self.delimiters.count(self.delimiters[0]) == n and self.numbers[-1] == n:
            return self.delimiters[0]
        return None

    def segment_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Each segment's ID as a number, and the IDs those numbers stand for (`ids[i]` is
        `segments[i][0]` as `names[ids[i]]`)."""
        if self._plain is not None:
            return self._plain.segment_ids()
        texts = self.texts
        ids, names = pd.factorize(np.fromiter(map(itemgetter(0), texts), dtype=object,
                                              count=len(texts)))
        return ids[self.codes], names

    def rows(self, positions: np.ndarray, distinct: bool = True) -> tuple[list, np.ndarray]:
        """The element lists of the segments at `positions` and, for each position, which of
        them is its. `distinct`: equal texts are one list; otherwise there may be a list per
        position (one each, in order, for a plain file), which costs less for a kind of segment
        whose texts hardly repeat."""
        if self._plain is not None:
            return self._plain.rows(positions, distinct)
        codes = self.codes[positions]
        if not distinct:
            return self.texts[codes].tolist(), np.arange(len(codes))
        which, uniques = pd.factorize(codes)
        return self.texts[uniques].tolist(), which

    def at(self, positions: np.ndarray) -> list[list[str]]:
        """The element lists of the segments at `positions`, in order."""
        return self.rows(positions, distinct=False)[0]

    def spans(self, positions: np.ndarray,
              count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """For a plain file, its bytes and where elements 1 to `count` of the segments at
        `positions` begin and end in them (two `(len(positions), count)` arrays; an element a
        segment lacks is empty there): a reader can take values from the bytes without a list
        or a text per element. None for any other file, or when `positions` holds the header
        segment (trimmed on its own)."""
        if self._plain is None or not len(self._plain.starts) or (positions == 0).any():
            return None
        return (self._plain.data, *self._plain.spans(positions, count))

    def take(self, positions: np.ndarray) -> tuple[list[list[str]], list[int],
                                                   list[Delimiters]]:
        """The segments at `positions` with their numbers and delimiters, in order."""
        if self._plain is not None:
            return (self.at(positions), (positions + 1).tolist(),
                    [self._plain.delims] * len(positions))
        segments, positions = self.at(positions), positions.tolist()
        return (segments, [self.numbers[i] for i in positions],
                [self.delimiters[i] for i in positions])


@dataclass
class _Plain:
    """A file that is one interchange of ASCII text with no whitespace inside its segments
    next to a separator, kept as its text and where each segment starts and ends in it
    (trimmed; `data`: the text's bytes, at the same positions).

    Such a file's element lists are its segment texts split at the element separator, but for
    the first segment, whose padded header fields are trimmed. A reader by kind of segment asks
    for the lists of one kind at a time, and can have the texts that hardly repeat (claims,
    patients) split without first numbering them. No text is made per segment up front: the
    segments of a kind are numbered by their bytes (`distinct`) and only one text of each is
    made, and the segment IDs are read from the first four bytes of each segment.
    """

    text: str
    data: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    delims: Delimiters
    strip_elements: bool

    def texts_at(self, positions: np.ndarray) -> list[str]:
        """The texts of the segments at `positions` (ASCII: a byte is a character)."""
        text = self.text
        return [text[start:end] for start, end in zip(self.starts[positions].tolist(),
                                                      self.ends[positions].tolist())]

    def texts_and_codes(self) -> tuple[np.ndarray, np.ndarray]:
        raws = self.texts_at(np.arange(len(self.starts)))
        return _texts_and_codes(raws, self.delims, False, self.strip_elements)

    def rows(self, positions: np.ndarray, distinct: bool) -> tuple[list, np.ndarray]:
        element = self.delims.element
        if distinct:
            which, firsts = self.distinct(positions)
            raws = self.texts_at(positions[firsts])
        else:
            which = np.arange(len(positions))
            raws = self.texts_at(positions)
        rows = [raw.split(element) for raw in raws]
        first = np.flatnonzero(positions == 0)
        if len(first):  # the header segment, trimmed: its own list
            parts = self.texts_at(np.zeros(1, dtype=np.intp))[0].split(element)
            _trim(parts, _strip_chars(self.delims), self.strip_elements)
            if distinct:
                which[first] = len(rows)
                rows.append(parts)
            else:
                for i in first.tolist():
                    rows[i] = parts
        return rows, which

    def distinct(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`pd.factorize` of the texts of the segments at `positions`, with each distinct
        text's first index in `positions`, read from the bytes (`distinct_spans`)."""
        starts = self.starts[positions]
        found = distinct_spans(self.data, starts, self.ends[positions] - starts)
        if found is None:
            codes, _ = pd.factorize(np.array(self.texts_at(positions), dtype=object))
            found = codes, first_of_each(codes)
        return found

    def spans(self, positions: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """`Tokens.spans` of segments other than the first: their separators are found in
        their own bytes (a search of the whole file would cost more than the reading)."""
        starts, ends = self.starts[positions], self.ends[positions]
        lengths = ends - starts
        n, width = len(positions), max(int(lengths.max(initial=0)), 1)
        # each segment's bytes as a row (a short one filled out with what follows it, which
        # is masked off)
        separators = windows(self.data, starts, width) == ord(self.delims.element)
        small = np.min_scalar_type(width)  # a byte a cell when rows are short: faster
        separators &= np.arange(width, dtype=small) < lengths.astype(small)[:, None]
        at = np.flatnonzero(separators)
        # alike segments (as many separators each) are the common case: the separators then
        # fall in rows of equal length, each within its segment's row of bytes
        alike, row_start = False, np.arange(n) * width
        if n and not len(at) % n:
            by_row = at.reshape(n, len(at) // n)
            alike = not len(at) or bool(((by_row[:, 0] >= row_start)
                                         & (by_row[:, -1] < row_start + width)).all())
        if alike:
            columns = by_row[:, :count + 1] - row_start[:, None]
            missing = count + 1 - columns.shape[1]
            if missing:  # fewer elements than asked: the rest end where the segment does
                columns = np.concatenate((columns, np.repeat(lengths[:, None], missing, 1)),
                                         axis=1)
            bounds = columns + starts[:, None]
        else:
            # separator j of each segment (0: the one after its ID), or its end if it has fewer
            found = np.count_nonzero(separators, axis=1)
            j = np.arange(count + 1)
            at -= (at // width) * width
            if not len(at):
                at = np.zeros(1, dtype=np.intp)
            bounds = np.where(j < found[:, None],
                              at[np.minimum((np.cumsum(found) - found)[:, None] + j,
                                            len(at) - 1)],
                              lengths[:, None]) + starts[:, None]
        end = bounds[:, 1:]
        return np.minimum(bounds[:, :-1] + 1, end), end

    def segment_ids(self) -> tuple[np.ndarray, np.ndarray]:
        separator = ord(self.delims.element)
        # each segment's first four bytes as one number, read through a sliding window
        short = self.ends - self.starts < 4
        keys = np.zeros(len(self.starts), dtype=np.uint32)
        if not short.all():
            window = as_strided(self.data, shape=(len(self.data) - 3, 4), strides=(1, 1))
            keys[~short] = window[self.starts[~short]].view(np.uint32).ravel()
        ids, uniques = pd.factorize(keys)
        names = np.empty(len(uniques), dtype=object)
        for i, key in enumerate(uniques.tolist()):
            head = key.to_bytes(4, sys.byteorder)
            end = head.find(separator)
            names[i] = head[:end].decode("ascii") if end >= 0 else None
        # an ID of four characters or more, or a segment of fewer: read from its text
        exact = np.flatnonzero(short | np.equal(names, None)[ids])
        if len(exact):
            named = names[ids]
            named[exact] = [raw.split(self.delims.element, 1)[0]
                            for raw in self.texts_at(exact)]
            ids, names = pd.factorize(named)
        return ids, names


def windows(data: np.ndarray, begin: np.ndarray, width: int) -> np.ndarray:
    """The `width` bytes of `data` from each of `begin` (zeros past its end), a row each."""
    last = len(data) - width
    if last < 0:
        return windows(np.concatenate((data, np.zeros(width, dtype=np.uint8))), begin, width)
    rows = as_strided(data, shape=(last + 1, width), strides=(1, 1))[np.minimum(begin, last)]
    for row in np.flatnonzero(begin > last).tolist():
        tail = data[begin[row]:]
        rows[row] = 0
        rows[row, :len(tail)] = tail
    return rows


_HASH_FACTOR = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it loses no bits
# the first n bytes of a 64-bit word in memory, as a mask of the word
WORD_MASKS = np.array([(1 << (8 * n)) - 1 if sys.byteorder == "little"
                       else ((1 << (8 * n)) - 1) << (8 * (8 - n)) for n in range(9)],
                      dtype=np.uint64)


def words_of(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
             count: int) -> list[np.ndarray]:
    """The bytes of the texts `data[starts:starts + lengths]` as `count` 64-bit words each
    (eight bytes to a word, zeros past a text's end): equal texts of up to `8 * count` bytes
    have equal words."""
    last = len(data) - 8
    if last < 0:
        return words_of(np.concatenate((data, np.zeros(8, dtype=np.uint8))), starts, lengths,
                        count)
    # a word at every byte (unaligned reads of the same memory)
    at_byte = as_strided(np.frombuffer(data, dtype=np.uint64, count=1), shape=(last + 1,),
                         strides=(1,))
    out = []
    for word in range(count):
        at = starts + 8 * word
        words = at_byte[np.minimum(at, last)]
        for row in np.flatnonzero(at > last).tolist():  # the file's last few bytes
            tail = data[at[row]:at[row] + 8]
            word_bytes = np.zeros(8, dtype=np.uint8)
            word_bytes[:len(tail)] = tail
            words[row] = word_bytes.view(np.uint64)[0]
        out.append(words & WORD_MASKS[np.clip(lengths - 8 * word, 0, 8)])
    return out


def distinct_spans(data: np.ndarray, starts: np.ndarray,
                   lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """`pd.factorize` of the texts `data[starts:starts + lengths]`, and where each distinct
    one first is, without a text made: each text's bytes, eight at a time, are hashed to one
    number, and each text is then checked byte for byte against the first with its number.
    None on a collision of the hash (texts that differ but hash alike), which is rare."""
    words = words_of(data, starts, lengths, -(-int(lengths.max(initial=0)) // 8))
    hashed = lengths.astype(np.uint64)
    for word in words:
        hashed *= _HASH_FACTOR
        hashed += word
    codes, _ = pd.factorize(hashed)
    firsts = first_of_each(codes)
    if len(firsts) and not ((lengths[firsts][codes] == lengths).all()
                            and all((word[firsts][codes] == word).all() for word in words)):
        return None
    return codes, firsts


def decode(data: bytes | str) -> str:
    """Bytes to text: UTF-8 (BOM stripped), falling back to Latin-1, which never fails."""
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    return text.lstrip("\ufeff")


def _terminator_after(text: str, pos: int, element: str) -> tuple[str, bool]:
    """The segment terminator starting at `pos` (just after the header's last element).

    Returns (terminator, ok). A line break followed by punctuation means the file puts a line
    break *before* each terminator; a line break followed by a segment ID means line breaks are
    the terminators.
    """
    if pos >= len(text):
        return _DEFAULT_TERMINATOR, False
    ch = text[pos]
    if ch not in _WHITESPACE:
        return ch, not ch.isalnum() and ch != element
    rest = text[pos:].lstrip(_WHITESPACE)
    if rest and not rest[0].isalnum() and rest[0] != element:
        return rest[0], True
    return "\n", True


def _isa_delimiters(text: str, start: int) -> Delimiters | None:
    """Separators declared by the ISA header at `start`, or None if it is not a usable header."""
    if start + 4 > len(text):
        return None
    element = text[start + 3]
    if element.isalnum() or element in _WHITESPACE:
        return None
    head = text[start:start + 400]
    parts = head.split(element, 16)
    if len(parts) < 17 or not parts[16]:
        return None
    if not parts[12].strip().isdigit():  # ISA12 version: 00401, 00501
        return None
    component = parts[16][0]
    offset = start + len(head) - len(parts[16]) + 1
    terminator, ok = _terminator_after(text, offset, element)
    if not ok:
        return None
    repetition = parts[11].strip()
    if len(repetition) != 1 or repetition.isalnum() or repetition in (element, component,
                                                                      terminator):
        repetition = None  # 4010 puts `U` (a standards id) in ISA11
    if component.isalnum() or component in (element, terminator):
        component = _DEFAULT_COMPONENT if element != _DEFAULT_COMPONENT else ">"
    return Delimiters(element, component, repetition, terminator)


def _st_delimiters(text: str, start: int) -> Delimiters:
    """No envelope: the character after ST is the element separator; sniff the terminator."""
    element = text[start + 2]
    pos = start + 3
    # past ST01 (835) and ST02 (control number), then whatever ends the segment
    while pos < len(text) and (text[pos].isalnum() or text[pos] == element or text[pos] == " "):
        pos += 1
    terminator, ok = _terminator_after(text, pos, element)
    if not ok:
        terminator = _DEFAULT_TERMINATOR
    component = _DEFAULT_COMPONENT if element != _DEFAULT_COMPONENT else ">"
    return Delimiters(element, component, None, terminator)


def _after_terminator(text: str, i: int, terminator: str | None) -> bool:
    """Is position `i` the start of a segment (only whitespace since the last terminator)?"""
    j = i - 1
    while j >= 0 and text[j] in _WHITESPACE:
        j -= 1
    if j < 0:
        return True
    return text[j] == terminator if terminator is not None else not text[j].isalnum()


def _next_isa(text: str, begin: int, terminator: str | None) -> tuple[int, Delimiters | None]:
    """Where the next interchange starts (a valid ISA header at a segment start), if any."""
    i = text.find("ISA", begin)  # a plain search runs through the text many times faster
    while i >= 0:
        if _ISA_START.match(text, i) and _after_terminator(text, i, terminator):
            found = _isa_delimiters(text, i)
            if found is not None:
                return i, found
        i = text.find("ISA", i + 1)
    return -1, None


@functools.lru_cache(maxsize=64)
def _strip_chars(delims: Delimiters) -> str:
    """Whitespace trimmed around segments and segment IDs: all of it but the separators."""
    return "".join(c for c in _WHITESPACE
                   if c not in (delims.element, delims.component, delims.terminator))


_ASCII_SPACES = "".join(c for c in map(chr, range(128)) if c.isspace())


def _kept_spaces(delims: Delimiters) -> str:
    """Whitespace that is never inside an element once the segment is trimmed and split."""
    return _strip_chars(delims) + delims.terminator + delims.element


@functools.lru_cache(maxsize=64)
def _loose_pattern(delims: Delimiters) -> re.Pattern[str]:
    """`_loose_whitespace` as a regular expression, for text with Unicode spaces."""
    element = re.escape(delims.element)
    return re.compile(rf"\s{element}|{element}\s|[^\S{re.escape(_kept_spaces(delims))}]")


def _loose_whitespace(chunk: str, start: int, delims: Delimiters,
                      spaces: dict[str, np.ndarray] | None = None,
                      data: np.ndarray | None = None) -> bool:
    """Could splitting leave whitespace at the edge of a segment ID or element after `start`?

    Yes when whitespace touches an element separator, or when there is whitespace that trimming
    a segment keeps (Unicode or control spaces, a whitespace component separator). It may say
    yes more often than needed, never less. ASCII text (`data`: its bytes, `spaces`: where each
    ASCII space is) is checked around the spaces it holds; a regular expression, or a search
    for each space and separator pair, would cost several times more.
    """
    if data is None:
        return _loose_pattern(delims).search(chunk, start) is not None
    element = ord(delims.element)
    kept = _kept_spaces(delims)
    for space, at in spaces.items():
        if space == delims.element:
            continue
        if space not in kept:
            return True
        at = at[at >= start]
        after = at[at + 1 < len(data)] + 1
        if (data[at - 1] == element).any() or (data[after] == element).any():
            return True
    return False


def _spaces(data: np.ndarray) -> dict[str, np.ndarray]:
    """Where each ASCII space is in a chunk's bytes (`data`), all found in one pass: a search
    per space would read the chunk once for each."""
    at = np.flatnonzero(data <= ord(" "))  # every ASCII space is a control character or " "
    found = data[at]
    return {chr(c): at[found == c] for c in np.unique(found).tolist()
            if chr(c) in _ASCII_SPACES}


@functools.lru_cache(maxsize=64)
def _edge_table(strip_chars: str) -> np.ndarray:
    """Which bytes `str.strip(strip_chars)` takes off the edges of a segment."""
    table = np.zeros(256, dtype=bool)
    table[[ord(c) for c in strip_chars]] = True
    return table


def _pieces(raws: list[str] | None, data: np.ndarray, spaces: dict[str, np.ndarray],
            terminator: str,
            strip_chars: str) -> tuple[list[str] | None, np.ndarray, np.ndarray] | None:
    """The pieces of a split ASCII chunk (`data`: its bytes, `spaces`: where its spaces are)
    trimmed of whitespace, the blank ones dropped; with where each starts and ends in `data`.
    None for whitespace runs too long to step over a byte at a time.

    Only the pieces with whitespace at an edge are trimmed, found from where the whitespace
    is: most files have line breaks after a few envelope segments at most, and trimming every
    piece costs more than splitting.
    """
    term = ord(terminator)
    ends = np.flatnonzero(data == term)
    if raws is not None and len(ends) != len(raws) - 1:  # pragma: no cover - one byte each
        return None
    n = len(ends) + 1
    starts = np.concatenate(([0], ends + 1))
    ends = np.append(ends, len(data))
    at = [where for space, where in spaces.items() if space in strip_chars]
    at = np.concatenate(at) if at else np.zeros(0, dtype=np.intp)
    last = len(data) - 1
    edge = (at == 0) | (at == last) | (data[np.maximum(at - 1, 0)] == term) | (
        data[np.minimum(at + 1, last)] == term)
    ragged = np.unique(np.searchsorted(ends[:-1], at[edge]))  # the pieces they are in
    if len(ragged) > n // 8:  # a line break after every segment: trim them all
        ragged = np.arange(n)
    trimmed = _stepped(starts[ragged], ends[ragged], data, _edge_table(strip_chars))
    if trimmed is None:
        return None
    starts[ragged], ends[ragged] = trimmed
    kept = starts < ends
    if raws is not None:  # else the bounds alone
        raws = _trimmed(raws, ragged, kept, strip_chars)
    if not kept.all():
        starts, ends = starts[kept], ends[kept]
    return raws, starts, ends


def _trimmed(raws: list[str], ragged: np.ndarray, kept: np.ndarray,
             strip_chars: str) -> list[str]:
    """`_pieces`' texts: the `ragged` ones trimmed, then those not `kept` dropped."""
    if len(ragged) == len(raws):
        raws = list(map(str.strip, raws, repeat(strip_chars)))
    else:
        for i in ragged.tolist():
            raws[i] = raws[i].strip(strip_chars)
    if not kept.all():
        drop = np.flatnonzero(~kept)
        if len(drop) > 16:
            raws = list(compress(raws, kept))
        else:
            for i in reversed(drop.tolist()):
                del raws[i]
    return raws


def _stepped(starts: np.ndarray, ends: np.ndarray, data: np.ndarray,
             edges: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """`starts` and `ends` moved inwards past the bytes that are `edges`, a byte a step (None
    after sixteen steps)."""
    last = max(len(data) - 1, 0)
    for step in range(17):  # leading whitespace
        if step == 16:
            return None
        moving = (starts < ends) & edges[data[np.minimum(starts, last)]]
        if not moving.any():
            break
        starts += moving
    for step in range(17):  # trailing whitespace
        if step == 16:
            return None
        moving = (starts < ends) & edges[data[np.maximum(ends - 1, 0)]]
        if not moving.any():
            break
        ends -= moving
    return starts, ends


def _trim(parts: list[str], strip_chars: str, strip_elements: bool) -> None:
    parts[0] = parts[0].strip(strip_chars)
    if strip_elements:
        parts[1:] = [p.strip() for p in parts[1:]]


def _texts_and_codes(raws: list[str] | np.ndarray, delims: Delimiters, loose: bool,
                     strip_elements: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct segment text split once (`Tokens.texts`), and which is each segment's."""
    codes, distinct = pd.factorize(np.asarray(raws, dtype=object))
    element = delims.element
    texts = [raw.split(element) for raw in distinct]
    if len(codes):  # the first is trimmed on its own: its own list, not a repeat's
        texts.append(texts[codes[0]][:])
        codes[0] = len(texts) - 1
    strip_chars = _strip_chars(delims)
    for parts in texts if loose else texts[-1:]:
        _trim(parts, strip_chars, strip_elements)
    return np.fromiter(texts, dtype=object, count=len(texts)), codes


def _split(chunk: str, delims: Delimiters, first_number: int, out: _Chunks,
           strip_elements: bool, whole: bool) -> int:
    """Split one interchange (`whole`: the file's only one) into `out`."""
    strip_chars = _strip_chars(delims)
    data = spaces = pieces = None
    if chunk.isascii():
        data = np.frombuffer(chunk.encode("ascii"), dtype=np.uint8)
        spaces = _spaces(data)
    # the first segment (an ISA pads its fields) is always trimmed one by one
    first_end = chunk.find(delims.terminator)
    loose = _loose_whitespace(chunk, (first_end if first_end >= 0 else len(chunk)) + 1, delims,
                              spaces, data)
    if whole and data is not None and not loose:
        pieces = _pieces(None, data, spaces, delims.terminator, strip_chars)
        if pieces is not None and len(pieces[1]):  # plain: no text per segment made here
            _, starts, ends = pieces
            tokens = out.tokens
            tokens._plain = _Plain(chunk, data, starts, ends, delims, strip_elements)
            tokens._texts = tokens._codes = tokens._numbers = tokens._delimiters = None
            return len(starts)
    raws = chunk.split(delims.terminator)
    if data is not None:
        pieces = _pieces(raws, data, spaces, delims.terminator, strip_chars)
    if pieces is None:
        raws = list(filter(None, map(str.strip, raws, repeat(strip_chars))))
    else:
        raws = pieces[0]
    n = len(raws)
    out.add(*_texts_and_codes(raws, delims, loose, strip_elements))
    out.tokens.numbers.extend(range(first_number + 1, first_number + n + 1))
    out.tokens.delimiters.extend([delims] * n)
    return first_number + n


class _Chunks:
    """The texts and codes of a file's interchanges, joined once all are split."""

    def __init__(self, tokens: Tokens):
        self.tokens = tokens
        self.texts: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.n_texts = 0

    def add(self, texts: np.ndarray, codes: np.ndarray) -> None:
        self.texts.append(texts)
        self.codes.append(codes + self.n_texts if self.n_texts else codes)
        self.n_texts += len(texts)

    def close(self) -> None:
        if self.texts:
            self.tokens._texts = (self.texts[0] if len(self.texts) == 1
                                  else np.concatenate(self.texts))
            self.tokens._codes = (self.codes[0] if len(self.codes) == 1
                                  else np.concatenate(self.codes))


def tokenize(data: bytes | str, strip_elements: bool = False) -> Tokens:
    """Segments of an X12 file (bytes or text); never raises.

    `strip_elements` trims the whitespace around every element but the segment ID, as the
    reader wants its values.
    """
    out = Tokens()
    try:
        text = decode(data)
    except Exception:  # noqa: BLE001 - a reader must survive any input
        out.problems.append((None, "the file could not be read as text"))
        return out
    body = text.lstrip(_WHITESPACE + "\x00")
    begin = len(text) - len(body)
    delims = _isa_delimiters(text, begin) if body.startswith("ISA") else None
    if delims is None and body.startswith("ST") and len(body) > 2 \
            and not body[2].isalnum() and body[2] not in _WHITESPACE:
        delims = _st_delimiters(text, begin)
    if delims is None:
        isa_at, delims = _next_isa(text, begin, None)
        st = _ST_START.search(text, begin)
        if st is not None and (isa_at < 0 or st.start() < isa_at):
            isa_at, delims = st.start(), _st_delimiters(text, st.start())
        if delims is None:
            out.problems.append((None, ("this is not an X12 835 file: expected it to start "
                                        "with an ISA or ST segment")))
            return out
        out.problems.append((None, "text before the first segment was ignored"))
        begin = isa_at
    with paused_gc():
        number = 0
        pos = begin
        chunks = _Chunks(out)
        while delims is not None:
            nxt, nxt_delims = _next_isa(text, pos + 3, delims.terminator)
            end = nxt if nxt >= 0 else len(text)
            number = _split(text[pos:end], delims, number, chunks, strip_elements,
                            whole=pos == begin and nxt < 0)
            if nxt < 0:
                break
            pos, delims = nxt, nxt_delims
        chunks.close()
    return out


def split_composite(value: str, delims: Delimiters) -> list[str]:
    """Split a composite element, accepting `:` or `>` when the declared separator is absent."""
    return split_components(value, delims.component, delims.element)


def split_components(value: str, component: str, element: str) -> list[str]:
    """`split_composite` given the two separators (plain strings make a cheap cache key)."""
    if component in value:
        return value.split(component)
    for alt in ALTERNATE_COMPONENTS:
        if alt != element and alt in value:
            return value.split(alt)
    return [value]


def build(segments: list[list[str]], delims: Delimiters, line_break: str = "",
          break_before_terminator: bool = False) -> str:
    """Write segments back as X12 text (tests and fixtures use this)."""
    out = []
    for seg in segments:
        body = delims.element.join(seg)
        out.append(body + line_break + delims.terminator if break_before_terminator
                   else body + delims.terminator + line_break)
    return "".join(out)
