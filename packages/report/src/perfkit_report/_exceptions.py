"""Every error perfkit-report raises, under one root.

::

    PerfkitReportError
    ├── InputError               bad input or usage; the CLI exits 2
    │   ├── ResultFileError      a pyperf result file cannot be ingested (truncated, corrupt gzip,
    │   │                        not pyperf, unsupported format version, NaN/inf, no benchmarks)
    │   ├── TargetsFileError     a targets.toml is invalid (names the file, the entry and the fix)
    │   ├── ProfileSummaryError  a profile folder's summary.json is missing or invalid
    │   ├── UnknownRun           no run has that id, or the history holds no run yet
    │   └── UnknownBaseline      no baseline has that name
    └── StoreError               history.db cannot be used; the CLI exits 1
        ├── StoreCorrupt         the file is not SQLite, or a SQLite file that is not a history
        ├── SchemaTooNew         the db records a migration this version does not know
        └── StoreBusy            another process held the write lock past the busy timeout

Only ``perfkit_report._cli.main`` turns these into exit codes. Every message names the file or
object involved and the fix.
"""

from __future__ import annotations

__all__ = [
    "InputError",
    "PerfkitReportError",
    "ProfileSummaryError",
    "ResultFileError",
    "SchemaTooNew",
    "StoreBusy",
    "StoreCorrupt",
    "StoreError",
    "TargetsFileError",
    "UnknownBaseline",
    "UnknownRun",
]


class PerfkitReportError(Exception):
    """Root of every error raised by perfkit-report."""


class InputError(PerfkitReportError):
    """Bad input or usage: a file or argument the user can fix."""


class ResultFileError(InputError):
    """A pyperf result file cannot be ingested; nothing was written."""


class TargetsFileError(InputError):
    """A targets file is not valid."""


class ProfileSummaryError(InputError):
    """A profile folder's summary.json cannot be ingested; nothing was written."""


class UnknownRun(InputError, LookupError):
    """No run has that id (or the history is empty)."""


class UnknownBaseline(InputError, LookupError):
    """No baseline has that name."""


class StoreError(PerfkitReportError):
    """Base of history-store errors."""


class StoreCorrupt(StoreError):
    """The file is not a SQLite database, or not a perfkit-report history."""


class SchemaTooNew(StoreError):
    """The history was written by a newer perfkit-report (it records unknown migrations)."""


class StoreBusy(StoreError):
    """The database stayed locked by another writer for longer than the busy timeout."""
