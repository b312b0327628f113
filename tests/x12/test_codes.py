from __future__ import annotations

from engine.x12 import codes


def test_reason_text_format():
    assert codes.reason_text("CO", "29") == "CO-29: timely filing limit expired"
    assert codes.reason_text("pr", " 1 ") == "PR-1: deductible"
    assert codes.reason_text("OA", "ZZ9").startswith("OA-ZZ9: ")


def test_required_codes_present():
    required = ("1 2 3 4 5 16 18 22 23 24 26 27 29 45 50 59 94 96 97 109 119 151 167 170 181 182 "
                "185 197 198 204 226 234 236 242 252 253 A1 A2 A7 42 B7 B9").split()
    for code in required:
        assert code in codes.CARC, code
    for code in ("N130", "M15", "N290", "MA130", "N362", "M80"):
        assert code in codes.RARC
    assert set(codes.GROUPS) == {"CO", "PR", "OA", "PI", "CR"}
    assert set(codes.CLAIM_STATUS) == {"1", "2", "3", "4", "19", "20", "21", "22", "23", "25"}
    assert "retired" in codes.carc_text("A2") and codes.is_retired("A7")


def test_denial_categories_as_documented():
    expect = {"26": "eligibility", "27": "eligibility", "204": "eligibility",
              "197": "authorization", "29": "timely filing", "50": "medical necessity",
              "97": "bundling", "234": "bundling", "59": "bundling",
              "22": "coordination of benefits", "23": "coordination of benefits",
              "16": "missing information", "226": "missing information",
              "252": "missing information", "18": "duplicate claim", "96": "non-covered",
              "45": "other", "XYZ": "other", None: "other"}
    for code, category in expect.items():
        assert codes.denial_category(code) == category, code
    assert set(codes.CATEGORIES) >= set(expect.values())
    assert all(v in codes.CATEGORIES for v in codes._CATEGORY_OF.values())
