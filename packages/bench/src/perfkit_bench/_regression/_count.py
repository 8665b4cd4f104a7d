"""The instructions channel of a check: ``perfkit-bench instructions`` on the head (which
calibrates N), then on the base with the head's N (a different N shifts counts by up to 0.3 %).
Counts do not depend on the machine's load, so they come first and the timed pairs get what is
left of the budget."""

from __future__ import annotations

import shutil
from pathlib import Path

from perfkit_bench._regression._tools import log, run_tool

__all__ = ["count_instructions"]


def count_instructions(
    out: Path, sides: dict[str, tuple[Path, Path]], selection: list[str]
) -> list[str]:
    """``sides`` maps ``head`` and ``base`` to (python, suites). The check's options for the two
    files (``--base-instructions`` / ``--head-instructions``), or none: without valgrind, or
    when a side wrote no counts, the check has the time channel only."""
    if shutil.which("valgrind") is None:
        log("valgrind is not installed: time channel only (apt-get install valgrind)")
        return []
    files = {side: out / f"{side}-instructions.json" for side in ("head", "base")}
    for side in ("head", "base"):
        python, suites = sides[side]
        files[side].unlink(missing_ok=True)
        same_n = ["--iterations-from", str(files["head"])] if side == "base" else []
        command = [str(python), "-m", "perfkit_bench", "instructions", "--suites", str(suites)]
        run_tool(
            "perfkit-bench instructions",
            [*command, *selection, "--repeat", "1", *same_n, "-o", str(files[side])],
        )
        if not files[side].exists():
            log(f"no instruction counts for the {side} side: time channel only")
            return []
    return [
        "--base-instructions",
        str(files["base"]),
        "--head-instructions",
        str(files["head"]),
    ]
