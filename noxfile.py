"""Isolated sessions for perfkit: tests, lint, typecheck (and, as their issues land, bench and regression).

Each package's tests run in an environment holding only that package and its own test extra, so an
undeclared import of another perfkit package fails there.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())
PYTHON = "3.11"
LINT_DEPS = ["ruff==0.17.5"]
TYPECHECK_DEPS = ["mypy==2.4.1", "hypothesis", "pytest"]
# Libraries the suites measure beside the runtime (reference implementations, optional codecs).
BENCH_DEPS = ["pykka==4.5.0", "orjson", "msgpack"]


@nox.session(python=PYTHON)
@nox.parametrize("package", [*PACKAGES, "benchmarks"])
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests (only that package installed), or smoke-run the benchmark suites."""
    if package == "benchmarks":
        session.install(
            "./packages/runtime[fast]",
            "./packages/bench",
            "./packages/report",  # the toolkit suite measures perfkit-report itself
            *BENCH_DEPS,
            "pytest",
            "pytest-timeout",
        )
        session.run("pytest", "benchmarks/tests", *session.posargs)
        return
    session.install("-e", f"packages/{package}[test]")
    session.run("pytest", f"packages/{package}/tests", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check every package's src/ with mypy in strict mode."""
    session.install(*TYPECHECK_DEPS, *(f"-e./packages/{p}[test]" for p in PACKAGES))
    session.run("mypy", *(f"packages/{p}/src" for p in PACKAGES), *session.posargs)


@nox.session(python=PYTHON, default=False)
def example(session: nox.Session) -> None:
    """Run every program in examples/ against the runtime built as a wheel."""
    session.install("./packages/runtime[fast]")
    for script in sorted((ROOT / "examples").glob("*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmark suites with pyperf against the runtime installed from a built wheel."""
    # Not editable: the measured code is what a user installs, byte-compiled in site-packages.
    # perfkit-report too: the toolkit suite measures it (render and ingest speed).
    session.install(
        "./packages/runtime[fast]", "./packages/bench", "./packages/report", *BENCH_DEPS
    )
    session.run("perfkit-bench", "run", "benchmarks", *session.posargs)


@nox.session(python=PYTHON, default=False)
def profile(session: nox.Session) -> None:
    """Profile a target's workload under scalene and memray (perfkit-profile ARGS; default: list)."""
    # perfkit-bench is installed beside perfkit-profile so `perfkit-profile` can ask
    # `python -m perfkit_bench list --json` for the registry; neither imports the other.
    # perfkit-report is the workload of the toolkit suite (target "report"), as in `bench`.
    session.install(
        "./packages/runtime[fast]",
        "./packages/bench",
        "./packages/report",
        "./packages/profile[all]",
        *BENCH_DEPS,
    )
    session.run("perfkit-profile", *(session.posargs or ["list"]))


@nox.session(python=PYTHON, default=False)
def history(session: nox.Session) -> None:
    """Run perfkit-report (ingest, summary, prune, baseline, render, ingest-profile) on the history."""
    session.install("./packages/report")
    session.run("perfkit-report", *session.posargs)


# -- the regression gate ---------------------------------------------------------------------------
#
# `nox -s regression` composes the packages' command lines (docs/regression.md):
#   1. resolve the base revision (--base REF, else the merge-base of HEAD with the main branch) and
#      check it out in a git worktree under .nox/regression/;
#   2. install the head (this checkout) into this session's environment and the base (the
#      worktree's runtime and benchmarks, this checkout's harness) into a second one;
#   3. `perfkit-bench ab`: their worker processes alternate pair by pair in a randomised order;
#      `perfkit-bench instructions` on each side when valgrind is installed;
#   4. `perfkit-report check` with --needs-more: inconclusive benchmarks get more pairs while the
#      time budget lasts, then the final check stores its verdicts in history.db and writes
#      verdict.json and comment.md;
#   5. with --profile-regressions, the regressed benchmarks are profiled on both sides and the
#      profile diff is appended to the comment.
# Exit codes are the gate's: 0 pass, 1 confirmed regression, 2 bad input or a base that does
# not build (no verdict claimed).

GATE_ROOT = ROOT / ".nox" / "regression"
GATE_MARKER = "<!-- perfkit-regression-gate -->"
# A quick check: tell and ask in the three delivery modes, time channel only (about 2 minutes).
QUICK = tuple(
    arg
    for scenario in ("tell", "ask")
    for mode in ("sync", "threads", "asyncio")
    for arg in ("--only", f"message_throughput.{scenario}.{mode}")
)
# The full check: the runtime's suites (the toolkit suite measures perfkit-report itself).
FULL = tuple(
    arg
    for suite in (
        "message_throughput",
        "agent_spawning",
        "memory_usage",
        "database_queries",
        "concurrent_load",
    )
    for arg in ("--suite", suite)
)


class GateError(Exception):
    """A one-line error of the gate's own (exit 2, no verdict)."""


def _gate_parser() -> argparse.ArgumentParser:

    parser = argparse.ArgumentParser(
        prog="nox -s regression --",
        description="Paired, interleaved A/B of the base revision and the head; "
        "exit 1 on a confirmed regression.",
    )
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--base", metavar="REF", help="base revision (default: merge-base with main)")
    side.add_argument(
        "--against-baseline",
        metavar="NAME",
        help="compare a fresh run of the head with a baseline stored in history.db",
    )
    side.add_argument("--aa", action="store_true", help="A/A: the head on both sides")
    parser.add_argument("--main-branch", default="main", help="the main branch (default: main)")
    parser.add_argument("--quick", action="store_true", help="core benchmarks only, fewer pairs")
    parser.add_argument(
        "--pairs",
        type=int,
        help="A/B pairs per benchmark (default 12, fewer if the budget runs out)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        help="seconds the whole check may take; inconclusive benchmarks get more pairs until "
        "then (default 600; quick 120)",
    )
    parser.add_argument("--suite", action="append", default=[], help="only this suite")
    parser.add_argument("--target", help="only this target")
    parser.add_argument("-k", dest="pattern", help="only benchmarks matching this text or glob")
    parser.add_argument("--fail-on", choices=("minor", "major", "critical"), default="minor")
    parser.add_argument("--fail-on-inconclusive", action="store_true")
    parser.add_argument("--out", default="reports/regression", help="report folder")
    parser.add_argument("--db", default="history.db", help="history store for the verdicts")
    parser.add_argument("--no-store", action="store_true", help="do not record the check")
    parser.add_argument("--no-instructions", action="store_true", help="time channel only")
    parser.add_argument("--allow-dirty", action="store_true", help="measure uncommitted changes")
    parser.add_argument(
        "--profile-regressions",
        action="store_true",
        help="profile regressed benchmarks on both sides; append the diff to the comment",
    )
    parser.add_argument(
        "--include-references",
        action="store_true",
        help="also run the reference benchmarks (other libraries' code; skipped by default)",
    )
    parser.add_argument("--affinity", help="pin worker processes to these CPUs, e.g. 0")
    parser.add_argument("--seed", type=int, help="seed of the A/B order (default: random)")
    parser.add_argument(
        "--inject-head",
        type=float,
        metavar="PERCENT",
        help="evaluation only: slow the head's workloads by this many percent (busy-wait)",
    )
    parser.add_argument(
        "--collect-only", action="store_true", help="evaluation only: run the pairs, no verdict"
    )
    return parser


def _git(*args: str, cwd: Path = ROOT) -> str:

    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GateError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout.strip()


def _resolve_base(options: argparse.Namespace) -> tuple[str, str]:
    """(sha, label) of the base revision."""

    if options.base:
        try:
            sha = _git("rev-parse", "--verify", "--quiet", f"{options.base}^{{commit}}")
        except GateError:
            raise GateError(
                f"--base {options.base!r} is not a commit here; pass a branch, tag or sha that "
                "exists (git fetch it first in a shallow clone)"
            ) from None
        return sha, options.base
    candidates = []
    if os.environ.get("GITHUB_BASE_REF"):  # a pull request on GitHub Actions
        candidates.append(f"origin/{os.environ['GITHUB_BASE_REF']}")
    candidates += [f"origin/{options.main_branch}", options.main_branch]
    for ref in candidates:
        try:
            _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GateError:
            continue
        sha = _git("merge-base", "HEAD", ref)
        if sha == _git("rev-parse", "HEAD"):
            # HEAD is on the main branch itself: gate its last commit.
            try:
                return _git("rev-parse", "HEAD^"), "HEAD^"
            except GateError:
                raise GateError(
                    "HEAD is the first commit of the main branch: there is no base to compare "
                    "with; pass --base REF or --against-baseline NAME"
                ) from None
        return sha, f"merge-base({ref})"
    raise GateError(
        f"no main branch to take the merge-base with (tried {', '.join(candidates)}); "
        "pass --base REF or --main-branch NAME"
    )


def _base_worktree(sha: str) -> Path:
    """A detached worktree of ``sha`` under .nox/regression/, reused when it is already there."""
    GATE_ROOT.mkdir(parents=True, exist_ok=True)
    path = GATE_ROOT / f"base-{sha[:12]}"
    _git("worktree", "prune")
    if path.exists():
        try:
            if _git("rev-parse", "HEAD", cwd=path) == sha:
                return path
        except GateError:
            pass
        _git("worktree", "remove", "--force", str(path))
    _git("worktree", "add", "--detach", "--force", str(path), sha)
    return path


def _base_environment(session: nox.Session, worktree: Path, extra: list[str]) -> Path:
    """The base side's interpreter: a second environment holding the base revision's runtime
    and this checkout's harness (the same perfkit-bench on both sides, so only the measured
    code differs)."""

    missing = [p for p in ("packages/runtime", "benchmarks") if not (worktree / p).is_dir()]
    if missing:
        raise GateError(
            f"the base revision has no {' or '.join(missing)}: it predates the benchmark suites; "
            "pass a newer --base"
        )
    env_dir = GATE_ROOT / "base-env"
    python = env_dir / "bin" / "python"
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if not python.exists():
        create = (
            [uv, "venv", "--quiet", "--python", PYTHON, str(env_dir)]
            if uv
            else [sys.executable, "-m", "venv", str(env_dir)]
        )
        subprocess.run(create, check=True)
    install = (
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--reinstall-package",
            "perfkit-runtime",
            "--python",
            str(python),
        ]
        if uv
        else [str(python), "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps"]
    )
    packages = [
        f"{worktree / 'packages' / 'runtime'}[fast]",
        "./packages/bench",
        *extra,
        *BENCH_DEPS,
    ]
    session.log(f"installing the base side into {env_dir}")
    if subprocess.run([*install, *packages], cwd=ROOT, check=False).returncode != 0:
        raise GateError(
            f"the base revision ({worktree.name}) failed to build or install (see above); fix "
            "it or pass another --base"
        )
    return python


def _run_code(session: nox.Session, *args: str | Path) -> int:
    """Run a command of the gate and return its exit code (0, 1 and 2 are answers, not errors)."""
    # session.run() reports success, not the code: run it here, with the session's bin/ first on
    # PATH as session.run would. Any other code is a crash of the tool: no verdict.
    command = [str(arg) for arg in args]
    session.log(shlex.join(command))
    bin_dir = str(Path(session.virtualenv.location) / "bin")
    env = {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    env.pop("PYTHONPATH", None)
    code = subprocess.run(command, env=env, check=False).returncode
    if code not in (0, 1, 2):
        raise GateError(f"{command[0]} {command[1]} crashed (exit {code}); see above")
    return code


@nox.session(python=PYTHON, default=False)
def regression(session: nox.Session) -> None:
    """The regression gate: paired, interleaved A/B of base and head (docs/regression.md)."""

    started = time.monotonic()
    options = _gate_parser().parse_args(session.posargs)
    quick = options.quick
    pairs = options.pairs or 12
    budget = options.budget or (120.0 if quick else 600.0)
    out = Path(options.out)
    try:
        if _git("status", "--porcelain", "--untracked-files=no") and not options.allow_dirty:
            raise GateError(
                "the working tree has uncommitted changes; commit or stash them, or pass "
                "--allow-dirty to measure the working tree as the head"
            )
        head_sha = _git("rev-parse", "HEAD")
        head_branch = _git("rev-parse", "--abbrev-ref", "HEAD")
        profile_extra = ["./packages/profile[all]"] if options.profile_regressions else []
        session.install(
            "./packages/runtime[fast]",
            "./packages/bench",
            "./packages/report",
            *profile_extra,
            *BENCH_DEPS,
        )
        head_python = Path(session.virtualenv.location) / "bin" / "python"
        out.mkdir(parents=True, exist_ok=True)
        selection: list[str] = []
        for suite in options.suite:
            selection += ["--suite", suite]
        if options.target:
            selection += ["--target", options.target]
        if options.pattern:
            selection += ["-k", options.pattern]
        if not selection:
            selection = list(QUICK if quick else FULL)
        head_label = f"{head_branch}@{head_sha[:8]}"
        check = [
            "perfkit-report",
            "check",
            "--targets",
            "benchmarks/targets.toml",
            "--db",
            options.db,
            "--out-dir",
            out,
            "--head-label",
            head_label,
            "--fail-on",
            options.fail_on,
        ]
        if options.fail_on_inconclusive:
            check.append("--fail-on-inconclusive")
        if options.against_baseline:
            if not Path(options.db).exists():
                raise GateError(
                    f"{options.db} does not exist; record runs with `inv bench` and set a "
                    "baseline with `inv baseline` first, or pass --db"
                )
            result = out / "head.json"
            result.unlink(missing_ok=True)
            code = _run_code(
                session, "perfkit-bench", "run", "benchmarks", *selection, "--output", result
            )
            if not result.exists():
                raise GateError("the head's benchmarks wrote no result file; see the errors above")
            check += ["--head", result, "--against-baseline", options.against_baseline]
            check += [
                "--reproduce",
                f"nox -s regression -- --against-baseline {options.against_baseline}",
            ]
            code = _run_code(session, *check, *(["--no-store"] if options.no_store else []))
            raise SystemExit(code)

        if options.aa:
            base_sha, base_label = head_sha, "HEAD (A/A)"
        else:
            base_sha, base_label = _resolve_base(options)
        session.log(f"base {base_label} = {base_sha[:12]}; head {head_label}")
        worktree = _base_worktree(base_sha) if not options.aa else ROOT
        base_python = (
            _base_environment(session, worktree, profile_extra) if not options.aa else head_python
        )
        # The instructions channel first: counts do not depend on machine load, and what is
        # left of the budget then goes to the timed pairs. The head side calibrates the
        # iteration count; the base side reuses it (a different N shifts counts by up to 0.3 %).
        counts: list[str | Path] = []
        if options.no_instructions or options.collect_only or quick:
            pass
        elif shutil.which("valgrind") is None:
            session.log("valgrind is not installed: time channel only (apt-get install valgrind)")
        else:
            files = {side: out / f"{side}-instructions.json" for side in ("head", "base")}
            for side, python, suites in (
                ("head", head_python, ROOT / "benchmarks"),
                ("base", base_python, worktree / "benchmarks"),
            ):
                files[side].unlink(missing_ok=True)
                same_n = ["--iterations-from", files["head"]] if side == "base" else []
                _run_code(
                    session,
                    python,
                    "-m",
                    "perfkit_bench",
                    "instructions",
                    "--suites",
                    suites,
                    *selection,
                    "--repeat",
                    "1",
                    *same_n,
                    "-o",
                    files[side],
                )
                if not files[side].exists():
                    session.log(f"no instruction counts for the {side} side: time channel only")
                    break
            else:
                counts = [
                    "--base-instructions",
                    files["base"],
                    "--head-instructions",
                    files["head"],
                ]

        ab_dir = out / "ab"
        ab = [
            "perfkit-bench",
            "ab",
            "--base-python",
            base_python,
            "--base-suites",
            worktree / "benchmarks",
            "--head-python",
            head_python,
            "--head-suites",
            ROOT / "benchmarks",
            "--out-dir",
            ab_dir,
            *selection,
        ]
        if not options.include_references:
            ab.append("--exclude-references")
        for flag, value in (
            ("--affinity", options.affinity),
            ("--seed", options.seed),
            ("--inject-head", options.inject_head),
        ):
            if value is not None:
                ab += [flag, str(value)]
        if ab_dir.exists():
            shutil.rmtree(ab_dir)
        remaining = budget - (time.monotonic() - started)
        if remaining < 60:
            session.log("the budget is spent before the timed pairs; giving them 60 s anyway")
            remaining = 60
        code = _run_code(session, *ab, "--pairs", str(pairs), "--budget", f"{remaining:.0f}")
        if code == 2 or not (ab_dir / "base.json").exists():
            raise GateError("the A/B run produced no result (see above); no verdict")
        if options.collect_only:
            session.log(f"pairs written to {ab_dir}")
            return

        channels = ["--base", ab_dir / "base.json", "--head", ab_dir / "head.json", *counts]
        check += [
            *channels,
            "--base-label",
            f"{base_label}@{base_sha[:8]}",
            "--reproduce",
            f"nox -s regression -- --base {base_sha[:12]}",
        ]
        # More pairs for inconclusive benchmarks while the budget lasts (never for A/A
        # evaluation runs, whose pair count is fixed by design).
        needs = out / "needs-more.json"
        while True:
            needs.unlink(missing_ok=True)
            code = _run_code(session, *check, "--no-store", "--needs-more", needs)
            wanted = json.loads(needs.read_text()) if needs.exists() else []
            if isinstance(wanted, dict):
                wanted = wanted.get("benchmarks", [])
            remaining = budget - (time.monotonic() - started)
            if code == 2 or not wanted or remaining < 30:
                break
            ids = sorted(
                {str(item["benchmark"]) for item in wanted if item.get("channel", "time") == "time"}
            )
            extra = max(int(item.get("suggested", pairs)) for item in wanted) - pairs
            if not ids or extra <= 0:
                break
            session.log(
                f"{len(ids)} inconclusive benchmark(s): up to {extra} more pairs each "
                f"within {remaining:.0f} s"
            )
            _run_code(
                session,
                *ab,
                "--append",
                *[x for i in ids for x in ("--only", i)],
                "--pairs",
                str(extra),
                "--budget",
                f"{remaining - 15:.0f}",
            )
            pairs += extra
        code = _run_code(session, *check, *(["--no-store"] if options.no_store else []))
        if code == 1 and options.profile_regressions:
            _profile_regressions(session, out, base_python, head_python, worktree)
        session.log(f"gate finished in {time.monotonic() - started:.0f} s; exit {code}")
        if code:
            raise SystemExit(code)
    except GateError as exc:
        print(f"nox -s regression: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _profile_regressions(
    session: nox.Session, out: Path, base_python: Path, head_python: Path, worktree: Path
) -> None:
    """Profile each regressed benchmark (at most three) on both sides; append the diffs to the
    PR comment. A profile that cannot be made is reported in the comment, never fatal."""

    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    regressed = []
    for item in verdict.get("verdicts", []):
        if item.get("verdict") == "regressed" and item["benchmark"] not in regressed:
            regressed.append(item["benchmark"])
    listing = subprocess.run(
        [str(head_python), "-m", "perfkit_bench", "list", "--json", str(ROOT / "benchmarks")],
        capture_output=True,
        text=True,
        check=True,
    )
    targets = {spec["id"]: spec["target"] for spec in json.loads(listing.stdout)}
    sections = ["", "## Profiles of the regressed benchmarks", ""]
    for benchmark in regressed[:3]:
        folders: dict[str, str] = {}
        for side, python, suites in (
            ("base", base_python, worktree / "benchmarks"),
            ("head", head_python, ROOT / "benchmarks"),
        ):
            done = subprocess.run(
                [
                    str(python),
                    "-m",
                    "perfkit_profile",
                    "run",
                    targets.get(benchmark, ""),
                    "--benchmark",
                    benchmark,
                    "--suites",
                    str(suites),
                    "--duration",
                    "3",
                    "--out",
                    str(out / "profiles" / side),
                    "--quiet",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            lines = done.stdout.strip().splitlines()
            if lines and Path(lines[-1]).is_dir():
                folders[side] = lines[-1]
            else:
                session.log(f"profiling {benchmark} ({side}) failed: {done.stderr.strip()[-300:]}")
        if len(folders) < 2:
            sections.append(f"Profiling `{benchmark}` failed on one side; see the job log.\n")
            continue
        diff = subprocess.run(
            [
                str(head_python),
                "-m",
                "perfkit_profile",
                "diff",
                "--format",
                "md",
                folders["base"],
                folders["head"],
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        sections += [
            diff.stdout
            if diff.returncode == 0
            else f"The profile diff of `{benchmark}` failed; see the job log.\n"
        ]
    with (out / "comment.md").open("a", encoding="utf-8") as comment:
        comment.write("\n".join(sections))
    session.log(f"profile diffs of {len(regressed[:3])} benchmark(s) appended to the comment")
