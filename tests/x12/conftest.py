"""Shared builders for small inline 835 files."""

from __future__ import annotations

import pytest

ISA = ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*^*"
       "00501*000000001*0*P*:~")


def build_835(body: str, *, envelope: bool = True, version: str = "005010X221A1") -> str:
    """Wrap `body` (segments separated by ~, starting after ST) in ST/SE and optionally ISA/GS."""
    segs = [s.strip() for s in body.strip().split("~") if s.strip()]
    st = ["ST*835*0001"] + segs + [f"SE*{len(segs) + 2}*0001"]
    text = "~".join(st) + "~"
    if envelope:
        text = (ISA + f"GS*HP*SENDER*RECEIVER*20240101*1200*1*X*{version}~" + text
                + "GE*1*1~IEA*1*000000001~")
    return text


BALANCED = """
BPR*I*130.00*C*ACH************20240105~
TRN*1*00012345*1999999999~
N1*PR*ACME HEALTH~
REF*2U*ACME01~
N1*PE*GOOD CLINIC*XX*1234567893~
LX*1~
CLP*INV-001*1*200.00*120.00*30.00*12*PCN777~
NM1*QC*1*DOE*JANE****MI*M123~
DTM*232*20231201~
SVC*HC:99213:25*200.00*120.00**1~
DTM*472*20231201~
CAS*CO*45*50.00~
CAS*PR*1*20.00**2*10.00~
REF*6R*LINE1~
AMT*B6*150.00~
LQ*HE*N130~
CLP*INV-002*4*80.00*0*0*12*PCN778~
NM1*QC*1*ROE*RICHARD~
CAS*CO*29*80.00~
PLB*1234567893*20241231*L6:INT1*-10.00~
"""


@pytest.fixture
def make_835():
    return build_835


@pytest.fixture
def balanced_body():
    return BALANCED
