"""An amount too large for 64-bit cents is a problem row, never a crash."""

from engine.x12.read import read_835


def test_amount_beyond_64_bit_cents_is_a_problem_not_a_crash():
    text = ("ISA*00*          *00*          *ZZ*P*ZZ*R*260101*1200*^*00501*1*0*P*:~"
            "GS*HP*P*R*20260101*1200*1*X*005010X221A1~ST*835*0001~BPR*I*1E20*C*ACH~"
            "TRN*1*T1*1~N1*PR*ACME~CLP*C1*1*100*99999999999999999999999*0~SE*7*0001~"
            "GE*1*1~IEA*1*1~")
    remit = read_835(text.encode(), "big.835")
    assert len(remit.problems) >= 2
    assert remit.claims.empty


def test_amount_beyond_decimal_precision_names_its_element():
    """`1E26` cents have more digits than Decimal's 28: the claim charge is named as unreadable
    (not a generic "segment could not be read" with its lines orphaned)."""
    text = ("ISA*00*          *00*          *ZZ*P*ZZ*R*260101*1200*^*00501*1*0*P*:~"
            "GS*HP*P*R*20260101*1200*1*X*005010X221A1~ST*835*0001~BPR*I*0*C*ACH~"
            "TRN*1*T1*1~N1*PR*ACME~CLP*C1*1*1E26*0*0~SVC*HC:99213*100*0~SE*8*0001~"
            "GE*1*1~IEA*1*1~")
    remit = read_835(text.encode(), "big.835")
    messages = remit.problems["message"].tolist()
    assert any(m.startswith("CLP03 (the claim charge) could not be read") for m in messages)
    assert not any("could not be read; it was skipped" in m for m in messages)
