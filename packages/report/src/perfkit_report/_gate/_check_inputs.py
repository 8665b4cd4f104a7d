"""What a check reads: its samples (time, instructions, or a stored baseline) and its sides.

Each reader validates everything before anything is written (``InputError``, exit 2) and returns
the samples for one detector call, each benchmark's unit, and the runs to store by role:

- ``file_inputs``: the time files. When they are the ``base.json`` and ``head.json`` of one A/B
  session, each benchmark's per-process medians are *pairs* (``_abpairs.load_pairs`` decides);
  any other two pyperf files are compared unpaired. A/B files passed the wrong way round are
  refused (they would read as unpaired, and every verdict would point the wrong way).
- ``baseline_inputs``: the head file against a stored baseline run's per-process medians
  (unpaired: a stored run cannot be paired with a fresh one).
- ``instruction_inputs``: the instruction files (the ``instructions`` channel, unpaired: the
  counts are near-deterministic, there is no drift to cancel).

Thresholds come from the targets file: ``threshold`` per benchmark for time and memory,
``instructions_threshold`` (default 1 %) for the instructions channel, whose direction is always
"lower is better" and whose severity uses the same bands as the benchmark's time.
``check_side`` describes a side as the comment, verdict.json and the history show it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfkit_report._exceptions import InputError
from perfkit_report._gate._abpairs import (
    AB_SIDE_KEY,
    PAIRS_KEY,
    PairedSamples,
    load_pairs,
    result_key,
)
from perfkit_report._gate._check_model import INSTRUCTIONS, CheckSide, Kind
from perfkit_report._gate._detector import BenchmarkSamples, Direction
from perfkit_report._history import (
    Baseline,
    History,
    ParsedResult,
    ParsedRun,
    ResultRecord,
    RunRecord,
    read_result_file,
)
from perfkit_report._targets import (
    DEFAULT_DIRECTION,
    DEFAULT_INSTRUCTIONS_THRESHOLD,
    DEFAULT_THRESHOLD,
    SeverityBands,
    Targets,
)

__all__ = [
    "CheckInputs",
    "baseline_inputs",
    "check_side",
    "file_inputs",
    "instruction_inputs",
]

# Metadata keys the instruction files may carry to name their channel.
_CHANNEL_KEYS = ("perfkit_channel", "perfkit_metric")


@dataclass(frozen=True, slots=True)
class CheckInputs:
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
    for pair in pairs.values():
        name = pair.benchmark
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
                ratios=pair.ratios,
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


def file_inputs(base: str | Path, head: str | Path, targets: Targets | None) -> CheckInputs:
    """The samples of two time files: paired when they are the two sides of one A/B session."""
    base_path, head_path = Path(base), Path(head)
    base_run, head_run = read_result_file(base_path), read_result_file(head_path)
    _check_sides(base_run, head_run, base_path, head_path)
    pairs = load_pairs(base_path, head_path)
    samples, units = _samples(pairs, targets)
    base_run, head_run = _distinct(base_run, head_run)
    runs = {"base": base_run, "head": head_run}
    paired = [pair for pair in pairs.values() if pair.paired]
    seeds = {pair.seed for pair in paired} - {None}
    return CheckInputs(
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


def baseline_inputs(
    history: History,
    name: str,
    branch: str | None,
    head: str | Path,
    targets: Targets | None,
) -> CheckInputs:
    """The samples of a time file against the stored baseline ``name`` (unpaired); ``branch``,
    when given, is the branch that baseline must track."""
    baseline = history.baseline(name)
    if branch is not None and baseline.branch != branch:
        tracks = f"tracks branch {baseline.branch!r}" if baseline.branch else "tracks no branch"
        raise InputError(
            f"baseline {baseline.name!r} {tracks}, not {branch!r}; set it for that branch "
            f"(perfkit-report baseline set {baseline.name} --branch {branch}) or see "
            "`perfkit-report baseline list`"
        )
    base_run = history.run(baseline.run_id)
    head_path = Path(head)
    head_run = read_result_file(head_path)
    stored = {result_key(result): result for result in history.results(baseline.run_id)}
    fresh = {result_key(result): result for result in head_run.results}
    if not stored.keys() & fresh.keys():
        raise InputError(
            f"{head_path} and baseline {baseline.name!r} (run {baseline.run_id}) have no "
            "benchmark in common; compare a run of the same suite, or set another baseline"
        )
    pairs = {
        name: _baseline_pair(name, stored.get(name), fresh.get(name), baseline, head_path)
        for name in list(stored) + [name for name in fresh if name not in stored]
    }
    samples, units = _samples(pairs, targets)
    return CheckInputs(
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


def _baseline_pair(
    name: str,
    old: ResultRecord | None,
    new: ParsedResult | None,
    baseline: Baseline,
    head_path: Path,
) -> PairedSamples:
    """One benchmark of the baseline run (``old``) against the head file (``new``), unpaired."""
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
    either = old if old is not None else new
    return PairedSamples(
        benchmark=either.benchmark if either is not None else name,
        channel=either.metric if either is not None else "",
        unit=either.unit if either is not None else "",
        base=None if old is None else old.process_medians,
        head=None if new is None else new.summary.process_medians,
        paired=False,
    )


def instruction_inputs(
    base: str | Path, head: str | Path, targets: Targets | None
) -> tuple[list[BenchmarkSamples], dict[tuple[str, str], str], dict[str, ParsedRun]]:
    """The samples of the instruction files (the ``instructions`` channel, unpaired), their
    units, and their runs by role (``base_instructions``, ``head_instructions``)."""
    base_path, head_path = Path(base), Path(head)
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


def check_side(
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
