"""``perfkit-report check``: the regression gate's verdict on one check.

The gate's composition root (``nox -s regression``) runs ``perfkit-bench ab`` and, when valgrind
is there, ``perfkit-bench instructions`` on each side, then calls this command once per round.
One check is:

1. **Samples.** The time files (``--base`` / ``--head``): when they are the ``base.json`` and
   ``head.json`` of one A/B session, each benchmark's per-process medians are *pairs* (process
   ``i`` of base ran back to back with process ``i`` of head; ``_abpairs.load_pairs`` decides);
   any other two pyperf files are compared unpaired. The instruction files
   (``--base-instructions`` / ``--head-instructions``) add the ``instructions`` channel
   (unpaired: the counts are near-deterministic, there is no drift to cancel). With
   ``--against-baseline NAME`` the base is the stored baseline run's per-process medians from
   history.db (unpaired; a stored run cannot be paired with a fresh one).
2. **One detector call** over every benchmark of every channel, so Benjamini-Hochberg controls
   the false discoveries of the whole check (``_detector``). Thresholds come from the targets
   file: ``threshold`` per benchmark for time and memory (byte metrics carry tighter thresholds
   there), ``instructions_threshold`` (default 1 %) for the instructions channel, whose direction
   is always "lower is better" (instructions per operation) and whose severity uses the same
   bands as the benchmark's time.
3. **Outputs.** ``DIR/verdict.json`` (``CHECK_FORMAT_VERSION``, documented in
   docs/regression.md), ``DIR/comment.md`` (the PR comment, ``_comment``), and with
   ``--needs-more FILE`` the inconclusive benchmarks more pairs could resolve. Files are written
   before the check is stored, so a history that cannot be written still leaves the verdict.
4. **History.** Unless ``--no-store``: both time files are ingested as runs (a no-op when they
   are already there; with ``--against-baseline`` only the head), plus one ``checks`` row and one
   ``verdicts`` row per benchmark and channel, all in one transaction (``History.store_check``).
   Instruction files are not stored as runs (see ``_history._store``).

Exit status (returned to ``_cli.main``): 1 on a confirmed regression at or above ``--fail-on``
(an inconclusive benchmark too with ``--fail-on-inconclusive``), else 0. Bad input raises an
``InputError`` (exit 2) before anything is written.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from perfkit_report._escape import escape_terminal
from perfkit_report._exceptions import InputError
from perfkit_report._gate._abpairs import AB_SIDE_KEY, PAIRS_KEY, PairedSamples, load_pairs
from perfkit_report._gate._comment import headline, render_comment
from perfkit_report._gate._compare import alpha_level
from perfkit_report._gate._detector import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    BenchmarkSamples,
    BenchmarkVerdict,
    Direction,
    MoreSamples,
    SeverityName,
    detect,
    failing_verdicts,
    needs_more,
)
from perfkit_report._history import (
    Baseline,
    CheckRow,
    History,
    ParsedRun,
    RunRecord,
    read_result_file,
)
from perfkit_report._targets import (
    DEFAULT_DIRECTION,
    DEFAULT_INSTRUCTIONS_THRESHOLD,
    DEFAULT_THRESHOLD,
    SeverityBands,
    Targets,
    load_targets,
)

__all__ = [
    "CHECK_FORMAT_VERSION",
    "COMMENT_MARKER",
    "INSTRUCTIONS",
    "NEEDS_MORE_FORMAT_VERSION",
    "CheckSide",
    "GateCheck",
    "add_check_command",
    "run_check",
]

# verdict.json. History:
# - 1 (2026-11): version, tool, kind, outcome, exit_code, headline, base / head (label, commit,
#   branch, baseline, files, environment), settings, pairs, counts, severities, failures,
#   verdicts[] (compare's fields plus unit and fails), needs_more[], comment, history.
CHECK_FORMAT_VERSION = 1
# The --needs-more file. History:
# - 1 (2026-11): version, tool, benchmarks[] (benchmark, channel, paired, n_base, n_head,
#   suggested, could_regress).
NEEDS_MORE_FORMAT_VERSION = 1
# The first line of comment.md: the CI workflow finds the gate's own comment by it and updates
# that comment instead of adding one per push.
COMMENT_MARKER = "<!-- perfkit-regression-gate -->"
# The channel name of the instruction files' benchmarks.
INSTRUCTIONS = "instructions"

Kind = Literal["ab", "baseline", "files"]
_ORDER = ("regressed", "improved", "inconclusive", "same", "added", "removed")
_SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2}
# Metadata keys the instruction files may carry to name their channel.
_CHANNEL_KEYS = ("perfkit_channel", "perfkit_metric")


@dataclass(frozen=True, slots=True)
class CheckSide:
    """One side of a check, as the comment, verdict.json and the history see it."""

    label: str
    commit: str | None
    branch: str | None
    files: Mapping[str, str]
    """``time`` / ``instructions`` -> the file read (absolute path)."""
    environment: Mapping[str, str]
    """What ran it (machine, CPU, Python, mode, ...), from the files' metadata."""
    failed: tuple[str, ...] = ()
    """Benchmarks the run recorded as failed (perfkit_failed)."""
    baseline: Baseline | None = None
    """The stored baseline this side is (``--against-baseline``)."""


@dataclass(frozen=True, slots=True)
class GateCheck:
    """The verdicts of one check and everything that produced them."""

    kind: Kind
    base: CheckSide
    head: CheckSide
    verdicts: tuple[BenchmarkVerdict, ...]
    units: Mapping[tuple[str, str], str]
    """(channel, benchmark) -> pyperf unit."""
    alpha: float
    n_resamples: int
    seed: int
    fail_on: SeverityName
    fail_on_inconclusive: bool
    targets: str | None
    reproduce: str
    ab_pairs: int | None = None
    """The most pairs any benchmark of the A/B session has (``perfkit_ab_pairs``)."""
    ab_seed: str | None = None
    """The A/B session's order seed."""
    injected_percent: float = 0.0
    """The slowdown injected into the head (evaluation runs only)."""

    @property
    def failures(self) -> tuple[BenchmarkVerdict, ...]:
        """The verdicts that fail the gate."""
        return failing_verdicts(
            self.verdicts, fail_on=self.fail_on, fail_on_inconclusive=self.fail_on_inconclusive
        )

    @property
    def exit_code(self) -> int:
        """1 when the check fails the gate, else 0."""
        return 1 if self.failures else 0

    @property
    def more(self) -> tuple[MoreSamples, ...]:
        """The inconclusive benchmarks more samples could resolve (``needs_more``)."""
        return needs_more(self.verdicts)

    @property
    def ordered(self) -> tuple[BenchmarkVerdict, ...]:
        """Regressions first (worst first), then improved, inconclusive, same, added, removed."""

        def key(verdict: BenchmarkVerdict) -> tuple[int, int, float, str, str]:
            severity = _SEVERITY_ORDER.get(verdict.severity or "", 3)
            size = -abs(verdict.change_percent or 0.0)
            return (
                _ORDER.index(verdict.verdict),
                severity,
                size,
                verdict.benchmark,
                verdict.channel,
            )

        return tuple(sorted(self.verdicts, key=key))

    def count(self, name: str) -> int:
        """How many (benchmark, channel) verdicts are ``name``."""
        return sum(1 for verdict in self.verdicts if verdict.verdict == name)

    def severity_count(self, severity: str) -> int:
        """How many regressions have this severity."""
        return sum(1 for v in self.verdicts if v.verdict == "regressed" and v.severity == severity)

    def unit(self, verdict: BenchmarkVerdict) -> str | None:
        """The pyperf unit of a verdict's benchmark."""
        return self.units.get((verdict.channel, verdict.benchmark))

    @property
    def tested(self) -> int:
        """Verdicts with a p-value: the size of the Benjamini-Hochberg family."""
        return sum(1 for verdict in self.verdicts if verdict.p is not None)


# -- collecting the samples ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What a check read, ready for the detector and the history."""

    kind: Kind
    samples: tuple[BenchmarkSamples, ...]
    units: Mapping[tuple[str, str], str]
    runs: Mapping[str, ParsedRun]
    """Role (base, head) -> run read from a file."""
    baseline: Baseline | None
    baseline_run: RunRecord | None
    ab_pairs: int | None
    ab_seed: str | None
    injected_percent: float


def _rules(
    targets: Targets | None, name: str, channel: str
) -> tuple[Direction, float, SeverityBands | None]:
    """(direction, threshold, severity bands) of one benchmark on one channel."""
    if channel == INSTRUCTIONS:
        # Instructions per operation: fewer is better whatever the benchmark reports (a
        # throughput's instruction count still should not grow). The bands are the benchmark's
        # own (severity says how much slower, the tighter threshold only how sure).
        if targets is None:
            return "lower", DEFAULT_INSTRUCTIONS_THRESHOLD, None
        return "lower", targets.instructions_threshold_for(name), targets.severity_for(name)
    if targets is None:
        return DEFAULT_DIRECTION, DEFAULT_THRESHOLD, None
    return targets.direction_for(name), targets.threshold_for(name), targets.severity_for(name)


def _samples(
    pairs: Mapping[str, PairedSamples], targets: Targets | None, channel: str | None = None
) -> tuple[list[BenchmarkSamples], dict[tuple[str, str], str]]:
    samples: list[BenchmarkSamples] = []
    units: dict[tuple[str, str], str] = {}
    for name, pair in pairs.items():
        own_channel = channel or pair.channel
        direction, threshold, severity = _rules(targets, name, own_channel)
        units[(own_channel, name)] = pair.unit
        samples.append(
            BenchmarkSamples(
                benchmark=name,
                base=pair.base,
                head=pair.head,
                direction=direction,
                threshold=threshold,
                severity=severity,
                channel=own_channel,
                paired=pair.paired,
            )
        )
    return samples, units


def _ab_side(run: ParsedRun) -> str | None:
    sides = {str(r.metadata[AB_SIDE_KEY]) for r in run.results if AB_SIDE_KEY in r.metadata}
    return sides.pop() if len(sides) == 1 else None


def _check_sides(base: ParsedRun, head: ParsedRun, base_path: Path, head_path: Path) -> None:
    """Refuse A/B files passed the wrong way round (they would read as unpaired, and every
    verdict would point the wrong way)."""
    if _ab_side(base) == "head" or _ab_side(head) == "base":
        raise InputError(
            f"{base_path} is the {_ab_side(base) or 'non-A/B'} side and {head_path} the "
            f"{_ab_side(head) or 'non-A/B'} side of an A/B session; pass --base base.json "
            "--head head.json"
        )


def _check_instructions(run: ParsedRun, path: Path) -> None:
    for result in run.results:
        for key in _CHANNEL_KEYS:
            value = result.metadata.get(key)
            if value is not None and str(value) != INSTRUCTIONS:
                raise InputError(
                    f"{path}: benchmark {result.benchmark!r} has {key} {value!r}, not "
                    f"{INSTRUCTIONS!r}; pass the files of perfkit-bench instructions as "
                    "--base-instructions / --head-instructions"
                )


def _distinct(base: ParsedRun, head: ParsedRun) -> tuple[ParsedRun, ParsedRun]:
    """Two different files that carry one run id (the two sides of one session may) would be
    stored as one run; keep them apart by side. The same file on both sides stays one run."""
    if base.run_key != head.run_key or base.source == head.source:
        return base, head
    return (
        dataclasses.replace(base, run_key=f"{base.run_key}#base"),
        dataclasses.replace(head, run_key=f"{head.run_key}#head"),
    )


def _planned_pairs(run: ParsedRun) -> int | None:
    values = {r.metadata.get(PAIRS_KEY) for r in run.results} - {None}
    try:
        return max(int(str(value)) for value in values) if values else None
    except ValueError:
        return None


def _file_inputs(args: argparse.Namespace, targets: Targets | None) -> _Inputs:
    base_path, head_path = Path(args.base), Path(args.head)
    base_run, head_run = read_result_file(base_path), read_result_file(head_path)
    _check_sides(base_run, head_run, base_path, head_path)
    pairs = load_pairs(base_path, head_path)
    samples, units = _samples(pairs, targets)
    base_run, head_run = _distinct(base_run, head_run)
    runs = {"base": base_run, "head": head_run}
    paired = [pair for pair in pairs.values() if pair.paired]
    seeds = {pair.seed for pair in paired} - {None}
    return _Inputs(
        kind="ab" if paired else "files",
        samples=tuple(samples),
        units=units,
        runs=runs,
        baseline=None,
        baseline_run=None,
        ab_pairs=_planned_pairs(base_run) if paired else None,
        ab_seed=seeds.pop() if len(seeds) == 1 else None,
        injected_percent=max((pair.injected_percent for pair in pairs.values()), default=0.0),
    )


def _baseline_inputs(
    args: argparse.Namespace, targets: Targets | None, history: History
) -> _Inputs:
    baseline = history.baseline(args.against_baseline)
    if args.branch is not None and baseline.branch != args.branch:
        tracks = f"tracks branch {baseline.branch!r}" if baseline.branch else "tracks no branch"
        raise InputError(
            f"baseline {baseline.name!r} {tracks}, not {args.branch!r}; set it for that branch "
            f"(perfkit-report baseline set {baseline.name} --branch {args.branch}) or see "
            "`perfkit-report baseline list`"
        )
    base_run = history.run(baseline.run_id)
    head_path = Path(args.head)
    head_run = read_result_file(head_path)
    stored = {result.benchmark: result for result in history.results(baseline.run_id)}
    fresh = {result.benchmark: result for result in head_run.results}
    if not stored.keys() & fresh.keys():
        raise InputError(
            f"{head_path} and baseline {baseline.name!r} (run {baseline.run_id}) have no "
            "benchmark in common; compare a run of the same suite, or set another baseline"
        )
    pairs: dict[str, PairedSamples] = {}
    for name in list(stored) + [name for name in fresh if name not in stored]:
        old, new = stored.get(name), fresh.get(name)
        if old is not None and new is not None and (old.unit, old.metric) != (new.unit, new.metric):
            raise InputError(
                f"benchmark {name!r} is {old.metric} in {old.unit} in baseline "
                f"{baseline.name!r} but {new.metric} in {new.unit} in {head_path}; compare "
                "runs of the same suite"
            )
        if old is not None and old.process_medians is None:
            raise InputError(
                f"baseline {baseline.name!r} (run {baseline.run_id}) lost its raw samples to "
                "pruning (it was not pinned); set a new baseline from a recent run "
                f"(perfkit-report baseline set {baseline.name} --run latest) and keep it pinned"
            )
        unit = old.unit if old is not None else new.unit if new is not None else ""
        metric = old.metric if old is not None else new.metric if new is not None else ""
        pairs[name] = PairedSamples(
            benchmark=name,
            channel=metric,
            unit=unit,
            base=None if old is None else old.process_medians,
            head=None if new is None else new.summary.process_medians,
            paired=False,
        )
    samples, units = _samples(pairs, targets)
    return _Inputs(
        kind="baseline",
        samples=tuple(samples),
        units=units,
        runs={"head": head_run},
        baseline=baseline,
        baseline_run=base_run,
        ab_pairs=None,
        ab_seed=None,
        injected_percent=0.0,
    )


def _instruction_inputs(
    args: argparse.Namespace, targets: Targets | None
) -> tuple[list[BenchmarkSamples], dict[tuple[str, str], str], dict[str, ParsedRun]]:
    base_path, head_path = Path(args.base_instructions), Path(args.head_instructions)
    base_run, head_run = read_result_file(base_path), read_result_file(head_path)
    _check_instructions(base_run, base_path)
    _check_instructions(head_run, head_path)
    samples, units = _samples(load_pairs(base_path, head_path), targets, INSTRUCTIONS)
    base_run, head_run = _distinct(base_run, head_run)
    return samples, units, {"base_instructions": base_run, "head_instructions": head_run}


# -- the sides as people see them ----------------------------------------------------------------


def _environment(
    run: ParsedRun | RunRecord, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Machine, CPU, Python, kernel, mode and tool versions, from the run's fingerprint."""
    fingerprint = run.fingerprint
    found: dict[str, str] = {}
    for label, keys in (
        ("machine", ("hostname",)),
        ("cpu", ("cpu_model", "cpu_model_name")),
        ("cores", ("cpu_count",)),
        ("python", ("python", "python_version")),
        ("kernel", ("kernel", "platform")),
        ("load", ("load_avg",)),
    ):
        value = next((fingerprint[key] for key in keys if fingerprint.get(key) is not None), None)
        if value is not None:
            found[label] = str(value)
    if run.mode:
        found["mode"] = run.mode
    if run.tool_versions.get("perfkit") is not None:
        found["perfkit"] = str(run.tool_versions["perfkit"])
    if run.tool_versions.get("pyperf") is not None:
        found["pyperf"] = str(run.tool_versions["pyperf"])
    if run.started:
        found["started"] = run.started
    return {**found, **(extra or {})}


def _default_label(run: ParsedRun | RunRecord, fallback: str) -> str:
    if run.commit_sha and run.branch:
        return f"{run.branch}@{run.commit_sha[:8]}"
    if run.commit_sha:
        return run.commit_sha[:8]
    return fallback


def _failed(run: ParsedRun | RunRecord) -> tuple[str, ...]:
    return tuple(str(item.get("id", "?")) for item in run.failed)


def _side(
    label: str | None,
    runs: Sequence[tuple[str, ParsedRun | RunRecord]],
    baseline: Baseline | None = None,
) -> CheckSide:
    """A side from its runs (time first, then instructions)."""
    main = runs[0][1]
    # A stored baseline run is no input file of this check.
    files = {channel: run.source for channel, run in runs if isinstance(run, ParsedRun)}
    if baseline is not None:
        fallback = f"baseline {baseline.name} (run {baseline.run_id})"
    else:
        fallback = Path(main.source).name
    return CheckSide(
        label=label if label is not None else _default_label(main, fallback),
        commit=main.commit_sha,
        branch=main.branch,
        files=files,
        environment=_environment(main),
        failed=tuple(name for _, run in runs for name in _failed(run)),
        baseline=baseline,
    )


def _reproduce(args: argparse.Namespace) -> str:
    """The check's own command line (file names only), when the driver gave no --reproduce."""
    words = ["perfkit-report", "check"]
    for flag, value in (
        ("--base", args.base),
        ("--head", args.head),
        ("--base-instructions", args.base_instructions),
        ("--head-instructions", args.head_instructions),
        ("--against-baseline", args.against_baseline),
        ("--branch", args.branch),
        ("--targets", args.targets),
    ):
        if value is not None:
            words += [flag, str(value)]
    if args.fail_on != "minor":
        words += ["--fail-on", args.fail_on]
    if args.fail_on_inconclusive:
        words.append("--fail-on-inconclusive")
    if args.alpha != DEFAULT_ALPHA:
        words += ["--alpha", f"{args.alpha:g}"]
    words += ["--out-dir", "check", "--no-store"]
    return shlex.join(words)


# -- the check -----------------------------------------------------------------------------------


def _validate_args(args: argparse.Namespace) -> None:
    if (args.base_instructions is None) != (args.head_instructions is None):
        raise InputError(
            "--base-instructions and --head-instructions go together; pass both instruction "
            "files (perfkit-bench instructions, one per side) or neither"
        )
    if args.branch is not None and args.against_baseline is None:
        raise InputError(
            "--branch names the branch a stored baseline tracks; use it with --against-baseline "
            "NAME"
        )
    for flag, value in (
        ("--base", args.base),
        ("--head", args.head),
        ("--base-instructions", args.base_instructions),
        ("--head-instructions", args.head_instructions),
        ("--targets", args.targets),
    ):
        if value is not None and not Path(value).is_file():
            raise InputError(f"{flag} {value}: no such file; check the path")


def _build_check(
    args: argparse.Namespace, history: History | None
) -> tuple[GateCheck, dict[str, ParsedRun]]:
    """Read every input and run the detector once: the check, and the runs to store by role
    (nothing written yet)."""
    targets = load_targets(args.targets) if args.targets is not None else None
    if args.against_baseline is not None:
        assert history is not None
        inputs = _baseline_inputs(args, targets, history)
    else:
        inputs = _file_inputs(args, targets)
    samples = list(inputs.samples)
    units = dict(inputs.units)
    runs = dict(inputs.runs)
    if args.base_instructions is not None:
        more_samples, more_units, more_runs = _instruction_inputs(args, targets)
        samples += more_samples
        units.update(more_units)
        runs.update(more_runs)
    verdicts = detect(samples, alpha=args.alpha, n_resamples=DEFAULT_RESAMPLES, seed=0)

    head_runs: list[tuple[str, ParsedRun | RunRecord]] = [("time", runs["head"])]
    if "head_instructions" in runs:
        head_runs.append((INSTRUCTIONS, runs["head_instructions"]))
    if inputs.baseline_run is not None:
        base_runs: list[tuple[str, ParsedRun | RunRecord]] = [("time", inputs.baseline_run)]
    else:
        base_runs = [("time", runs["base"])]
    if "base_instructions" in runs:
        base_runs.append((INSTRUCTIONS, runs["base_instructions"]))
    base = _side(args.base_label, base_runs, inputs.baseline)
    head = _side(args.head_label, head_runs)
    check = GateCheck(
        kind=inputs.kind,
        base=base,
        head=head,
        verdicts=verdicts,
        units=units,
        alpha=args.alpha,
        n_resamples=DEFAULT_RESAMPLES,
        seed=0,
        fail_on=args.fail_on,
        fail_on_inconclusive=args.fail_on_inconclusive,
        targets=None if args.targets is None else str(Path(args.targets)),
        reproduce=args.reproduce if args.reproduce is not None else _reproduce(args),
        ab_pairs=inputs.ab_pairs,
        ab_seed=inputs.ab_seed,
        injected_percent=inputs.injected_percent,
    )
    return check, runs


def run_check(args: argparse.Namespace) -> int:
    """The ``check`` handler: write verdict.json and comment.md, store the check, return the
    gate's exit code."""
    _validate_args(args)
    out_dir = Path(args.out_dir)
    history: History | None = None
    if args.against_baseline is not None:
        db = Path(args.db)
        if not db.exists():
            raise InputError(
                f"{db}: no history database here, so no baseline {args.against_baseline!r}; "
                "record a run (inv bench) and set a baseline (perfkit-report baseline set "
                f"{args.against_baseline} --run latest), or pass --db"
            )
        history = History.open(db)
    try:
        check, runs = _build_check(args, history)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"--out-dir {out_dir}: cannot create it ({exc.strerror}); pass a writable folder"
            ) from exc
        verdict_path = (out_dir / "verdict.json").resolve()
        comment_path = (out_dir / "comment.md").resolve()
        markdown = render_comment(check)
        _write(comment_path, markdown)
        _write(verdict_path, render_verdict_json(check, comment_path, None))
        if args.needs_more is not None:
            _write(Path(args.needs_more), render_needs_more(check))
        if not args.no_store:
            if history is None:
                history = History.open(args.db)
            recorded = _store(history, check, runs, markdown, verdict_path)
            _write(verdict_path, render_verdict_json(check, comment_path, recorded))
    finally:
        if history is not None:
            history.close()
    print(escape_terminal(plain_headline(check)))
    for path in (verdict_path, comment_path):
        print(escape_terminal(str(path)))
    if args.needs_more is not None:
        print(escape_terminal(str(Path(args.needs_more))))
    return check.exit_code


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write it ({exc.strerror}); pass a writable path") from exc


def plain_headline(check: GateCheck) -> str:
    """The verdict line without Markdown (for the terminal and verdict.json)."""
    return headline(check, markdown=False)


# -- history -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Recorded:
    db: str
    check_id: int
    run_ids: Mapping[str, int]


def _store(
    history: History,
    check: GateCheck,
    runs: Mapping[str, ParsedRun],
    markdown: str,
    json_path: Path,
) -> _Recorded:
    """Store the time files' runs, the check and its verdicts in one transaction.

    The instruction files are not stored as runs: their benchmarks carry the ids of the time
    benchmarks, so their counts would join those ids' time series on the dashboard (and the
    latest run would be a file of counts). Their verdicts point at the time runs, told apart by
    ``channel``; the files are named in the check's settings."""
    row = CheckRow(
        kind=check.kind,
        base_label=check.base.label,
        head_label=check.head.label,
        base_commit=check.base.commit,
        head_commit=check.head.commit,
        baseline=check.base.baseline.name if check.base.baseline is not None else None,
        exit_code=check.exit_code,
        settings=_settings(check),
        markdown=markdown,
        json_path=str(json_path),
    )
    recorded = history.store_check(
        {role: runs[role] for role in ("base", "head") if role in runs},
        row,
        check.verdicts,
        # The base of a check against a baseline is the baseline's stored run.
        base_run_id=check.base.baseline.run_id if check.base.baseline is not None else None,
    )
    return _Recorded(str(history.path.resolve()), recorded.check_id, recorded.run_ids)


def _settings(check: GateCheck) -> dict[str, Any]:
    return {
        "alpha": check.alpha,
        "confidence": 1 - check.alpha,
        "n_resamples": check.n_resamples,
        "seed": check.seed,
        "fail_on": check.fail_on,
        "fail_on_inconclusive": check.fail_on_inconclusive,
        "targets": check.targets,
        "default_instructions_threshold": DEFAULT_INSTRUCTIONS_THRESHOLD,
        "reproduce": check.reproduce,
        "ab_pairs": check.ab_pairs,
        "ab_seed": check.ab_seed,
        "injected_percent": check.injected_percent,
        "base_files": dict(check.base.files),
        "head_files": dict(check.head.files),
    }


# -- verdict.json and the needs-more file --------------------------------------------------------


def _side_json(side: CheckSide, run_id: int | None) -> dict[str, Any]:
    return {
        "label": side.label,
        "commit": side.commit,
        "branch": side.branch,
        "baseline": side.baseline.name if side.baseline is not None else None,
        "files": dict(side.files),
        "environment": dict(side.environment),
        "failed": list(side.failed),
        "run_id": run_id,
    }


def _verdict_json(check: GateCheck, verdict: BenchmarkVerdict, failing: set[int]) -> dict[str, Any]:
    return {
        "benchmark": verdict.benchmark,
        "channel": verdict.channel,
        "unit": check.unit(verdict),
        "verdict": verdict.verdict,
        "severity": verdict.severity,
        "fails": id(verdict) in failing,
        "effect": verdict.effect,
        "ci_low": verdict.ci_low,
        "ci_high": verdict.ci_high,
        "change_percent": verdict.change_percent,
        "ci_percent": list(verdict.ci_percent) if verdict.ci_percent is not None else None,
        "p": verdict.p,
        "q": verdict.q,
        "mde_percent": verdict.mde_percent,
        "n_base": verdict.n_base,
        "n_head": verdict.n_head,
        "paired": verdict.paired,
        "test": verdict.test,
        "direction": verdict.direction,
        "threshold": verdict.threshold,
    }


def _more_json(more: MoreSamples, paired: bool) -> dict[str, Any]:
    return {
        "benchmark": more.benchmark,
        "channel": more.channel,
        "paired": paired,
        "n_base": more.n_base,
        "n_head": more.n_head,
        "suggested": more.suggested,
        "could_regress": more.could_regress,
    }


def _more(check: GateCheck) -> list[dict[str, Any]]:
    paired = {(v.channel, v.benchmark): v.paired for v in check.verdicts}
    return [_more_json(more, paired[(more.channel, more.benchmark)]) for more in check.more]


def render_verdict_json(check: GateCheck, comment: Path | None, recorded: _Recorded | None) -> str:
    """verdict.json (``CHECK_FORMAT_VERSION``)."""
    failing = {id(verdict) for verdict in check.failures}
    run_ids = recorded.run_ids if recorded is not None else {}
    document: dict[str, Any] = {
        "version": CHECK_FORMAT_VERSION,
        "tool": "perfkit-report check",
        "kind": check.kind,
        "outcome": "fail" if check.exit_code else "pass",
        "exit_code": check.exit_code,
        "headline": plain_headline(check),
        "base": _side_json(check.base, run_ids.get("base")),
        "head": _side_json(check.head, run_ids.get("head")),
        "settings": _settings(check),
        "counts": {name: check.count(name) for name in _ORDER},
        "severities": {name: check.severity_count(name) for name in ("minor", "major", "critical")},
        "failures": [
            {
                "benchmark": v.benchmark,
                "channel": v.channel,
                "verdict": v.verdict,
                "severity": v.severity,
            }
            for v in check.ordered
            if id(v) in failing
        ],
        "verdicts": [_verdict_json(check, v, failing) for v in check.ordered],
        "needs_more": _more(check),
        "comment": None if comment is None else str(comment),
        "history": None
        if recorded is None
        else {"db": recorded.db, "check_id": recorded.check_id, "run_ids": dict(run_ids)},
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_needs_more(check: GateCheck) -> str:
    """The --needs-more file (``NEEDS_MORE_FORMAT_VERSION``): the inconclusive benchmarks, those
    that could still turn out regressed first, each with the processes (pairs) per side that
    would likely resolve it."""
    document = {
        "version": NEEDS_MORE_FORMAT_VERSION,
        "tool": "perfkit-report check",
        "benchmarks": _more(check),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# -- command line --------------------------------------------------------------------------------


def add_check_command(commands: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """Add ``check`` to the ``perfkit-report`` sub-commands (``commands`` is the object
    ``ArgumentParser.add_subparsers`` returned; ``parents`` give the shared ``--db``)."""
    check = commands.add_parser(
        "check",
        parents=list(parents),
        help="the regression gate's verdict on one check: verdict.json, comment.md, history",
        description="Run the regression detector once over every benchmark of every channel "
        "(time from --base/--head, paired when they are the two files of one perfkit-bench ab "
        "session; instructions from the instruction files; or the head against a stored "
        "baseline), write DIR/verdict.json and DIR/comment.md, print their paths, and record "
        "the check in history.db. Exit 1 on a confirmed regression at or above --fail-on, 0 "
        "otherwise, 2 on bad input.",
    )
    base = check.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", metavar="FILE", help="the base side's result file (base.json)")
    base.add_argument(
        "--against-baseline",
        metavar="NAME",
        help="compare the head with this baseline stored in --db instead (unpaired)",
    )
    check.add_argument(
        "--head", metavar="FILE", required=True, help="the head side's result file (head.json)"
    )
    check.add_argument(
        "--base-instructions", metavar="FILE", help="the base side's instruction counts"
    )
    check.add_argument(
        "--head-instructions", metavar="FILE", help="the head side's instruction counts"
    )
    check.add_argument(
        "--branch",
        metavar="B",
        help="with --against-baseline: the branch the baseline must track",
    )
    check.add_argument(
        "--targets",
        metavar="FILE",
        help="targets.toml: thresholds (instructions_threshold for the instructions channel), "
        "directions, severity bands (default: 10%%, instructions 1%%, lower is better)",
    )
    check.add_argument(
        "--out-dir",
        required=True,
        metavar="DIR",
        help="folder for verdict.json and comment.md (created if missing; files replaced)",
    )
    check.add_argument("--base-label", metavar="TEXT", help="the base's name in the comment")
    check.add_argument("--head-label", metavar="TEXT", help="the head's name in the comment")
    check.add_argument(
        "--fail-on",
        choices=("minor", "major", "critical"),
        default="minor",
        help="exit 1 on a regression of this severity or worse (default: minor)",
    )
    check.add_argument(
        "--fail-on-inconclusive", action="store_true", help="exit 1 on an inconclusive one too"
    )
    check.add_argument(
        "--alpha",
        type=alpha_level,
        default=DEFAULT_ALPHA,
        help=f"false discovery level; the CI is at 1 - alpha (default: {DEFAULT_ALPHA})",
    )
    check.add_argument(
        "--needs-more",
        metavar="FILE",
        help="write the inconclusive benchmarks more pairs could resolve to FILE (JSON)",
    )
    check.add_argument(
        "--no-store", action="store_true", help="do not record the check in the history"
    )
    check.add_argument(
        "--reproduce",
        metavar="TEXT",
        help="the command that reproduces the check locally, shown in the comment",
    )
    check.set_defaults(handler=run_check)
