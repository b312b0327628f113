"""Malformed segments become problems with their segment numbers; the rest is still read."""

from __future__ import annotations

from engine.x12 import problems_to_findings, read_835


def test_bad_clp_amount_drops_only_that_claim(make_835, balanced_body):
    body = balanced_body.replace("CLP*INV-001*1*200.00*120.00", "CLP*INV-001*1*200.00*ABC")
    r = read_835(make_835(body).encode(), "bad.835")
    assert r.claims["claim"].tolist() == ["INV-002"]
    assert r.lines.empty  # the lost claim's line is not attached to anything else
    p = r.problems.iloc[0]
    assert (p["segment"], p["severity"], p["claim"]) == (10, "high", "INV-001")
    assert "CLP04" in p["message"] and "left out" in p["message"]
    assert not r.transactions["complete"].iloc[0]


def test_broken_svc_composite_kept_with_problem(make_835, balanced_body):
    body = balanced_body.replace("SVC*HC:99213:25*", "SVC*HC*")
    r = read_835(make_835(body).encode(), "svc.835")
    assert len(r.lines) == 1 and r.lines["cpt"].isna().all()
    assert r.problems["segment"].tolist() == [13]
    assert r.problems["severity"].tolist() == ["low"]


def test_bad_svc_amount_and_cas(make_835, balanced_body):
    body = (balanced_body.replace("SVC*HC:99213:25*200.00*", "SVC*HC:99213:25*2x0.00*")
            .replace("CAS*CO*45*50.00", "CAS*CO*45*5O.00"))
    r = read_835(make_835(body).encode(), "x.835")
    assert r.problems["segment"].tolist() == [13, 15]
    assert r.lines["charge_cents"].isna().tolist() == [True]
    assert len(r.claims) == 2 and not r.claims["complete"].iloc[0]


def test_messages_never_contain_patient_data(make_835, balanced_body):
    body = balanced_body.replace("CLP*INV-001*1*200.00*120.00", "CLP*INV-001*1*DOE*JANE")
    body = body.replace("DTM*232*20231201", "DTM*232*JANEDOE")
    r = read_835(make_835(body).encode(), "p.835")
    text = " ".join(r.problems["message"]) + " ".join(
        problems_to_findings(r.problems)["explanation"])
    assert "DOE" not in text and "JANE" not in text and "M123" not in text


def test_segments_outside_transaction_and_truncated_file(make_835, balanced_body):
    text = make_835(balanced_body, envelope=False)
    cut = text[: text.index("CLP*INV-002")]
    r = read_835((text + "CLP*X*1*1*1~" + cut).encode(), "cut.835")
    assert len(r.claims) == 3
    first = r.problems.iloc[0]
    assert "outside a transaction" in first["message"] and first["severity"] == "high"
    assert first["segment"] == 23
    assert "no SE" in r.problems["message"].iloc[-1]
    assert r.problems["severity"].iloc[-1] == "high"  # as high as the unbalanced total it causes
    garbage_first = read_835(("garbage~" + text).encode(), "g.835")
    assert len(garbage_first.claims) == 2
    assert garbage_first.problems["message"].tolist() == [
        "text before the first segment was ignored"]


def test_not_an_835_at_all():
    for data in (b"", b"hello world", b"\x00\xff\xfe garbage", b"%PDF-1.4 ..."):
        r = read_835(data, "junk.pdf")
        assert r.claims.empty and len(r.problems) == 1
        assert r.problems["severity"].iloc[0] == "high"
        assert "not an X12 835" in r.problems["message"].iloc[0]


def test_other_transaction_type_is_not_read_as_835():
    text = "ST*837*0001~BHT*0019*00*1*20240101*1200*CH~SE*3*0001~"
    r = read_835(text.encode(), "claim.837")
    assert r.claims.empty and len(r.problems) >= 1


def test_missing_file(tmp_path):
    r = read_835(tmp_path / "nope.835", "nope.835")
    assert r.problems["message"].tolist() == ["the file could not be opened"]
