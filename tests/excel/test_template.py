"""The classic add-in template (workbooks/Recon.xlsm) and the xlwings Lite script."""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "workbooks" / "Recon.xlsm"
sys.path.insert(0, str(ROOT / "workbooks"))
import build_template as bt  # noqa: E402

olevba = pytest.importorskip("oletools.olevba")


def vba_modules(path: Path) -> dict[str, str]:
    parser = olevba.VBA_Parser(str(path))
    try:
        return {name.rsplit(".", 1)[0]: code for _f, _s, name, code in parser.extract_macros()}
    finally:
        parser.close()


@pytest.fixture(scope="module")
def modules():
    return vba_modules(TEMPLATE)


def button_macros(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        vml = [zf.read(n).decode() for n in zf.namelist() if n.endswith(".vml")]
    return [m.split("!")[-1] for v in vml for m in re.findall(r"<x:FmlaMacro>([^<]*)<", v)]


def test_button_names_a_macro_that_runs_the_entry_point(modules):
    assert button_macros(TEMPLATE) == [bt.MACRO]
    subs = {name: (mod, body) for mod, code in modules.items()
            for name, body in re.findall(r"(?ms)^Sub (\w+)\(\)\s*$(.*?)^End Sub", code)}
    assert bt.MACRO in subs
    calls = re.findall(r'RunPython "([^"]*)"', subs[bt.MACRO][1])
    assert calls == [bt.ENTRY]
    # the command imports a module and calls a function that exist in the package
    m = re.fullmatch(r"import ([\w.]+);\s*\1\.(\w+)\(\)", calls[0])
    assert m, calls[0]
    module = importlib.import_module(m.group(1))
    assert callable(getattr(module, m.group(2)))


def test_vba_xlwings_version_matches_installed(modules):
    import xlwings

    code = modules["xlwings"]
    assert re.search(r'XLWINGS_VERSION As String = "([^"]+)"', code).group(1) == xlwings.__version__
    assert "Public Function RunPython(" in code
    assert f"xlwings64-{xlwings.__version__}.dll" in code


def test_vba_project_is_source_only_and_other_modules_untouched():
    import olefile

    built = zipfile.ZipFile(TEMPLATE).read("xl/vbaProject.bin")
    orig = zipfile.ZipFile(bt.quickstart_path()).read("xl/vbaProject.bin")
    a, b = olefile.OleFileIO(built), olefile.OleFileIO(orig)
    assert sorted(a.listdir()) == sorted(b.listdir())
    for path in b.listdir():
        name = "/".join(path)
        if name not in ("VBA/Module1", "VBA/dir"):
            assert a.openstream(name).read() == b.openstream(name).read(), name
    assert a.openstream("VBA/_VBA_PROJECT").read()[2:4] == b"\xff\xff"  # compile from source
    assert bt.ovba_decompress(a.openstream("VBA/Module1").read()).decode() == bt.MODULE_SOURCE


def test_rebuild_gives_the_same_bytes(tmp_path):
    out = bt.build(tmp_path / "Recon.xlsm")
    assert out.read_bytes() == TEMPLATE.read_bytes(), \
        "workbooks/Recon.xlsm is stale: run python workbooks/build_template.py"


def test_compression_round_trip():
    import random

    rng = random.Random(1)
    words = [b"Sub ", b"End Sub\r\n", b"RunPython ", b"Dim x As Long\r\n", b"' note\r\n"]
    data = b"".join(rng.choice(words) for _ in range(5000)) + bytes(range(256)) * 3
    for sample in (b"", b"a", b"abcabcabcabc", data, data[:4096], data[:4097]):
        assert bt.ovba_decompress(bt.ovba_compress(sample)) == sample


def test_cfb_tree_is_a_valid_red_black_tree():
    for n in range(1, 40):
        nodes = [bt._Node(f"s{i:02d}", 2, b"x") for i in range(n)]
        root = bt._Node("Root Entry", 5)
        root.children = nodes
        bt.write_cfb(root)
        by_sid = {x.sid: x for x in nodes}

        def black_height(sid, parent_red=False):
            if sid == bt.NOSTREAM:
                return 1
            node = by_sid[sid]
            red = node.color == 0
            assert not (red and parent_red)
            lh, rh = black_height(node.left, red), black_height(node.right, red)
            assert lh == rh
            return lh + (0 if red else 1)
        assert by_sid[root.child].color == 1
        black_height(root.child)


def test_template_input_sheets_read_and_reconcile():
    from engine.pipeline import reconcile
    from engine.read.workbook import read_workbook

    inputs = read_workbook(TEMPLATE)
    assert set(inputs.sheet_names) >= {"Invoices", "Payments", "Deposits", "FeeSchedule",
                                       "PaymentPlans"}
    assert len(inputs.tables["Invoices"]) == 3 and len(inputs.invalid) == 0
    assert inputs.settings.practice_name == "Your practice"
    reconcile(inputs, pd.Timestamp("2026-03-31"))
    with zipfile.ZipFile(TEMPLATE) as zf:
        sheets = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/s")]
    validations = "".join(sheets)
    assert validations.count('type="list"') >= 5  # Payer on 4 sheets, Method, Frequency
    assert '"Aetna,Blue Cross,' in validations and '"check,EFT,card,cash"' in validations


def test_template_survives_a_recon_run(tmp_path):
    """The lossless writer keeps every part of the template (button, VBA) byte for byte."""
    from engine.pipeline import reconcile
    from engine.read.workbook import read_workbook
    from engine.results import build_report, result_sheets
    from engine.write.xlsx import write_result_sheets

    src = tmp_path / "Billing 2026.xlsm"
    shutil.copy(TEMPLATE, src)
    result = reconcile(read_workbook(src), pd.Timestamp("2026-03-31"))
    sheets = result_sheets(build_report(result), result, pd.Timestamp("2026-04-01 09:00"))
    out = tmp_path / "out.xlsm"
    write_result_sheets(src, out, sheets)
    shared = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml",
              "docProps/app.xml", "xl/styles.xml"}
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out) as b:
        after = set(b.namelist())
        for name in a.namelist():
            assert name in after, name
            if name not in shared:
                assert a.read(name) == b.read(name), name
    assert button_macros(out) == [bt.MACRO]
    assert vba_modules(out) == vba_modules(src)


# --------------------------------------------------------------------------- xlwings Lite

def load_lite_main():
    spec = importlib.util.spec_from_file_location("recon_lite_main",
                                                  ROOT / "workbooks" / "lite" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lite_main_calls_the_same_entry_point(monkeypatch):
    import engine.excel

    calls = []
    monkeypatch.setattr(engine.excel, "run", lambda book, **kw: calls.append(book) or "done")
    main = load_lite_main()
    book = object()
    assert main.reconcile(book) == "done"
    assert calls == [book]


def test_lite_main_imports_without_xlwings_script(monkeypatch):
    import xlwings

    monkeypatch.delattr(xlwings, "script", raising=False)
    main = load_lite_main()
    assert callable(main.reconcile)


def test_lite_requirements_are_installable_in_pyodide():
    reqs = (ROOT / "workbooks" / "lite" / "requirements.txt").read_text().splitlines()
    wanted = [r.strip() for r in reqs if r.strip() and not r.startswith("#")]
    names = [re.split(r"[<>=!~;\[ ]", r)[0].lower() for r in wanted]
    assert "python-calamine" not in names
    assert {"pandas", "numpy", "jinja2"} <= set(names)
    # the versions the engine is tested with: Pyodide's own pandas may be older
    pinned = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for name in ("pandas", "numpy"):
        assert [r for r in wanted if r.startswith(name)] == [d for d in pinned if d.startswith(name)]
    # the engine itself comes as a wheel the office publishes; the file says how to add it
    text = "\n".join(reqs)
    assert "pip wheel --no-deps -w dist ." in text and "py3-none-any.whl" in text
