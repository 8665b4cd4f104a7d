"""The README's ten-line example runs unchanged in ray mode (a fresh local Ray, ~10 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"

pytestmark = pytest.mark.timeout(300)


def test_the_readme_example_runs_unchanged_in_ray_mode(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("## The runtime in ten lines", 1)[1].split("```python", 1)[1]
    block = block.split("```", 1)[0]
    assert 'Runtime(mode="threads")' in block, "the README example changed: update this test"
    script = tmp_path / "example.py"
    script.write_text(block.replace('Runtime(mode="threads")', 'Runtime(mode="ray")', 1))
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
