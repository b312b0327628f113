"""What several checks share is computed once per run and never handed to another run."""

import gc
import weakref

import pandas as pd

from engine.checks._common import invoices_by_key, per_context, remitted
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
