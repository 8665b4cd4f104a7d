"""Every program in examples/ runs, with small knobs, and exits 0 (each must be listed here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ARGS = {"pipeline.py": ["--orders", "300"]}


def test_every_example_has_a_smoke_run() -> None:
    found = {p.name for p in EXAMPLES.glob("*.py")}
    assert found, f"no examples found in {EXAMPLES}"
    assert found == set(ARGS), "add the new example to ARGS with small knobs"


@pytest.mark.parametrize("name", sorted(ARGS))
def test_example_runs(name: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *ARGS[name]],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "MISMATCH" not in proc.stdout
    assert proc.stdout.count(" ok ") == 3
