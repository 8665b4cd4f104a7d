"""Result files: refusing to overwrite one, writing a run's benchmarks as one pyperf suite with
the run metadata on every benchmark, and replacing a file atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit_bench._exceptions import OutputExistsError
from perfkit_bench._plumbing._processes import Failure
from perfkit_bench._spec import MetadataValue

__all__ = ["RunResult", "refuse_existing", "replace_atomically", "write_suite"]


@dataclass(frozen=True)
class RunResult:
    """What ``run`` or ``instructions`` wrote: the file, the run id, the benchmarks in it and
    the benchmarks that failed."""

    output: Path
    run_id: str
    benchmarks: list[str]
    failures: list[Failure] = field(default_factory=list)


def refuse_existing(output: Path, force: bool) -> None:
    """:class:`OutputExistsError` when ``output`` exists and ``force`` is not given: checked
    before anything runs."""
    if output.exists() and not force:
        raise OutputExistsError(_exists(output))


def write_suite(
    benchmarks: Sequence[Any], metadata: dict[str, MetadataValue], output: Path, force: bool
) -> list[str]:
    """Stamp ``metadata`` on every pyperf benchmark and dump them as one suite to ``output``
    (replaced only with ``force``); the names written."""
    import pyperf

    for bench in benchmarks:
        bench.update_metadata(dict(metadata))
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        pyperf.BenchmarkSuite(list(benchmarks)).dump(str(output), replace=force)
    except FileExistsError:
        raise OutputExistsError(_exists(output)) from None
    return [str(bench.get_name()) for bench in benchmarks]


def replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a hidden partial file beside ``path``, then rename it over ``path``: a reader
    sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    write(partial)
    os.replace(partial, path)


def _exists(output: Path) -> str:
    return f"File already exists, will not overwrite without --force: {output}"
