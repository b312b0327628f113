"""The sample clinic end to end: every planted problem is found, and nothing else is.

This is the product's promise in one test: a finding for each real problem, with the keys staff
filter on, and no noise from the clean look-alikes (typo'd references, contractual write-offs,
sequestration, notification-only remittances, invoices not yet due).
"""

from __future__ import annotations

import pandas as pd
import pytest

from engine.pipeline import reconcile
from engine.read.workbook import read_workbook
from engine.sample import generate
from engine.x12 import read_remits

KEY_COLUMNS = ("invoice", "claim", "payment", "trace", "plan")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clinic")
    manifest = generate(folder, invoices=300, seed=11)
    inputs = read_workbook(manifest.workbook)
    result = reconcile(inputs, pd.Timestamp(manifest.as_of), read_remits([folder / "remits"], folder))
    return manifest, result.findings


def _matches(findings: pd.DataFrame, kind: str, key: dict) -> pd.DataFrame:
    f = findings[findings["type"] == kind]
    for k, v in key.items():
        if k in KEY_COLUMNS and kind != "INVALID_ROW":
            f = f[f[k].astype(str).str.upper() == str(v).upper()]
    if kind == "INVALID_ROW" and "row" in key:
        f = f[f["source"] == f"{key['sheet']} row {key['row']}"]
    return f


def test_every_planted_problem_is_found(demo):
    manifest, findings = demo
    missing = [(kind, key) for kind, key in manifest.planted
               if _matches(findings, kind, key).empty]
    assert missing == [], [m for m in missing]


def test_no_finding_beyond_the_planted_ones(demo):
    manifest, findings = demo
    planted = pd.Series([k for k, _ in manifest.planted]).value_counts()
    found = findings["type"].value_counts()
    extra = {t: int(n) for t, n in found.items() if n > planted.get(t, 0)}
    assert extra == {}
