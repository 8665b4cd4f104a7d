"""The README's ten-line example runs unchanged (only the mode string differs) in every mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_example(mode: str) -> str:
    """The README's example program with its mode set to ``mode`` (nothing else changed)."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## The runtime in ten lines", 1)[1].split("```python", 1)[1]
    block = block.split("```", 1)[0]
    assert 'Runtime(mode="threads")' in block, "the README example changed: update this test"
    return block.replace('Runtime(mode="threads")', f'Runtime(mode="{mode}")', 1)


def run_example(mode: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "example.py"  # run as __main__, unguarded, exactly as a user would
    script.write_text(readme_example(mode), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )


def shm_segments() -> set[str]:
    """Python's shared-memory segments (psm_*) in /dev/shm; other files there come and go."""
    return {name for name in os.listdir("/dev/shm") if name.startswith("psm_")}


@pytest.mark.parametrize("mode", ["sync", "threads", "processes"])
def test_the_readme_example_runs_unchanged(mode: str, tmp_path: Path) -> None:
    before = shm_segments()
    proc = run_example(mode, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert shm_segments() <= before  # processes mode: nothing left in /dev/shm


def test_the_example_is_not_guarded_by_a_main_check() -> None:
    # The point of the test above: workers are forked, so an unguarded script is not re-run.
    assert "__main__" not in readme_example("processes")
