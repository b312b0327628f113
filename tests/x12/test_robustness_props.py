"""Property tests: damaged 835 files never make the reader, the balancer or the finding builder
raise, and every problem the reader reports says where (file, segment) and what (message).

Inputs are derived from the public samples (and the inline `BALANCED` file from conftest):
any prefix, shuffled segments, duplicated segments, random bytes, random mixtures of real
segments. Examples are kept modest so each property runs in a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from builders import x12_builders
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.x12 import check_balance, problems_to_findings, read_835
from engine.x12.read import (
    ADJUSTMENT_COLUMNS,
    CLAIM_COLUMNS,
    LINE_COLUMNS,
    PLB_COLUMNS,
    PROBLEM_COLUMNS,
    TRANSACTION_COLUMNS,
)
from engine.x12.tokenize import build, tokenize

_cf = x12_builders()
BALANCED, build_835 = _cf.BALANCED, _cf.build_835
DATA = Path("/work/shared/data/835")
NAME = "era/damaged.835"

SAMPLES: dict[str, bytes] = {"inline_balanced": build_835(BALANCED).encode()}
if DATA.is_dir():
    SAMPLES.update({p.name: p.read_bytes() for p in sorted(DATA.glob("*.835"))})
# the big multi-interchange file makes shuffles slow to shrink; prefixes of it are still used
SMALL = sorted(n for n, b in SAMPLES.items() if len(b) < 20_000)

# (segments, delimiters of the first interchange) per sample, from our own tokenizer
PARSED = {}
for _n, _b in SAMPLES.items():
    _t = tokenize(_b)
    if _t.segments and _t.delimiters:
        PARSED[_n] = (_t.segments, _t.delimiters[0])

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TABLES = {
    "transactions": TRANSACTION_COLUMNS, "claims": CLAIM_COLUMNS, "lines": LINE_COLUMNS,
    "adjustments": ADJUSTMENT_COLUMNS, "plb": PLB_COLUMNS, "problems": PROBLEM_COLUMNS,
}


def check_remit(data: bytes) -> None:
    """read_835 → check_balance → problems_to_findings, with the invariants that must hold."""
    remit = read_835(data, NAME)
    for table, columns in TABLES.items():
        df = getattr(remit, table)
        assert isinstance(df, pd.DataFrame), table
        assert tuple(df.columns) == columns, table

    p = remit.problems
    assert (p["file"] == NAME).all()
    assert p["message"].notna().all() and (p["message"].str.len() > 0).all()
    assert p["severity"].isin(["low", "medium", "high"]).all()
    seg = p["segment"].dropna()
    assert (seg >= 1).all()
    with_seg = p[p["segment"].notna()]
    assert (with_seg["source"] == NAME + " segment " + with_seg["segment"].astype(str)).all()

    # the tables stay linked, whatever was skipped
    assert set(remit.claims["transaction_index"].dropna()) <= set(
        remit.transactions["transaction_index"])
    assert set(remit.lines["claim_index"].dropna()) <= set(remit.claims["claim_index"])
    assert set(remit.adjustments["claim_index"].dropna()) <= set(remit.claims["claim_index"])
    assert set(remit.adjustments["line_index"].dropna()) <= set(remit.lines["line_index"])
    for df in (remit.claims, remit.lines, remit.adjustments, remit.plb, remit.transactions):
        assert (df["file"] == NAME).all()
        assert (df["segment"] >= 1).all()

    findings = check_balance(remit)
    assert isinstance(findings, pd.DataFrame)
    if len(findings):
        assert findings["key"].is_unique
        assert findings["source"].str.startswith(NAME + " segment ").all()
    problems_to_findings(remit.problems)


@SETTINGS
@given(data=st.data())
def test_any_prefix_of_a_sample(data):
    name = data.draw(st.sampled_from(sorted(SAMPLES)), label="sample")
    raw = SAMPLES[name]
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    check_remit(raw[:cut])


@SETTINGS
@given(data=st.data(), keep_isa=st.booleans())
def test_shuffled_segments(data, keep_isa):
    name = data.draw(st.sampled_from(SMALL), label="sample")
    segs, delims = PARSED[name]
    if keep_isa:  # keep the envelope readable so the shuffled body is really parsed
        body = data.draw(st.permutations(segs[1:]), label="body")
        segs = [segs[0]] + list(body)
    else:
        segs = data.draw(st.permutations(segs), label="segments")
    check_remit(build(segs, delims).encode())


@SETTINGS
@given(data=st.data())
def test_duplicated_segments(data):
    name = data.draw(st.sampled_from(SMALL), label="sample")
    segs, delims = PARSED[name]
    picks = data.draw(st.lists(st.integers(0, len(segs) - 1), min_size=1, max_size=8),
                      label="duplicated")
    times = data.draw(st.integers(1, 3), label="times")
    out = []
    for i, seg in enumerate(segs):
        out.append(seg)
        if i in picks:
            out.extend([seg] * times)
    check_remit(build(out, delims).encode())


@SETTINGS
@given(raw=st.binary(max_size=3000))
def test_random_bytes(raw):
    check_remit(raw)


@SETTINGS
@given(data=st.data(), junk=st.binary(max_size=500))
def test_valid_header_then_random_bytes(data, junk):
    name = data.draw(st.sampled_from(SMALL), label="sample")
    raw = SAMPLES[name]
    cut = data.draw(st.integers(0, min(len(raw), 400)), label="cut")
    check_remit(raw[:cut] + junk)


@SETTINGS
@given(data=st.data())
def test_random_mixture_of_valid_segments(data):
    name = data.draw(st.sampled_from(SMALL), label="sample")
    segs, delims = PARSED[name]
    body = data.draw(st.lists(st.sampled_from(segs[1:]), max_size=60), label="body")
    # segments from every other sample too, written with this file's separators
    others = [s for n in SMALL if n != name for s in PARSED[n][0][1:]]
    extra = data.draw(st.lists(st.sampled_from(others), max_size=20), label="foreign")
    mixed = data.draw(st.permutations(body + extra), label="mixed")
    with_isa = data.draw(st.booleans(), label="with_isa")
    check_remit(build(([segs[0]] if with_isa else []) + list(mixed), delims).encode())


@SETTINGS
@given(data=st.data())
def test_mutated_elements(data):
    """Real structure, damaged values: amounts, dates and codes replaced by junk text."""
    name = data.draw(st.sampled_from(SMALL), label="sample")
    segs, delims = PARSED[name]
    segs = [list(s) for s in segs]
    n = data.draw(st.integers(1, 10), label="n")
    junk = st.one_of(st.just(""), st.text("0123456789.-+E:^ ", max_size=8),
                     st.text(max_size=6).filter(lambda s: delims.element not in s
                                                and delims.terminator not in s))
    for _ in range(n):
        i = data.draw(st.integers(1, len(segs) - 1), label="segment")
        j = data.draw(st.integers(1, max(1, len(segs[i]))), label="element")
        value = data.draw(junk, label="value")
        if j < len(segs[i]):
            segs[i][j] = value
        else:
            segs[i].append(value)
    check_remit(build(segs, delims).encode())
