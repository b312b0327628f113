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
after their header, and one scan costs far less than stripping every element. Nothing here raises
on bad input: a file that is not X12 at all comes back with no segments and one problem.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
import pandas as pd

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
    """

    segments: list[list[str]] = field(default_factory=list)
    texts: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    codes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    numbers: list[int] = field(default_factory=list)
    delimiters: list[Delimiters] = field(default_factory=list)
    problems: list[tuple[int | None, str]] = field(default_factory=list)


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


def _loose_whitespace(chunk: str, start: int, delims: Delimiters) -> bool:
    """Could splitting leave whitespace at the edge of a segment ID or element after `start`?

    Yes when whitespace touches an element separator, or when there is whitespace that trimming
    a segment keeps (Unicode or control spaces, a whitespace component separator). It may say
    yes more often than needed, never less. ASCII text is checked with substring searches,
    which cost less than the split itself; a regular expression would cost several times more.
    """
    if not chunk.isascii():
        return _loose_pattern(delims).search(chunk, start) is not None
    element = delims.element
    kept = _kept_spaces(delims)
    for space in _ASCII_SPACES:
        if space == element or space not in chunk:
            continue
        if space not in kept:
            return True
        # the first few occurrences by their neighbours (the line breaks of a file that has
        # them only after its header), then the rest by searching for the pairs
        at = chunk.find(space, start)
        for _ in range(16):
            if at < 0:
                break
            if chunk[at - 1] == element or chunk[at + 1:at + 2] == element:
                return True
            at = chunk.find(space, at + 1)
        else:
            if (chunk.find(element + space, at - 1) >= 0
                    or chunk.find(space + element, at) >= 0):
                return True
    return False


def _split(chunk: str, delims: Delimiters, first_number: int, out: Tokens,
           strip_elements: bool) -> int:
    strip_chars = _strip_chars(delims)
    raws = chunk.split(delims.terminator)
    # the first segment (an ISA pads its fields) is always trimmed one by one
    loose = _loose_whitespace(chunk, len(raws[0]) + 1, delims)
    raws = list(filter(None, map(str.strip, raws, repeat(strip_chars))))
    codes, distinct = pd.factorize(np.array(raws, dtype=object))
    element = delims.element
    texts = [raw.split(element) for raw in distinct]
    if len(codes):  # the first is trimmed on its own: its own list, not a repeat's
        texts.append(texts[codes[0]][:])
        codes[0] = len(texts) - 1
    for parts in texts if loose else texts[-1:]:
        parts[0] = parts[0].strip(strip_chars)
        if strip_elements:
            parts[1:] = [p.strip() for p in parts[1:]]
    texts = np.fromiter(texts, dtype=object, count=len(texts))
    out.segments.extend(texts[codes].tolist())
    out.codes = np.concatenate((out.codes, codes + len(out.texts)))
    out.texts = np.concatenate((out.texts, texts))
    out.numbers.extend(range(first_number + 1, first_number + len(codes) + 1))
    out.delimiters.extend([delims] * len(codes))
    return first_number + len(codes)


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
        while delims is not None:
            nxt, nxt_delims = _next_isa(text, pos + 3, delims.terminator)
            end = nxt if nxt >= 0 else len(text)
            number = _split(text[pos:end], delims, number, out, strip_elements)
            if nxt < 0:
                break
            pos, delims = nxt, nxt_delims
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
