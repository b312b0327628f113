"""docs/scheduling.md: every recipe runs `recon weekly` with arguments the CLI accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from engine.cli import _parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "scheduling.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def parse(argv: list[str]):
    assert argv[0] == "weekly"
    args = _parser().parse_args(argv)
    assert args.command == "weekly" and args.as_of is None  # a schedule uses the day of the run
    return args


def test_cron_line():
    (cron,) = blocks("cron")
    fields = cron.strip().split(None, 5)
    assert fields[:5] == ["30", "6", "*", "*", "1"]  # Mondays 06:30
    command = shlex.split(fields[5].split(">>")[0])
    assert command[0].endswith("/bin/recon")
    args = parse(command[1:])
    assert str(args.folder) == "/srv/billing/practices"
    assert str(args.ledger) == "/srv/billing/recon-history.sqlite"


def test_systemd_service_and_timer():
    service, timer = blocks("ini")
    exec_start = re.search(r"^ExecStart=(.*)$", service, re.M).group(1)
    assert "Type=oneshot" in service
    command = shlex.split(exec_start)
    assert command[0].endswith("/bin/recon")
    args = parse(command[1:])
    assert str(args.folder) == "/srv/billing/practices"
    assert re.search(r"^OnCalendar=Mon \*-\*-\* 06:30:00$", timer, re.M)
    assert "Persistent=true" in timer and "WantedBy=timers.target" in timer


def test_windows_task_scheduler():
    (bat,) = blocks("bat")
    outer = shlex.split(bat.strip())
    assert outer[:2] == ["schtasks", "/Create"]
    opts = dict(zip(outer[2::2], outer[3::2]))
    assert opts["/SC"] == "WEEKLY" and opts["/D"] == "MON" and opts["/ST"] == "06:30"
    command = shlex.split(opts["/TR"].replace("\\", "/"))  # Windows paths: compare with /
    assert command[0].endswith("Scripts/recon.exe")
    args = parse(command[1:])
    assert str(args.folder) == "D:/Billing/Practices"
    assert str(args.report_dir) == "D:/Billing/Reports"
