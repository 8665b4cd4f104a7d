"""With ``--profile-regressions``: each regressed benchmark (at most three) profiled on both
sides (``perfkit-profile run TARGET --benchmark ID``: scalene, memray and py-spy), diffed
(``perfkit-profile diff --format json --out OUT/profile-diffs/ID/``, which also writes the
differential CPU flame graph there), and the diffs appended to comment.md by
``perfkit-report append-profile-diffs``: perfkit-report writes every Markdown line of the comment
and escapes it. The pages are files of the gate's out folder, so CI uploads them with the rest
(the ``regression-report`` artifact); on GitHub Actions the comment links the run's page, where
the artifact is. A benchmark that cannot be profiled or diffed is named in the comment, never
fatal: the verdict is already written."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from perfkit_bench._regression._tools import log, run_tool

__all__ = [
    "DIFFS",
    "MAX_PROFILED",
    "artifact_url",
    "comment_command",
    "diff_command",
    "profile_regressions",
    "regressed",
]

# Each profile costs ~3 s per profiler and side; the first three regressions say enough.
MAX_PROFILED = 3
_SECONDS = "3"
# OUT/profile-diffs/<benchmark>/: diff.json and diff-flamegraph.html.
DIFFS = "profile-diffs"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def regressed(verdict_json: Path) -> list[str]:
    """The regressed benchmarks of verdict.json, each once, in the report's order."""
    verdict = json.loads(verdict_json.read_text(encoding="utf-8"))
    found: list[str] = []
    for item in verdict.get("verdicts", []):
        if item.get("verdict") == "regressed" and item["benchmark"] not in found:
            found.append(str(item["benchmark"]))
    return found


def artifact_url(environ: Mapping[str, str]) -> str | None:
    """The page of this GitHub Actions run (its artifacts are listed there), or None elsewhere."""
    parts = [
        environ.get(key, "") for key in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    ]
    if not all(parts):
        return None
    server, repository, run = parts
    return f"{server.rstrip('/')}/{repository}/actions/runs/{run}"


def diff_command(python: Path, base: str, head: str, folder: Path) -> list[str]:
    """perfkit-profile's diff as JSON, its differential flame graph into ``folder``."""
    return [
        str(python), "-m", "perfkit_profile", "diff", "--format", "json",
        "--out", str(folder), base, head,
    ]  # fmt: skip


def comment_command(
    python: Path, out: Path, diffs: list[Path], missing: list[str], url: str | None
) -> list[str]:
    """perfkit-report's section of comment.md from the diffs (and the benchmarks without one)."""
    command = [
        str(python), "-m", "perfkit_report", "append-profile-diffs",
        "--comment", str(out / "comment.md"), "--artifact-root", str(out),
    ]  # fmt: skip
    command += ["--artifact-url", url] if url else []
    command += [arg for benchmark in missing for arg in ("--missing", benchmark)]
    return [*command, *(str(path) for path in diffs)]


def profile_regressions(out: Path, sides: dict[str, tuple[Path, Path]], repo: Path) -> None:
    """``sides`` maps ``base`` and ``head`` to (python, suites); the head's python diffs."""
    benchmarks = regressed(out / "verdict.json")[:MAX_PROFILED]
    head_python, head_suites = sides["head"]
    targets = _targets(head_python, head_suites)
    diffs: list[Path] = []
    missing: list[str] = []
    for benchmark in benchmarks:
        folders = {
            side: _profile(
                python, suites, targets.get(benchmark, ""), benchmark, out / "profiles" / side, repo
            )
            for side, (python, suites) in sides.items()
        }
        diff = _diff(head_python, benchmark, folders, out / DIFFS / _UNSAFE.sub("-", benchmark))
        if diff is None:
            missing.append(benchmark)
        else:
            diffs.append(diff)
    command = comment_command(head_python, out, diffs, missing, artifact_url(os.environ))
    if run_tool("perfkit-report append-profile-diffs", command) != 0:
        log("the profile diffs could not be appended to the comment; see above")
        return
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
    """The capture folder perfkit-profile printed last, or None (logged). A capture that lacks
    one profiler (py-spy without ptrace permission: exit 2 with the folder printed) is kept."""
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
    if done.returncode != 0:
        log(f"profiling {benchmark} ({out.name}): {done.stderr.strip()[-300:]}")
    lines = done.stdout.strip().splitlines()
    if lines and Path(lines[-1]).is_dir():
        return lines[-1]
    return None


def _diff(
    python: Path, benchmark: str, folders: dict[str, str | None], folder: Path
) -> Path | None:
    """``folder/diff.json`` (and the page beside it), or None when a side has no capture or the
    diff failed (logged)."""
    base, head = folders.get("base"), folders.get("head")
    if base is None or head is None:
        log(f"{benchmark}: no capture on one side; not diffed")
        return None
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        diff_command(python, base, head, folder), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        log(f"the profile diff of {benchmark} failed: {done.stderr.strip()[-300:]}")
        return None
    path = folder / "diff.json"
    path.write_text(done.stdout, encoding="utf-8")
    return path
