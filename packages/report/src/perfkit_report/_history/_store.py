"""The history store: one SQLite file (history.db) that owns every run perfkit has measured.

Connections are configured the same way every time (``History.open``):

- ``PRAGMA foreign_keys = ON``: SQLite (and so sqlite-utils) does not enforce foreign keys
  otherwise, and the setting is per connection.
- ``PRAGMA busy_timeout``: a writer waits for another process's write lock instead of failing
  at once. Combined with ``BEGIN IMMEDIATE`` (see ``_transaction``) concurrent ingests queue.
- WAL journal mode (persistent in the file): readers never block the writer, and a writer killed
  mid-transaction leaves only uncommitted WAL frames, which the next open discards.
- The schema is brought up to date by the named migrations in ``_migrations``.

Every write is one immediate transaction: one per ingested run, one per prune, one per baseline,
one per check of the regression gate (its runs, its row and its verdicts), one per evaluation.

``History`` is the package's only door to the database: the gate and the reports call its
methods and get records back (``_records``); the SQL lives here and in the modules behind it
(``_migrations``, ``_retention``, ``_profiles``, ``_checks``, ``_evaluations``).
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

from sqlite_utils import Database

from perfkit_report._exceptions import (
    InputError,
    StoreBusy,
    StoreError,
    UnknownBaseline,
    UnknownRun,
)
from perfkit_report._history._checks import CheckRow, StoredVerdict, insert_check, load_verdicts
from perfkit_report._history._contract import ParsedRun, dump_json
from perfkit_report._history._evaluations import EvaluationRow, insert_evaluations
from perfkit_report._history._formats import read_one_run, read_results
from perfkit_report._history._integrity import damaged, inspect, quick_check
from perfkit_report._history._migrations import applied_migrations, apply_migrations
from perfkit_report._history._packed import pack_floats
from perfkit_report._history._profiles import (
    ProfileIngestResult,
    ProfileRecord,
    load_profiles,
    read_profile_summary,
    store_profiles,
)
from perfkit_report._history._records import (
    Baseline,
    IngestResult,
    RecordedCheck,
    ResultRecord,
    ResultRow,
    RunHeader,
    RunRecord,
    VerdictRecord,
    as_float,
    baseline_record,
    result_record,
    run_record,
)
from perfkit_report._history._retention import PruneResult, prune_history
from perfkit_report._history._timestamps import format_timestamp, now_utc
from perfkit_report._history._transaction import write_transaction
from perfkit_report._input import path_text

__all__ = ["DEFAULT_BUSY_TIMEOUT", "History"]

# Seconds a writer waits for another process's write lock. An ingest of a few thousand result
# rows commits in well under a second here; 30 s absorbs a queue of several concurrent ingests
# on a loaded 2-core machine without hanging a CI job for long when something is truly stuck.
DEFAULT_BUSY_TIMEOUT = 30.0

# Result rows are inserted in chunks of this size; the test hook below can pause between chunks.
_CHUNK_ROWS = 100

# Test hook (fault-injection tests only): after this many result rows have been written inside
# an ingest transaction, print a line on stderr and sleep, so a test can SIGKILL the process
# mid-transaction. PERFKIT_REPORT_TEST_PAUSE_SECONDS sets the sleep (default 60).
_PAUSE_ENV = "PERFKIT_REPORT_TEST_PAUSE_AFTER_ROWS"
_PAUSE_SECONDS_ENV = "PERFKIT_REPORT_TEST_PAUSE_SECONDS"

# Runs ordered by when they ran; runs with no date at all fall back to when they were ingested.
_RUN_TIME = "COALESCE(runs.started, runs.ingested_at)"


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _guarded(
    method: Callable[Concatenate[History, _P], _R],
) -> Callable[Concatenate[History, _P], _R]:
    """A query whose sqlite3 errors become the package's (``_translated_errors``): a damaged
    page met by ``render`` or ``baseline list`` is one line naming the fix, not a traceback."""

    @functools.wraps(method)
    def guarded(self: History, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _translated_errors(self.path):
            return method(self, *args, **kwargs)

    return guarded


class History:
    """history.db: open it with ``History.open(path)``; use it as a context manager or close()."""

    def __init__(self, db: Database, path: Path, *, checked: bool = True) -> None:
        self._db = db
        self._path = path
        # False until PRAGMA quick_check passed on this file: the first write checks it.
        self._checked = checked

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        create: bool = True,
    ) -> Self:
        """Open a history database and apply missing migrations; with ``create`` (the default)
        a missing or empty file becomes a new history, else it is an InputError.

        The file is looked at read-only first (``_integrity.inspect``): a file that is damaged,
        not SQLite, someone else's database or a newer history is refused before anything is
        written to it, its bytes as they were."""
        where = Path(path)
        inspection = inspect(where, create=create, busy_timeout=busy_timeout)
        try:
            conn = sqlite3.connect(str(where), timeout=busy_timeout)
        except sqlite3.Error as exc:
            raise StoreError(
                f"{path_text(where)}: cannot open the history database ({exc}); check that the "
                "directory exists and is writable"
            ) from exc
        try:
            db = _configured(conn, where, busy_timeout)
        except BaseException:
            conn.close()
            raise
        return cls(db, where, checked=inspection.checked)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @_guarded
    def migrations(self) -> list[str]:
        """Names of the applied migrations, oldest first."""
        return applied_migrations(self._db)

    def _check_before_writing(self) -> None:
        """``PRAGMA quick_check`` once per History before its first write (``_integrity``):
        a damaged history is refused with nothing appended to it."""
        if not self._checked:
            quick_check(self._db.conn, self._path)
            self._checked = True

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """One write: the file checked first, then one immediate transaction."""
        self._check_before_writing()
        with _translated_errors(self._path), write_transaction(self._db, what):
            yield

    # --- ingest -------------------------------------------------------------------------------

    def ingest(self, path: str | Path) -> IngestResult:
        """Validate one result file (pyperf, pytest-benchmark, or an asv run file), then store
        it as one run in one transaction."""
        return self.store(read_one_run(path))

    def ingest_many(self, paths: Sequence[str | Path]) -> list[IngestResult]:
        """Validate every path first (nothing is written if one is bad), then store each run it
        holds (an asv results directory holds many) in its own transaction."""
        parsed = [run for path in paths for run in read_results(path)]
        return [self.store(run) for run in parsed]

    def store(self, run: ParsedRun) -> IngestResult:
        """Store an already validated run; a no-op (``skipped``) if its run_key is present."""
        with self._writing(f"ingesting {run.source}"):
            return self._store_run(run)

    def store_check(
        self,
        runs: Mapping[str, ParsedRun],
        check: CheckRow,
        verdicts: Sequence[StoredVerdict],
        *,
        base_run_id: int | None = None,
    ) -> RecordedCheck:
        """Store the check's runs by role (``base``, ``head``; each a no-op if already present,
        as ``store``), its ``checks`` row and one ``verdicts`` row per verdict, all in one
        transaction: recorded together or not at all. ``base_run_id`` names a stored base run
        (a baseline's) instead of a base file."""
        with self._writing("recording a check"):
            run_ids = {role: self._store_run(run).run_id for role, run in runs.items()}
            if base_run_id is not None:
                run_ids["base"] = base_run_id
            check_id = insert_check(self._db, check, run_ids, verdicts)
        return RecordedCheck(check_id, run_ids)

    def store_evaluation(self, label: str, rows: Sequence[EvaluationRow]) -> int:
        """Store the rows of one evaluation of the gate in one transaction; return how many."""
        self._check_before_writing()
        try:
            return insert_evaluations(self._db, label, rows)
        except sqlite3.DatabaseError as exc:
            if type(exc) is sqlite3.DatabaseError:
                raise damaged(self._path, exc) from exc
            raise StoreError(
                f"{self._path}: cannot store the evaluation ({exc}); check the file and its "
                "directory"
            ) from exc

    def _store_run(self, run: ParsedRun) -> IngestResult:
        """``store`` inside a transaction the caller holds."""
        names = tuple(result.benchmark for result in run.results)
        existing = self._db.execute(
            "SELECT id FROM runs WHERE run_key = ?", [run.run_key]
        ).fetchone()
        if existing is not None:
            return IngestResult(
                int(existing[0]), run.run_key, run.source, names, run.status, skipped=True
            )
        runs = self._db.table("runs")
        runs.insert(
            {
                "run_key": run.run_key,
                "source": run.source,
                "started": run.started,
                "finished": run.finished,
                "commit_sha": run.commit_sha,
                "branch": run.branch,
                "dirty": None if run.dirty is None else int(run.dirty),
                "mode": run.mode,
                "fingerprint": dump_json(run.fingerprint),
                "tool_versions": dump_json(run.tool_versions),
                "failed": dump_json(list(run.failed)),
                "status": run.status,
                "ingested_at": format_timestamp(now_utc()),
            }
        )
        run_id = runs.last_rowid
        if run_id is None:  # pragma: no cover - sqlite-utils always sets it after insert
            raise StoreError(f"{self._path}: the run row got no id")
        self._insert_results(run_id, run)
        return IngestResult(run_id, run.run_key, run.source, names, run.status, skipped=False)

    def _insert_results(self, run_id: int, run: ParsedRun) -> None:
        pause_after = os.environ.get(_PAUSE_ENV)
        rows = [
            {
                "run_id": run_id,
                "benchmark": result.benchmark,
                "metric": result.metric,
                "unit": result.unit,
                "target": result.target,
                "suite": result.suite,
                "n": result.summary.n,
                "median": result.summary.median,
                "mean": result.summary.mean,
                "stdev": result.summary.stdev,
                "min": result.summary.min,
                "max": result.summary.max,
                "p5": result.summary.p5,
                "p95": result.summary.p95,
                "mad": result.summary.mad,
                "samples": pack_floats(result.samples),
                "process_medians": pack_floats(result.summary.process_medians),
                "metadata": dump_json(result.metadata),
            }
            for result in run.results
        ]
        # Plain executemany with one prepared statement: sqlite-utils' insert_all re-inspects
        # every value (jsonify_if_needed) and rebuilds the SQL per chunk; dropping it took the
        # store from ~110 to ~40 µs per result row here (toolkit.ingest_store).
        columns = list(rows[0]) if rows else []
        sql = f"INSERT INTO results ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        written = 0
        for start in range(0, len(rows), _CHUNK_ROWS):
            chunk = rows[start : start + _CHUNK_ROWS]
            self._db.conn.executemany(sql, [tuple(row.values()) for row in chunk])
            if pause_after is not None and written < int(pause_after) <= written + len(chunk):
                _pause_for_test(written + len(chunk))
            written += len(chunk)

    # --- queries ------------------------------------------------------------------------------

    @_guarded
    def runs(self) -> list[RunRecord]:
        """Every run, oldest first (by start time, or ingest time when the file had no date)."""
        return [
            run_record(row)
            for row in self._db.query(f"SELECT * FROM runs ORDER BY {_RUN_TIME}, runs.id")
        ]

    @_guarded
    def run(self, run_id: int) -> RunRecord:
        """The run with this id; UnknownRun if there is none."""
        rows = list(self._db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
        if not rows:
            raise UnknownRun(
                f"{self._path}: no run has id {run_id}; see the ids with "
                "`perfkit-report summary --run latest` or `perfkit-report baseline list`"
            )
        return run_record(rows[0])

    @_guarded
    def latest_run(self, branch: str | None = None) -> RunRecord | None:
        """The run that started last (ties: the one ingested last), of ``branch`` when given;
        None if there is none."""
        where, params = ("WHERE runs.branch = ? ", [branch]) if branch is not None else ("", [])
        rows = list(
            self._db.query(
                f"SELECT * FROM runs {where}ORDER BY {_RUN_TIME} DESC, runs.id DESC LIMIT 1",
                params,
            )
        )
        return run_record(rows[0]) if rows else None

    @_guarded
    def results(self, run_id: int) -> list[ResultRecord]:
        """The results of one run, in the order the file listed them."""
        return [
            result_record(row)
            for row in self._db.query(
                "SELECT * FROM results WHERE run_id = ? ORDER BY id", [run_id]
            )
        ]

    @_guarded
    def results_for(self, benchmark: str) -> list[ResultRecord]:
        """Every stored result of one benchmark id, oldest run first."""
        sql = (
            "SELECT results.* FROM results JOIN runs ON runs.id = results.run_id "
            f"WHERE results.benchmark = ? ORDER BY {_RUN_TIME}, runs.id"
        )
        return [result_record(row) for row in self._db.query(sql, [benchmark])]

    # --- what the reports read ----------------------------------------------------------------

    @_guarded
    def run_headers(self) -> list[RunHeader]:
        """Every run's id, times, commit, branch, fingerprint, mode and dirty flag (no order)."""
        return [
            RunHeader(
                id=int(row["id"]),
                started=row["started"],
                ingested_at=row["ingested_at"],
                commit_sha=row["commit_sha"],
                branch=row["branch"],
                fingerprint=_lenient_object(row["fingerprint"]),
                mode=row["mode"],
                dirty=None if row["dirty"] is None else bool(row["dirty"]),
            )
            for row in self._db.query(
                "SELECT id, started, ingested_at, commit_sha, branch, fingerprint, mode, dirty "
                "FROM runs"
            )
        ]

    @_guarded
    def result_rows(self, run_ids: Sequence[int] | None = None) -> list[ResultRow]:
        """The summary columns of every result (of the runs ``run_ids`` when given), by
        benchmark and then in run order; no raw samples."""
        where, params = "", list(run_ids or ())
        if run_ids is not None:
            where = f"WHERE r.run_id IN ({', '.join('?' * len(params))}) "
        sql = (
            "SELECT r.benchmark, r.run_id, r.metric, r.unit, r.target, r.suite, r.median, r.p5, "
            f"r.p95 FROM results r JOIN runs ON runs.id = r.run_id {where}ORDER BY r.benchmark, "
            f"{_RUN_TIME}, runs.id"
        )
        return [
            ResultRow(
                benchmark=row[0],
                run_id=row[1],
                metric=row[2],
                unit=row[3],
                target=row[4],
                suite=row[5],
                median=as_float(row[6]),
                p5=as_float(row[7]),
                p95=as_float(row[8]),
            )
            for row in self._db.execute(sql, params).fetchall()
        ]

    @_guarded
    def references(self, run_id: int) -> dict[str, str]:
        """benchmark -> the reference benchmark it names (``perfkit_reference``) in one run."""
        rows = self._db.execute(
            "SELECT benchmark, json_extract(metadata, '$.perfkit_reference') FROM results "
            "WHERE run_id = ? AND json_valid(metadata)",
            [run_id],
        ).fetchall()
        return {str(row[0]): str(row[1]) for row in rows if row[1]}

    @_guarded
    def verdicts(self, run_id: int) -> tuple[VerdictRecord, ...]:
        """The regression gate's verdicts recorded for a (head) run, by benchmark."""
        return load_verdicts(self._db, run_id)

    # --- baselines ----------------------------------------------------------------------------

    def pin_baseline(self, name: str, run_id: int, note: str | None = None) -> Baseline:
        """Point baseline ``name`` at a run (creating or moving it) and pin that run."""
        return self.set_baseline(name, run_id, note=note)

    def set_baseline(
        self,
        name: str,
        run_id: int,
        *,
        note: str | None = None,
        branch: str | None = None,
        pinned: bool = True,
    ) -> Baseline:
        """Point baseline ``name`` at a run (creating or moving it), recording the branch it
        tracks; pinned (the default) keeps the run's raw samples through every prune."""
        if not name.strip():
            raise InputError("a baseline name cannot be empty; pass a name such as main")
        with self._writing("setting a baseline"):
            self.run(run_id)
            self._db.execute(
                "INSERT INTO baselines (name, run_id, pinned, created, note, branch) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "run_id = excluded.run_id, pinned = excluded.pinned, "
                "created = excluded.created, note = excluded.note, branch = excluded.branch",
                [name, run_id, int(pinned), format_timestamp(now_utc()), note, branch],
            )
        return self.baseline(name)

    def set_baseline_pinned(self, name: str, pinned: bool) -> Baseline:
        """Pin or unpin baseline ``name``; UnknownBaseline if there is none. An unpinned
        baseline's run is pruned like any other (the baseline keeps pointing at it)."""
        with self._writing("pinning a baseline"):
            self.baseline(name)
            self._db.execute("UPDATE baselines SET pinned = ? WHERE name = ?", [int(pinned), name])
        return self.baseline(name)

    def delete_baseline(self, name: str) -> Baseline:
        """Delete baseline ``name`` (its run stays) and return what it was; UnknownBaseline if
        there is none."""
        with self._writing("deleting a baseline"):
            baseline = self.baseline(name)
            self._db.execute("DELETE FROM baselines WHERE name = ?", [name])
        return baseline

    @_guarded
    def baseline(self, name: str) -> Baseline:
        """The baseline called ``name``; UnknownBaseline if there is none."""
        rows = list(self._db.query("SELECT * FROM baselines WHERE name = ?", [name]))
        if not rows:
            known = ", ".join(b.name for b in self.baselines()) or "none yet"
            raise UnknownBaseline(
                f"{self._path}: no baseline is called {name!r} (known: {known}); see "
                f"`perfkit-report baseline list`, or create it with "
                f"`perfkit-report baseline set {name} --run ID`"
            )
        return baseline_record(rows[0])

    @_guarded
    def baselines(self, branch: str | None = None) -> list[Baseline]:
        """Every baseline (tracking ``branch`` when given), by name."""
        where, params = ("WHERE branch = ? ", [branch]) if branch is not None else ("", [])
        return [
            baseline_record(row)
            for row in self._db.query(f"SELECT * FROM baselines {where}ORDER BY name", params)
        ]

    # --- retention ----------------------------------------------------------------------------

    def prune(self, days: float = 90, now: datetime | None = None) -> PruneResult:
        """Drop raw samples of runs older than ``days`` (after writing their daily summaries),
        keeping pinned baselines intact; one transaction."""
        self._check_before_writing()
        with _translated_errors(self._path):
            return prune_history(self._db, days, now if now is not None else now_utc())

    # --- profiles -----------------------------------------------------------------------------

    def ingest_profiles(self, folders: Sequence[str | Path]) -> list[ProfileIngestResult]:
        """Read every capture folder's summary.json (all validated first), then store them in one
        transaction; re-ingesting a folder changes nothing."""
        captures = [read_profile_summary(folder) for folder in folders]
        self._check_before_writing()
        with _translated_errors(self._path):
            return store_profiles(self._db, captures, str(self._path))

    def profiles(self) -> list[ProfileRecord]:
        """Every stored profile capture, newest first."""
        with _translated_errors(self._path):
            return load_profiles(self._db)

    # --- the file -----------------------------------------------------------------------------

    def to_single_file(self) -> None:
        """Write the WAL back into the database file and leave WAL mode, so the file alone holds
        the history (to copy or rename it while closed). The next ``open`` returns to WAL."""
        self._check_before_writing()
        with _translated_errors(self._path):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("PRAGMA journal_mode = DELETE")


def _configured(conn: sqlite3.Connection, where: Path, busy_timeout: float) -> Database:
    """The store's connection settings (module docstring), WAL, and the schema brought up to
    date."""
    deadline = time.monotonic() + busy_timeout
    with _translated_errors(where):
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
    while True:
        try:
            with _translated_errors(where):
                db.enable_wal()
                apply_migrations(db, str(where))
            return db
        except StoreBusy:
            # Several processes creating one history race for the switch to WAL, which needs
            # the file to themselves: SQLite answers "locked" at once instead of waiting, so
            # wait here, within the same busy timeout.
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


@contextmanager
def _translated_errors(where: Path) -> Iterator[None]:
    """Turn sqlite3's errors about the file itself into the package's errors."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise StoreBusy(
                f"{where}: the history database stayed locked by another process past the busy "
                "timeout; retry when the other ingest/prune has finished"
            ) from exc
        raise StoreError(f"{where}: {text}; check the file and its directory") from exc
    except sqlite3.DatabaseError as exc:
        if type(exc) is not sqlite3.DatabaseError:
            raise  # IntegrityError & co: a bug or a trigger, not a damaged file
        raise damaged(where, exc) from exc


def _pause_for_test(rows: int) -> None:
    sys.stderr.write(
        f"perfkit-report: test pause inside the ingest transaction after {rows} rows\n"
    )
    sys.stderr.flush()
    time.sleep(float(os.environ.get(_PAUSE_SECONDS_ENV, "60")))


def _lenient_object(text: str | None) -> dict[str, Any]:
    """A JSON object column as a dict; empty when the text is not one (a damaged row)."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
