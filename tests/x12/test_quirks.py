"""The real-world quirks listed in x12-835.md, each on a small inline file."""

from __future__ import annotations

from pathlib import Path

from engine.x12 import read_835
from engine.x12.tokenize import tokenize

DATA = Path("/work/shared/data/835")


def test_bom_and_crlf_indentation(make_835, balanced_body):
    text = make_835(balanced_body).replace("~", "~\r\n    ")
    r = read_835(b"\xef\xbb\xbf" + text.encode(), "bom.835")
    assert len(r.claims) == 2 and r.problems.empty
    assert r.claims["segment"].tolist() == [10, 20]


def test_pipe_caret_and_break_before_terminator(make_835, balanced_body):
    text = make_835(balanced_body)
    text = text.replace("*", "|").replace(":", "^").replace("~", "\n~")
    text = text.replace("|^|00501", "|U|00401").replace("|^\n~GS", "|^\n~GS")
    r = read_835(text.encode(), "pipe.835")
    assert r.problems.empty
    assert r.lines["cpt"].tolist() == ["99213"]
    assert r.lines["modifier"].tolist() == ["25"]
    assert r.plb["reason"].tolist() == ["L6"]


def test_one_long_line_and_newline_terminators(make_835, balanced_body):
    one_line = read_835(make_835(balanced_body).encode(), "a.835")
    newline = read_835(make_835(balanced_body).replace("~", "\n").encode(), "b.835")
    assert len(one_line.claims) == len(newline.claims) == 2
    assert newline.problems.empty
    assert newline.claims["paid_cents"].tolist() == [12000, 0]


def test_no_envelope(make_835, balanced_body):
    r = read_835(make_835(balanced_body, envelope=False).encode(), "bare.835")
    assert len(r.transactions) == 1 and len(r.claims) == 2 and r.problems.empty
    assert r.claims["segment"].iloc[0] == 8  # ST is segment 1
    pipes = make_835(balanced_body, envelope=False).replace("*", "|").replace("~", "\n")
    r = read_835(pipes.encode(), "bare2.835")
    assert len(r.claims) == 2 and r.lines["cpt"].tolist() == ["99213"]


def test_several_transactions_and_interchanges(make_835, balanced_body):
    one = make_835(balanced_body)
    two = make_835(balanced_body.replace("00012345", "00067890"))
    r = read_835((one + "\n" + two.replace("*", "|").replace("|^|", "|^|")).encode(), "m.835")
    assert r.transactions["trace_key"].tolist() == ["12345", "67890"]
    assert r.claims["transaction_index"].tolist() == [0, 0, 1, 1]
    assert r.problems.empty
    multi_st = read_835(DATA / "tigershark_835-example-2_multiST.835", "st.835")
    assert multi_st.transactions["trace"].tolist() == ["1QG11111111", "1QG11111112"]
    assert multi_st.transactions["paid_cents"].tolist() == [1234567, 1200065]


def test_gt_composite_although_isa16_says_colon():
    r = read_835(DATA / "lfh_secondary-payment.835", "s.835")
    assert r.lines["cpt"].tolist() == ["12345", "66543"]
    assert r.lines["modifier"].tolist() == ["26", "26"]
    assert r.lines["revenue_code"].tolist()[1] == "220"


def test_4010_reversal_with_cr_group():
    r = read_835(DATA / "pyx12_835id_reversal_4010.835", "r.835")
    assert r.transactions["version"].iloc[0] == "4010"
    assert r.claims["status"].tolist() == ["22", "1", "22"]
    assert r.claims["paid_cents"].tolist() == [-21000, 20000, -50025]
    assert r.adjustments["group"].tolist() == ["CR", "CR"]
    assert r.adjustments["amount_cents"].tolist() == [-10000, 10000]
    assert r.plb["amount_cents"].tolist() == [-100810, 2421, 595]
    assert r.transactions["plb_total_cents"].iloc[0] == -97794


def test_plb_signs_wo_and_l6():
    pipe = read_835(DATA / "tigershark_835-example_pipe.835", "p.835")
    wo = pipe.plb.iloc[0]
    assert (wo["reason"], wo["reference"], wo["amount_cents"]) == (
        "WO", "12104411559120820 001GAL295513", -36119)
    medicare = read_835(DATA / "lfh_medicare-part-a.835", "m.835")
    assert medicare.plb["reason"].tolist() == ["CV"]
    assert medicare.plb["amount_cents"].tolist() == [-127]  # negative: raises the payment


def test_notification_only_does_not_move_money():
    r = read_835(DATA / "pyx12_835_mult_loops.835", "n.835")
    t = r.transactions.iloc[0]
    assert (t["handling"], t["method"], bool(t["moves_money"])) == ("H", "NON", False)
    assert t["trace_key"] == "0"
    assert r.claims["status"].tolist() == ["4"]
    assert r.lines["remark_codes"].tolist() == ["N14"] * 3
    assert r.lines["units"].tolist() == [68.0, 16.0, 36.0]


def test_line_fields(make_835, balanced_body):
    r = read_835(make_835(balanced_body).encode(), "f.835")
    line = r.lines.iloc[0]
    assert (line["qualifier"], line["cpt"], line["modifiers"], line["line_control"],
            line["allowed_cents"], line["remark_codes"]) == (
        "HC", "99213", "25", "LINE1", 15000, "N130")
    t = r.transactions.iloc[0]
    assert (t["payer_ref"], t["payee_npi"], t["payer_id"]) == ("ACME01", "1234567893",
                                                                "1999999999")
    c = r.claims.iloc[0]
    assert c["claim_key"] == "INV1" and c["payer"] == "ACME HEALTH"
    assert str(c["statement_from"].date()) == "2023-12-01"
    assert r.adjustments["quantity"].isna().all()


def test_debit_payment_is_negative(make_835, balanced_body):
    body = balanced_body.replace("BPR*I*130.00*C*", "BPR*I*130.00*D*")
    r = read_835(make_835(body).encode(), "d.835")
    assert r.transactions["paid_cents"].iloc[0] == -13000


def test_tokenizer_reports_separators():
    tokens = tokenize((DATA / "tigershark_835-example_pipe.835").read_bytes())
    d = tokens.delimiters[0]
    assert (d.element, d.component, d.repetition, d.terminator) == ("|", "^", None, "~")


def test_units_that_are_not_a_decimal_read_as_one_with_a_problem(make_835, balanced_body):
    for units in ("1_0", "abc", "inf"):
        body = balanced_body.replace("SVC*HC:99213:25*200.00*120.00**1~",
                                     f"SVC*HC:99213:25*200.00*120.00**{units}~")
        r = read_835(make_835(body).encode(), "u.835")
        assert r.lines["units"].tolist() == [1.0]
        assert "SVC05 (the units) is not a number; read as 1" in r.problems["message"].tolist()
