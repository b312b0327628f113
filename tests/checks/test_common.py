"""What several checks share is computed once per run and never handed to another run."""

import gc
import weakref

import pandas as pd

from engine.checks._common import (
    claim_fields,
    claim_has_invoice,
    claim_key,
    invoices_by_key,
    per_context,
    remitted,
    unreadable_note,
)
from engine.context import Context
from engine.settings import Settings


def _ctx(keys):
    totals = pd.DataFrame({"invoice_key": keys, "invoice": [k.lower() for k in keys]})
    empty = pd.DataFrame()
    return Context(as_of=pd.Timestamp("2026-03-31"), settings=Settings(), tables={},
                   invoice_totals=totals, payments=empty, applications=empty,
                   match_candidates=empty)


def test_computed_once_per_context_and_again_for_the_next_run():
    calls = []

    @per_context
    def derived(ctx):
        calls.append(ctx)
        return len(ctx.invoice_totals)

    one, two = _ctx(["A", "B"]), _ctx(["C"])
    assert derived(one) == 2 and derived(one) == 2 and calls == [one]
    assert derived(two) == 1 and calls == [one, two]
    assert derived(one) == 2 and len(calls) == 3  # only the last run is kept


def test_a_finished_run_is_not_kept_alive():
    @per_context
    def derived(ctx):
        return ctx.invoice_totals.copy()

    ctx = _ctx(["A"])
    result = weakref.ref(derived(ctx))
    assert result() is not None and derived(ctx) is result()
    del ctx
    gc.collect()
    assert result() is None


def test_invoices_by_key_looks_up_the_runs_own_invoices():
    assert invoices_by_key(_ctx(["A", "B"])).loc["B", "invoice"] == "b"
    assert invoices_by_key(_ctx(["B"])).loc["B", "invoice"] == "b"
    assert list(invoices_by_key(_ctx(["X"])).index) == ["X"]


def test_remitted_marks_the_invoices_with_a_remitted_claim():
    ctx = _ctx(["A", "B", "C"])
    assert not remitted(ctx).any()
    claims = pd.DataFrame({"invoice_key": pd.Series(["C", None], dtype="str")})
    with_remits = Context(as_of=ctx.as_of, settings=ctx.settings, tables={},
                          invoice_totals=ctx.invoice_totals, payments=ctx.payments,
                          applications=ctx.applications, match_candidates=ctx.match_candidates,
                          remits={"claims": claims})
    assert list(remitted(with_remits)) == [False, False, True]


def test_claim_has_invoice_is_a_named_invoice_found_or_not():
    # a key among the invoices, one that is not (a hand-made table), and none
    claims = pd.DataFrame({"invoice_key": pd.Series(["B", "Z", None, "A"], dtype="str")})
    ctx = _with(_ctx(["A", "B"]), remits={"claims": claims})
    assert list(claim_has_invoice(ctx)) == [True, True, False, True]


def _with(ctx, **fields):
    return Context(**{**{f: getattr(ctx, f) for f in ("as_of", "settings", "tables",
                                                      "invoice_totals", "payments", "applications",
                                                      "match_candidates")}, **fields})


def test_unreadable_note_names_every_source_once_in_the_order_found():
    invoices = pd.DataFrame({"invoice_key": ["A", "B", "C"], "claim_key": ["CA", None, "CC"]},
                            index=[5, 6, 7])
    payments = pd.DataFrame({"invoice_key": ["A", None, "A", "Z"],
                             "claim_key": [None, "CA", None, None],
                             "reference_key": [None, None, "CC", None],
                             "source": ["Payments row 9", "Payments row 3", "Payments row 9",
                                        "Payments row 4"]})
    lines = pd.DataFrame({"invoice_key": ["B", None], "source": ["Invoices row 2", "Invoices row 8"]})
    ctx = _with(_ctx(["A", "B", "C"]), left_out={"Payments": payments, "Invoices": lines})
    note = unreadable_note(ctx, invoices)
    assert list(note.index) == [5, 6, 7] and note.dtype == object
    assert note[5] == (" Payments row 9 and Payments row 3 name this invoice but could not be read,"
                       " so their money is not counted until they are corrected.")
    assert note[6] == (" Invoices row 2 of this invoice could not be read, so its amount is not"
                       " counted until it is corrected.")
    assert note[7].startswith(" Payments row 9 names this invoice")
    assert list(unreadable_note(_ctx(["A"]), invoices)) == ["", "", ""]


def test_claim_fields_fall_back_to_the_invoice_and_mark_unknown_invoices_missing():
    totals = pd.DataFrame({"invoice_key": ["A", "B"], "invoice": ["a", "b"],
                           "patient": [None, "Bo"], "patient_id": ["P1", "P2"],
                           "payer": ["Aetna", "Cigna"],
                           "service_date": pd.to_datetime(["2026-01-02", "2026-01-03"])})
    ctx = _with(_ctx(["A", "B"]), invoice_totals=totals)
    claims = pd.DataFrame({"invoice_key": ["B", "X", "A"], "claim": ["c1", "c2", "c3"],
                           "trace": ["t", "t", "t"], "payer": [None, "Humana", None],
                           "patient": ["Cl", "Cx", None],
                           "service_date": pd.to_datetime([None, "2026-02-01", None]),
                           "source": ["s", "s", "s"], "file": ["f", "f", "f"],
                           "segment": [1, 2, 3]}, index=[10, 11, 12])
    fields = claim_fields(claims, ctx)
    assert all(list(v.index) == [10, 11, 12] for v in fields.values())
    assert fields["invoice"].tolist()[::2] == ["b", "a"] and pd.isna(fields["invoice"][11])
    assert fields["payer"].tolist() == ["Cigna", "Humana", "Aetna"]
    assert fields["patient"].tolist() == ["Bo", "Cx", "P1"]
    assert fields["service_date"].tolist() == list(pd.to_datetime(["2026-01-03", "2026-02-01",
                                                                    "2026-01-02"]))
    assert claims["payer"].isna().sum() == 2  # the claims table itself is left alone


def test_claim_key_joins_trace_claim_and_status_with_a_suffix():
    claims = pd.DataFrame({"trace_key": ["T1", None], "claim_key": ["C1", "C2"],
                           "status": ["1", "22"]}, index=[3, 4])
    assert claim_key(claims).tolist() == ["T1|C1|1", "|C2|22"]
    assert claim_key(claims, "|pr").tolist() == ["T1|C1|1|pr", "|C2|22|pr"]
    lines = pd.Series(["|a", "|b"], index=[3, 4])
    assert claim_key(claims, lines).tolist() == ["T1|C1|1|a", "|C2|22|b"]
    numbers = claims.assign(status=pd.Series([1, 22], index=[3, 4]))  # not text: as astype(str)
    assert claim_key(numbers).tolist() == ["T1|C1|1", "|C2|22"]
