"""REMIT_UNBALANCED (and unreadable 835 segments): the remittance's own arithmetic fails.

The balancing rules live with the 835 reader (engine.x12.balance); this check only hands them
the run's remittance tables.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from engine.context import Context
from engine.x12 import Remit, check_balance, problems_to_findings

TYPE = "REMIT_UNBALANCED"


def check(ctx: Context) -> pd.DataFrame:
    if not ctx.remits:
        return pd.DataFrame()
    names = [f.name for f in dataclasses.fields(Remit)]
    remit = Remit(**{n: ctx.remits[n] for n in names if n in ctx.remits})
    frames = [check_balance(remit), problems_to_findings(remit.problems)]
    frames = [f for f in frames if len(f)]
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
