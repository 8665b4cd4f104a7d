"""``perfkit-report check``: the regression gate's verdict on one check.

The gate's composition root (``nox -s regression``) runs ``perfkit-bench ab`` and, when valgrind
is there, ``perfkit-bench instructions`` on each side, then calls this command once per round.
One check is:

1. **Samples** (``_check_inputs``). The time files (``--base`` / ``--head``): when they are the
   ``base.json`` and ``head.json`` of one A/B session, each benchmark's per-process medians are
   *pairs* (process ``i`` of base ran back to back with process ``i`` of head); any other two
   pyperf files are compared unpaired. The instruction files (``--base-instructions`` /
   ``--head-instructions``) add the ``instructions`` channel (unpaired). With
   ``--against-baseline NAME`` the base is the stored baseline run's per-process medians from
   history.db (unpaired; a stored run cannot be paired with a fresh one).
2. **One detector call** over every benchmark of every channel, so Benjamini-Hochberg controls
   the false discoveries of the whole check (``_detector``). Thresholds come from the targets
   file: ``threshold`` per benchmark for time and memory (byte metrics carry tighter thresholds
   there), ``instructions_threshold`` (default 1 %) for the instructions channel, whose direction
   is always "lower is better" (instructions per operation) and whose severity uses the same
   bands as the benchmark's time.
3. **Outputs.** ``DIR/verdict.json`` (``_verdict_json``, documented in docs/regression.md),
   ``DIR/comment.md`` (the PR comment, ``_comment``), and with
   ``--needs-more FILE`` the inconclusive benchmarks more pairs could resolve. Files are written
   before the check is stored, so a history that cannot be written still leaves the verdict.
4. **History.** Unless ``--no-store``: both time files are ingested as runs (a no-op when they
   are already there; with ``--against-baseline`` only the head), plus one ``checks`` row and one
   ``verdicts`` row per benchmark and channel, all in one transaction (``History.store_check``).
   Instruction files are not stored as runs (see ``_history._store``).

``run_check(CheckOptions(...))`` does all of it and returns a ``CheckOutcome``; its
``exit_code`` is 1 on a confirmed regression at or above ``fail_on`` (an inconclusive benchmark
too with ``fail_on_inconclusive``), else 0. Bad input raises an ``InputError`` (exit 2) before
anything is written.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from perfkit_report._exceptions import InputError
from perfkit_report._gate._check_inputs import (
    CheckInputs,
    baseline_inputs,
    check_side,
    file_inputs,
    instruction_inputs,
)
from perfkit_report._gate._check_model import INSTRUCTIONS, GateCheck
from perfkit_report._gate._comment import render_comment
from perfkit_report._gate._detector import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    BenchmarkSamples,
    SeverityName,
    detect,
)
from perfkit_report._gate._verdict_json import Recorded, render_needs_more, render_verdict_json
from perfkit_report._history import CheckRow, History, ParsedRun, RunRecord
from perfkit_report._targets import Targets, load_targets

__all__ = ["CheckOptions", "CheckOutcome", "run_check"]

StrPath = str | Path


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """One check's inputs and settings (the ``check`` command's options). Paths are kept as
    given: the reproduce command quotes them so."""

    head: StrPath
    """The head side's time file (head.json)."""
    out_dir: StrPath
    """Folder for verdict.json and comment.md (created if missing; files replaced)."""
    base: StrPath | None = None
    """The base side's time file (base.json); or ``against_baseline``."""
    against_baseline: str | None = None
    """Compare the head with this baseline stored in ``db`` instead (unpaired)."""
    branch: str | None = None
    """With ``against_baseline``: the branch the baseline must track."""
    base_instructions: StrPath | None = None
    head_instructions: StrPath | None = None
    targets: StrPath | None = None
    base_label: str | None = None
    head_label: str | None = None
    fail_on: SeverityName = "minor"
    fail_on_inconclusive: bool = False
    alpha: float = DEFAULT_ALPHA
    needs_more: StrPath | None = None
    """Write the inconclusive benchmarks more pairs could resolve to this file (JSON)."""
    store: bool = True
    """Record the check in the history (``db``)."""
    db: StrPath = "history.db"
    reproduce: str | None = None
    """The command that reproduces the check locally (default: this check's own)."""


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What ``run_check`` decided and wrote."""

    check: GateCheck
    verdict: Path
    comment: Path
    needs_more: Path | None

    @property
    def exit_code(self) -> int:
        """1 when the check fails the gate, else 0."""
        return self.check.exit_code


def run_check(options: CheckOptions) -> CheckOutcome:
    """Read the inputs, run the detector once, write verdict.json and comment.md (and the
    needs-more file), then store the check unless ``options.store`` is False."""
    _validate(options)
    history = _baseline_history(options)
    try:
        check, runs = _build_check(options, history)
        out_dir = _out_dir(options.out_dir)
        verdict_path = (out_dir / "verdict.json").resolve()
        comment_path = (out_dir / "comment.md").resolve()
        markdown = render_comment(check)
        _write(comment_path, markdown)
        _write(verdict_path, render_verdict_json(check, comment_path, None))
        needs_more = Path(options.needs_more) if options.needs_more is not None else None
        if needs_more is not None:
            _write(needs_more, render_needs_more(check))
        if options.store:
            if history is None:
                history = History.open(options.db)
            recorded = _record(history, check, runs, markdown, verdict_path)
            _write(verdict_path, render_verdict_json(check, comment_path, recorded))
    finally:
        if history is not None:
            history.close()
    return CheckOutcome(check, verdict_path, comment_path, needs_more)


def _validate(options: CheckOptions) -> None:
    if (options.base is None) == (options.against_baseline is None):
        raise InputError("pass one base: --base FILE or --against-baseline NAME")
    if (options.base_instructions is None) != (options.head_instructions is None):
        raise InputError(
            "--base-instructions and --head-instructions go together; pass both instruction "
            "files (perfkit-bench instructions, one per side) or neither"
        )
    if options.branch is not None and options.against_baseline is None:
        raise InputError(
            "--branch names the branch a stored baseline tracks; use it with --against-baseline "
            "NAME"
        )
    for flag, value in (
        ("--base", options.base),
        ("--head", options.head),
        ("--base-instructions", options.base_instructions),
        ("--head-instructions", options.head_instructions),
        ("--targets", options.targets),
    ):
        if value is not None and not Path(value).is_file():
            raise InputError(f"{flag} {value}: no such file; check the path")


def _baseline_history(options: CheckOptions) -> History | None:
    """The history a check against a baseline reads (it must exist); None for two files."""
    name = options.against_baseline
    if name is None:
        return None
    db = Path(options.db)
    if not db.exists():
        raise InputError(
            f"{db}: no history database here, so no baseline {name!r}; record a run (inv bench) "
            f"and set a baseline (perfkit-report baseline set {name} --run latest), or pass --db"
        )
    return History.open(db, create=False)


def _out_dir(path: StrPath) -> Path:
    out_dir = Path(path)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"--out-dir {out_dir}: cannot create it ({exc.strerror}); pass a writable folder"
        ) from exc
    return out_dir


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write it ({exc.strerror}); pass a writable path") from exc


# -- the check -----------------------------------------------------------------------------------


def _build_check(
    options: CheckOptions, history: History | None
) -> tuple[GateCheck, dict[str, ParsedRun]]:
    """Read every input and run the detector once: the check, and the runs to store by role
    (nothing written yet)."""
    targets = load_targets(options.targets) if options.targets is not None else None
    inputs = _time_inputs(options, targets, history)
    samples: list[BenchmarkSamples] = list(inputs.samples)
    units = dict(inputs.units)
    runs = dict(inputs.runs)
    if options.base_instructions is not None and options.head_instructions is not None:
        more_samples, more_units, more_runs = instruction_inputs(
            options.base_instructions, options.head_instructions, targets
        )
        samples += more_samples
        units.update(more_units)
        runs.update(more_runs)
    verdicts = detect(samples, alpha=options.alpha, n_resamples=DEFAULT_RESAMPLES, seed=0)
    check = GateCheck(
        kind=inputs.kind,
        base=check_side(options.base_label, _side_runs(runs, "base", inputs), inputs.baseline),
        head=check_side(options.head_label, _side_runs(runs, "head", inputs)),
        verdicts=verdicts,
        units=units,
        alpha=options.alpha,
        n_resamples=DEFAULT_RESAMPLES,
        seed=0,
        fail_on=options.fail_on,
        fail_on_inconclusive=options.fail_on_inconclusive,
        targets=None if options.targets is None else str(Path(options.targets)),
        reproduce=options.reproduce if options.reproduce is not None else _reproduce(options),
        ab_pairs=inputs.ab_pairs,
        ab_seed=inputs.ab_seed,
        injected_percent=inputs.injected_percent,
    )
    return check, runs


def _time_inputs(
    options: CheckOptions, targets: Targets | None, history: History | None
) -> CheckInputs:
    if options.against_baseline is not None:
        assert history is not None
        return baseline_inputs(
            history, options.against_baseline, options.branch, options.head, targets
        )
    assert options.base is not None
    return file_inputs(options.base, options.head, targets)


def _side_runs(
    runs: Mapping[str, ParsedRun], role: str, inputs: CheckInputs
) -> list[tuple[str, ParsedRun | RunRecord]]:
    """A side's runs, time first, then instructions (the base of a baseline check: its run)."""
    stored = inputs.baseline_run if role == "base" else None
    time: ParsedRun | RunRecord = stored if stored is not None else runs[role]
    side: list[tuple[str, ParsedRun | RunRecord]] = [("time", time)]
    if f"{role}_instructions" in runs:
        side.append((INSTRUCTIONS, runs[f"{role}_instructions"]))
    return side


def _reproduce(options: CheckOptions) -> str:
    """The check's own command line (file names only), when the driver gave no --reproduce."""
    words = ["perfkit-report", "check"]
    for flag, value in (
        ("--base", options.base),
        ("--head", options.head),
        ("--base-instructions", options.base_instructions),
        ("--head-instructions", options.head_instructions),
        ("--against-baseline", options.against_baseline),
        ("--branch", options.branch),
        ("--targets", options.targets),
    ):
        if value is not None:
            words += [flag, str(value)]
    if options.fail_on != "minor":
        words += ["--fail-on", options.fail_on]
    if options.fail_on_inconclusive:
        words.append("--fail-on-inconclusive")
    if options.alpha != DEFAULT_ALPHA:
        words += ["--alpha", f"{options.alpha:g}"]
    words += ["--out-dir", "check", "--no-store"]
    return shlex.join(words)


# -- history -------------------------------------------------------------------------------------


def _record(
    history: History,
    check: GateCheck,
    runs: Mapping[str, ParsedRun],
    markdown: str,
    json_path: Path,
) -> Recorded:
    """Store the time files' runs, the check and its verdicts in one transaction.

    The instruction files are not stored as runs: their benchmarks carry the ids of the time
    benchmarks, so their counts would join those ids' time series on the dashboard (and the
    latest run would be a file of counts). Their verdicts point at the time runs, told apart by
    ``channel``; the files are named in the check's settings."""
    baseline = check.base.baseline
    row = CheckRow(
        kind=check.kind,
        base_label=check.base.label,
        head_label=check.head.label,
        base_commit=check.base.commit,
        head_commit=check.head.commit,
        baseline=baseline.name if baseline is not None else None,
        exit_code=check.exit_code,
        settings=check.settings(),
        markdown=markdown,
        json_path=str(json_path),
    )
    stored = history.store_check(
        {role: runs[role] for role in ("base", "head") if role in runs},
        row,
        check.verdicts,
        # The base of a check against a baseline is the baseline's stored run.
        base_run_id=baseline.run_id if baseline is not None else None,
    )
    return Recorded(str(history.path.resolve()), stored.check_id, stored.run_ids)
