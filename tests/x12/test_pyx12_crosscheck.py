"""Cross-check our reader against pyx12's segment reader on every sample file pyx12 accepts.

pyx12 is an independent X12 implementation: where it can read a file, its CLP and BPR elements
must agree with ours — same number of claims, same Σ CLP03 charge and Σ CLP04 paid, and the same
BPR02 payment for each transaction, in file order. Files pyx12 rejects are skipped with its
reason. The module is skipped when pyx12 is not installed.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("pyx12")
from pyx12.x12file import X12Reader  # noqa: E402

from engine.x12 import read_835  # noqa: E402

DATA = Path("/work/shared/data/835")
FILES = sorted(p.name for p in DATA.glob("*.835")) if DATA.is_dir() else []
SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")

pytestmark = pytest.mark.skipif(not FILES, reason="sample data not available")


def _cents(text: str | None) -> int | None:
    if text is None or str(text).strip() == "":
        return None
    return int(Decimal(str(text).strip()) * 100)


def pyx12_totals(path: Path) -> dict:
    """Claims and payments as pyx12's X12Reader sees them (segment by segment, no validation)."""
    # pyx12 decodes as ASCII and chokes on a UTF-8 byte-order mark: hand it the decoded text
    text = path.read_bytes().decode("utf-8-sig")
    claims, bpr = [], []
    for seg in X12Reader(io.StringIO(text)):
        sid = seg.get_seg_id()
        # tigershark's pipe samples end the ISA with "\n" as the terminator and start every
        # later segment with "~": pyx12 keeps that "~" in the segment ID ("~CLP"), so elements
        # are read by position ("03", a reference designator without the segment ID)
        sid = sid.lstrip("~\r\n ")
        if not SEGMENT_ID.fullmatch(sid or ""):
            raise ValueError(f"pyx12 read a segment ID we cannot interpret: {sid!r}")
        if sid == "CLP":
            claims.append((seg.get_value("01"), _cents(seg.get_value("03")),
                           _cents(seg.get_value("04"))))
        elif sid == "BPR":
            bpr.append(_cents(seg.get_value("02")))
    return {"claims": claims, "bpr": bpr}


def _pyx12_or_skip(path: Path) -> dict:
    try:
        return pyx12_totals(path)
    except Exception as exc:  # pyx12 refuses some real-world files; that is not our failure
        pytest.skip(f"pyx12 does not accept {path.name}: {type(exc).__name__}: {exc}")


def _int(v) -> int:
    return 0 if v is None or v != v else int(v)


@pytest.mark.parametrize("name", FILES)
def test_claims_and_payments_agree_with_pyx12(name):
    theirs = _pyx12_or_skip(DATA / name)
    ours = read_835(DATA / name, name)

    assert len(ours.claims) == len(theirs["claims"]), "claim count"
    assert list(ours.claims["claim"]) == [c[0] for c in theirs["claims"]], "CLP01 in order"
    assert _int(ours.claims["charge_cents"].sum()) == sum(c[1] or 0 for c in theirs["claims"])
    assert _int(ours.claims["paid_cents"].sum()) == sum(c[2] or 0 for c in theirs["claims"])
    # claim by claim too, so a swapped pair of amounts cannot cancel out in the sums
    assert [(_int(c), _int(p)) for c, p in zip(ours.claims["charge_cents"],
                                               ours.claims["paid_cents"])] == [
        (c[1] or 0, c[2] or 0) for c in theirs["claims"]]

    assert len(ours.transactions) == len(theirs["bpr"]), "one transaction per BPR"
    assert [_int(v) for v in ours.transactions["paid_cents"]] == [v or 0 for v in theirs["bpr"]]
    assert _int(ours.transactions["paid_cents"].sum()) == sum(v or 0 for v in theirs["bpr"])


def test_pyx12_reads_most_samples():
    """Guard against the cross-check silently skipping everything (e.g. a pyx12 API change)."""
    accepted = []
    for name in FILES:
        try:
            pyx12_totals(DATA / name)
        except Exception:
            continue
        accepted.append(name)
    assert len(accepted) >= len(FILES) // 2, f"pyx12 accepted only {accepted}"
