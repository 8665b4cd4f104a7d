"""The input contract's last step, shared by every reader of result files: a run the store can
write as it is, or one line naming the file and the fix.

A reader (pyperf JSON in ``_ingest``; readers of other formats alike) reads its file through
``perfkit_report._input``, checks its own format, summarises each benchmark with ``summaries``
and returns ``checked_run(source, run)``. Everything that could still fail inside the write
transaction is tried here first, in memory, so ``ingest A B`` refuses a bad B before A is written
and before an empty history is created:

- every text column (run key, source, commit, branch, benchmark, suite, ...) is UTF-8: a lone
  surrogate (``"\\udc80"`` is valid JSON) would make SQLite's driver raise mid-transaction;
- every JSON column (fingerprint, tool versions, failed benchmarks, metadata) is encoded with the
  store's own encoder (``dump_json``): no NaN or infinity (``1e999`` in JSON reads as inf), no
  nesting deeper than ``MAX_JSON_DEPTH``;
- every statistic is a finite float: finite values can still overflow in a sum or a square
  (three values of 1.7e308; 1e200 beside 1), which ``summaries`` turns into the same one line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from perfkit_report._exceptions import ResultFileError
from perfkit_report._history._statistics import SampleSummary, summarize_many
from perfkit_report._input import json_depth, path_text

__all__ = [
    "MAX_JSON_DEPTH",
    "ParsedResult",
    "ParsedRun",
    "checked_run",
    "dump_json",
    "fail",
    "summaries",
]

# perfkit writes flat objects (params, libraries, failed benchmarks: depth 2 at most); 32 leaves
# room for anyone's richer metadata while staying far from the recursion limit of the encoder.
MAX_JSON_DEPTH = 32


@dataclass(frozen=True, slots=True)
class ParsedResult:
    """One benchmark of a run, ready to be stored."""

    benchmark: str
    metric: str
    unit: str
    target: str | None
    suite: str
    summary: SampleSummary
    samples: tuple[float, ...]
    metadata: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ParsedRun:
    """One result file, validated, ready to be stored in one transaction: what every reader
    returns (after ``checked_run``) and ``History.store`` writes."""

    run_key: str
    source: str
    started: str | None
    finished: str | None
    commit_sha: str | None
    branch: str | None
    dirty: bool | None
    mode: str | None
    fingerprint: Mapping[str, Any]
    tool_versions: Mapping[str, Any]
    failed: tuple[Mapping[str, Any], ...]
    results: tuple[ParsedResult, ...]

    @property
    def status(self) -> str:
        """``partial`` when some benchmarks failed to run, else ``ok``."""
        return "partial" if self.failed else "ok"


# One encoder for every JSON column: json.dumps with these options builds a new one per call,
# a third of the cost of encoding one result's metadata.
_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)
_FIX = "fix the file's writer or re-run the benchmark"


def dump_json(value: object) -> str:
    """A JSON column's text, as the store writes it."""
    return _JSON.encode(value)


def fail(source: Path, reason: str, fix: str) -> ResultFileError:
    """A result file's refusal: ``PATH: REASON; FIX``, the path shown as ``path_text`` does."""
    return ResultFileError(f"{path_text(source)}: {reason}; {fix}")


def summaries(source: str, processes: Sequence[Sequence[Sequence[float]]]) -> list[SampleSummary]:
    """``summarize_many`` of every benchmark's per-process values (finite floats), refusing
    values whose statistics overflow a float."""
    try:
        # numpy only warns on overflow (a warning is a second line on stderr): raise instead.
        with np.errstate(over="raise", invalid="raise"):
            summarized = summarize_many(processes)
    except (OverflowError, FloatingPointError) as exc:
        raise _fail(source, f"values too large to summarise ({exc})") from exc
    for summary in summarized:
        numbers = [*astuple(summary)[1:-1], *summary.process_medians]
        if not all(map(math.isfinite, (n for n in numbers if n is not None))):
            raise _fail(source, "values too large to summarise (a statistic overflows a float)")
    return summarized


def checked_run(source: str, run: ParsedRun) -> ParsedRun:
    """``run`` unchanged when the store can write every field of it; else ResultFileError."""
    _texts(source, "the run", _run_texts(run))
    for what, value in (
        ("the environment metadata", run.fingerprint),
        ("the tool versions", run.tool_versions),
        ("perfkit_failed", list(run.failed)),
    ):
        _json_column(source, what, value)
    for result in run.results:
        where = f"benchmark {result.benchmark!r}"
        _texts(
            source,
            where,
            {
                "name": result.benchmark,
                "metric": result.metric,
                "unit": result.unit,
                "target": result.target,
                "suite": result.suite,
            },
        )
        _json_column(source, f"the metadata of {where}", result.metadata)
    return run


def _run_texts(run: ParsedRun) -> dict[str, str | None]:
    return {
        "run id": run.run_key,
        "source path": run.source,
        "start time": run.started,
        "finish time": run.finished,
        "commit": run.commit_sha,
        "branch": run.branch,
        "mode": run.mode,
    }


def _texts(source: str, where: str, fields: Mapping[str, str | None]) -> None:
    for name, text in fields.items():
        if text is None:
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = text[exc.start : exc.end].encode("unicode_escape").decode("ascii")
            raise _fail(
                source,
                f"the {name} of {where} holds a lone surrogate ({bad}), which is not text",
            ) from exc


def _json_column(source: str, what: str, value: Any) -> None:
    if json_depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise _fail(source, f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        dump_json(value)
    except ValueError as exc:  # NaN or infinity (1e999 in JSON), or a circular value
        raise _fail(source, f"{what} holds a value JSON cannot store ({exc})") from exc
    except TypeError as exc:
        raise _fail(source, f"{what} holds a value that is not JSON ({exc})") from exc


def _fail(source: str, reason: str) -> ResultFileError:
    return ResultFileError(f"{source}: {reason}; {_FIX}")
