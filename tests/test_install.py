"""perfkit-report installs beside a user's own libraries: no pin on numpy, scipy or YAML, no
cloud clients (its change-point engine is ruptures; Otava, which pins them, is an extra)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args], capture_output=True, text=True, timeout=600, check=False,
        cwd=cwd,
    )  # fmt: skip


def test_perfkit_report_installs_next_to_numpy_2_3(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    assert uv, "uv comes with the drivers (nox[uv] in requirements.txt)"
    venv = tmp_path / "user"
    assert _run(uv, "venv", "-q", "--python", "3.11", venv).returncode == 0
    python = venv / "bin" / "python"
    installed = _run(
        uv, "pip", "install", "-q", "--python", python, ROOT / "packages/report", "numpy==2.3.*"
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    names = _run(uv, "pip", "list", "--python", python).stdout.lower()
    for pulled_by_otava in (
        "google-cloud-bigquery",
        "grpcio",
        "pg8000",
        "slack-sdk",
        "apache-otava",
    ):
        assert pulled_by_otava not in names
    probe = _run(python, "-c", "import numpy, perfkit_report, ruptures; print(numpy.__version__)")
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert probe.stdout.startswith("2.3.")
    # The Otava engine names its extra rather than failing obscurely: one line, exit 2.
    db = tmp_path / "history.db"
    data = ROOT / "packages/report/tests/data/pyperf/telco.json"
    assert _run(venv / "bin/perfkit-report", "ingest", "--db", db, data).returncode == 0
    otava = _run(
        venv / "bin/perfkit-report", "render", "--db", db, "--out", tmp_path / "out",
        "--change-points", "otava",
    )  # fmt: skip
    assert otava.returncode == 2
    assert "pip install 'perfkit-report[otava]'" in otava.stderr
    assert len(otava.stderr.strip().splitlines()) == 1
