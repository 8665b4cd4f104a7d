"""With ``--profile-regressions``: each regressed benchmark (at most three) profiled on both
sides (``perfkit-profile run TARGET --benchmark ID``), and ``perfkit-profile diff --format md``
of the two appended to comment.md. A profile that cannot be made is said in the comment, never
fatal: the verdict is already written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from perfkit_bench._regression._tools import log

__all__ = ["MAX_PROFILED", "profile_regressions", "regressed"]

# Each profile costs ~3 s per profiler and side; the first three regressions say enough.
MAX_PROFILED = 3
_SECONDS = "3"


def regressed(verdict_json: Path) -> list[str]:
    """The regressed benchmarks of verdict.json, each once, in the report's order."""
    verdict = json.loads(verdict_json.read_text(encoding="utf-8"))
    found: list[str] = []
    for item in verdict.get("verdicts", []):
        if item.get("verdict") == "regressed" and item["benchmark"] not in found:
            found.append(str(item["benchmark"]))
    return found


def profile_regressions(out: Path, sides: dict[str, tuple[Path, Path]], repo: Path) -> None:
    """``sides`` maps ``base`` and ``head`` to (python, suites); the head's python diffs."""
    benchmarks = regressed(out / "verdict.json")[:MAX_PROFILED]
    head_python, head_suites = sides["head"]
    targets = _targets(head_python, head_suites)
    sections = ["", "## Profiles of the regressed benchmarks", ""]
    for benchmark in benchmarks:
        folders = {
            side: _profile(
                python, suites, targets.get(benchmark, ""), benchmark, out / "profiles" / side, repo
            )
            for side, (python, suites) in sides.items()
        }
        sections.append(_diff(head_python, benchmark, folders))
    with (out / "comment.md").open("a", encoding="utf-8") as comment:
        comment.write("\n".join(sections))
    log(f"profile diffs of {len(benchmarks)} benchmark(s) appended to the comment")


def _targets(python: Path, suites: Path) -> dict[str, str]:
    listing = subprocess.run(
        [str(python), "-m", "perfkit_bench", "list", "--json", str(suites)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {spec["id"]: spec["target"] for spec in json.loads(listing.stdout)}


def _profile(
    python: Path, suites: Path, target: str, benchmark: str, out: Path, repo: Path
) -> str | None:
    """The capture folder perfkit-profile printed last, or None (logged)."""
    done = subprocess.run(
        [
            str(python),
            "-m",
            "perfkit_profile",
            "run",
            target,
            "--benchmark",
            benchmark,
            "--suites",
            str(suites),
            "--duration",
            _SECONDS,
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if lines and Path(lines[-1]).is_dir():
        return lines[-1]
    log(f"profiling {benchmark} ({out.name}) failed: {done.stderr.strip()[-300:]}")
    return None


def _diff(python: Path, benchmark: str, folders: dict[str, str | None]) -> str:
    base, head = folders.get("base"), folders.get("head")
    if base is None or head is None:
        return f"Profiling `{benchmark}` failed on one side; see the job log.\n"
    diff = subprocess.run(
        [str(python), "-m", "perfkit_profile", "diff", "--format", "md", base, head],
        capture_output=True,
        text=True,
        check=False,
    )
    if diff.returncode != 0:
        return f"The profile diff of `{benchmark}` failed; see the job log.\n"
    return diff.stdout
