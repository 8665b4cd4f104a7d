"""What perfkit-bench's measuring commands (``run``, ``ab``, ``instructions``) share: worker
processes (start, deadline, process-group kill, stripped environment), the run metadata, result
files, SIGTERM handling and the shared command-line options. One home, so the three commands
cannot drift apart."""

from __future__ import annotations

from perfkit_bench._plumbing._options import (
    add_filters,
    add_inherit_environ,
    add_paths,
    add_quiet,
    environ_names,
    non_negative_int,
    positive_finite_float,
    positive_float,
    positive_int,
)
from perfkit_bench._plumbing._processes import (
    DEFAULT_TIMEOUT,
    KEPT_ENVIRON,
    Failure,
    failed,
    kill_group,
    last_line,
    pythonpath,
    run_process,
    start_process,
    stripped_environ,
    timed_out,
)
from perfkit_bench._plumbing._record import iso, perfkit_version, run_metadata
from perfkit_bench._plumbing._results import (
    RunResult,
    refuse_existing,
    replace_atomically,
    write_suite,
)
from perfkit_bench._plumbing._signals import exit_on_sigterm, sigterm_unwinds

__all__ = [
    "DEFAULT_TIMEOUT",
    "KEPT_ENVIRON",
    "Failure",
    "RunResult",
    "add_filters",
    "add_inherit_environ",
    "add_paths",
    "add_quiet",
    "environ_names",
    "exit_on_sigterm",
    "failed",
    "iso",
    "kill_group",
    "last_line",
    "non_negative_int",
    "perfkit_version",
    "positive_finite_float",
    "positive_float",
    "positive_int",
    "pythonpath",
    "refuse_existing",
    "replace_atomically",
    "run_metadata",
    "run_process",
    "sigterm_unwinds",
    "start_process",
    "stripped_environ",
    "timed_out",
    "write_suite",
]
