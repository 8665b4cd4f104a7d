"""The instructions channel is declared only where instruction counts mean something.

`perfkit-bench instructions` counts the benchmarks that declare it (CPU_CHANNELS in _common.py):
time benchmarks that run in one thread, in sync mode, and never wait. A count cannot see waiting,
and under threads or an event loop it does not repeat (docs/benchmarks.md, "The instructions
channel"), so a declaration elsewhere would hand the regression gate a meaningless number.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1]

# Suites whose workloads wait by design: SQLite on disk, offered load, perfkit-report's files.
WAITING_SUITES = {"database_queries", "concurrent_load", "toolkit"}
# Id words of workloads with worker threads, an event loop, or another library's threads.
WAITING_WORDS = ("threads", "asyncio", "pykka", "transfer")


def test_instructions_only_on_sync_cpu_bound_time_benchmarks() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "perfkit_bench", "list", "--json", str(BENCHMARKS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    specs = json.loads(listed)
    counted = [spec for spec in specs if "instructions" in spec["channels"]]
    assert counted, "no benchmark declares the instructions channel"
    for spec in counted:
        assert spec["kind"] == "time", spec["id"]
        assert spec["channels"] == ["time", "instructions"], spec["id"]
        assert spec["suite"] not in WAITING_SUITES, spec["id"]
        assert not any(word in spec["id"] for word in WAITING_WORDS), spec["id"]
        assert ".reference." not in spec["id"], spec["id"]
