"""Every result format ingest and compare read, behind one door: ``read_results(path)``.

- a pyperf result file (``.json``, ``.json.gz``; perfkit-bench's or anyone's): ``_ingest``
- a pytest-benchmark JSON file (``--benchmark-json`` or ``--benchmark-save``):
  ``_pytest_benchmark``
- an asv results directory, one machine's directory under it, or one run file: ``_asv``

A file's format is told by its content, not its name: pytest-benchmark documents have
``machine_info``, asv run files ``commit_hash`` and ``result_columns``, and anything else is read as
pyperf (whose errors then say what is wrong). Every reader validates everything before it returns
and raises ResultFileError (exit 2, nothing written) naming the file, the reason and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perfkit_report._exceptions import ResultFileError
from perfkit_report._history._asv import is_asv_result, read_asv
from perfkit_report._history._contract import ParsedRun, checked_run
from perfkit_report._history._ingest import (
    _build_run,
    _collector_paused,
    _load_suite,
    _parse_json,
    _read_text,
)
from perfkit_report._history._pytest_benchmark import is_pytest_benchmark, read_pytest_benchmark
from perfkit_report._input import path_text

__all__ = ["read_one_run", "read_results"]

_RERUN = "the file is broken; re-run the benchmark or restore the file"


def read_results(path: str | Path) -> list[ParsedRun]:
    """The runs one path holds: one for a file, every run of an asv results directory; each
    through the input contract (``_contract.checked_run``) whatever its format."""
    source = Path(path)
    with _collector_paused():  # as read_result_file: see its docstring
        try:
            return [checked_run(run.source, run) for run in _read_runs(source)]
        except RecursionError as exc:
            raise ResultFileError(
                f"{path_text(source)}: nested too deeply to read; {_RERUN}"
            ) from exc
        except OverflowError as exc:
            raise ResultFileError(
                f"{path_text(source)}: holds a number out of range ({exc}); {_RERUN}"
            ) from exc


def _read_runs(source: Path) -> list[ParsedRun]:
    if source.is_dir():
        return read_asv(source)
    text = _read_text(source)
    data = _parse(source, text)
    if is_pytest_benchmark(data):
        return [read_pytest_benchmark(source, text, data)]
    if is_asv_result(data):
        return read_asv(source, data)
    return [_build_run(source, text, _load_suite(source, text, data))]


def _parse(source: Path, text: str) -> Any:
    """The file's JSON, strict (pyperf and pytest-benchmark never write NaN or Infinity), except
    for an asv run file: asv writes Infinity and -Infinity for the confidence interval of a
    benchmark with one sample (``stats_ci_99_a``/``_b``), and ``read_asv`` reads a run file's
    folder with plain ``json.loads`` for that reason. The strict parse comes first so that the
    files that parse (nearly all) are parsed once; only a refused one is parsed again, plainly,
    and kept if it is an asv run file."""
    try:
        return _parse_json(source, text)
    except ResultFileError:
        data = _plain_json(text)
        if not is_asv_result(data):
            raise
        return data


def _plain_json(text: str) -> Any:
    """``text`` parsed as Python's json module allows (Infinity, NaN), or None."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def read_one_run(path: str | Path) -> ParsedRun:
    """The one run a path holds (compare's sides); InputError when it holds several."""
    runs = read_results(path)
    if len(runs) != 1:
        names = ", ".join(Path(run.source).name for run in runs[:3])
        raise ResultFileError(
            f"{path}: holds {len(runs)} runs ({names}, ...); pass one run file of it"
        )
    return runs[0]
