"""Asking each side's interpreter about itself: its benchmarks (``python -m perfkit_bench list
--json DIR``) and its environment (``python -m perfkit_bench._worker fingerprint``). This process
never imports a side's suites."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

from perfkit_bench._ab._model import Side
from perfkit_bench._exceptions import SideError, UsageError
from perfkit_bench._fingerprint import Fingerprint, collect
from perfkit_bench._plumbing import last_line, run_process
from perfkit_bench._spec import BenchmarkSpec
from perfkit_bench._worker import PROGRAM_ARGS

__all__ = ["check_side", "fingerprint_side", "list_side"]

# Listing a side imports its suites (and whatever they import); a minute is ample.
_LIST_TIMEOUT = 120.0


def check_side(side: Side) -> None:
    """:class:`UsageError` unless the side's python is an executable and its suites a folder."""
    if not side.python.is_file() or not os.access(side.python, os.X_OK):
        raise UsageError(
            f"--{side.name}-python {side.python} is not an executable file; pass the python of "
            f"the {side.name} environment (for example .venv/bin/python)"
        )
    if not side.suites.is_dir():
        raise UsageError(
            f"--{side.name}-suites {side.suites} is not a folder; pass the {side.name} "
            "revision's benchmarks/ folder"
        )


def list_side(
    side: Side, workdir: Path, environ: dict[str, str], timeout: float
) -> list[BenchmarkSpec]:
    """The benchmarks the side's interpreter finds in its suites; :class:`SideError` (with the
    command that shows why) when it cannot list them."""
    cmd = [str(side.python), "-m", "perfkit_bench", "list", "--json", str(side.suites)]
    log = workdir / f"list-{side.name}"
    try:
        code = run_process(cmd, environ, log, time.monotonic() + min(_LIST_TIMEOUT, timeout))
    except OSError as exc:
        raise SideError(
            f"--{side.name}-python {side.python} cannot be started ({exc}); pass the "
            f"interpreter of the {side.name} environment"
        ) from None
    fix = (
        f"check that {side.python} has perfkit-bench and the {side.name} revision's packages "
        f"installed and that its suites import: {side.python} -m perfkit_bench list "
        f"{side.suites}"
    )
    if code is None:
        raise SideError(f"the {side.name} side did not list its benchmarks in time; {fix}")
    if code != 0:
        why = last_line(Path(f"{log}.err")) or f"exit code {code}"
        raise SideError(f"the {side.name} side cannot list its benchmarks ({why}); {fix}")
    try:
        items = json.loads(Path(f"{log}.out").read_text(encoding="utf-8"))
        return [BenchmarkSpec.from_json(item) for item in items]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SideError(
            f"the {side.name} side listed its benchmarks in a form this perfkit-bench cannot "
            f"read ({exc}); install the same perfkit-bench version on both sides"
        ) from None


def fingerprint_side(side: Side, workdir: Path, environ: dict[str, str]) -> Fingerprint:
    """The side's environment, collected in its own interpreter (its library versions); if
    that fails, this process's view of the side's checkout, without library versions."""
    cmd = [str(side.python), *PROGRAM_ARGS, "fingerprint", "--repo", str(side.suites)]
    log = workdir / f"fingerprint-{side.name}"
    code = run_process(cmd, environ, log, time.monotonic() + _LIST_TIMEOUT)
    if code == 0:
        try:
            data = json.loads(Path(f"{log}.out").read_text(encoding="utf-8"))
            known = {f.name for f in dataclasses.fields(Fingerprint)}
            return Fingerprint(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError):
            pass
    return dataclasses.replace(collect(side.suites), libraries={})
