"""history.db's schema: created and evolved only by the named migrations listed here.

Each migration is ``(name, function)``; ``MIGRATIONS`` is append-only and ordered. Opening a
history applies the missing ones in order, each in its own immediate transaction together with
its row in ``migrations(name, applied_at)``, so a migration is either fully applied and recorded
or not at all. A history that records a name this list does not know was written by a newer
perfkit-report: it is refused (``SchemaTooNew``) rather than misread.

Rules for adding one: append, never edit or reorder a released migration (databases in the field
already ran it); name it ``NNNN_what_it_does``; write plain SQL. The DDL is spelled out rather
than generated with sqlite-utils' ``create()`` so a migration is a frozen record: its column
types, constraints and ``ON DELETE`` actions cannot change when a library's defaults do.

History (dated, like pyperf's format versions):

- ``0001_initial`` (2026-11): runs, results, baselines, verdicts, profiles, daily_summaries.
- ``0002_regression_gate`` (2026-11): ``checks`` (one row per regression-gate check), the
  verdict columns the gate reports (check, MDE, sample sizes, pairing, test, threshold,
  direction), ``baselines.branch`` (per-branch baselines) and ``evaluations`` (the gate's
  measured false-alarm rate and power).
- ``0003_packed_samples`` (2026-11): ``results.samples`` and ``results.process_medians`` hold
  packed little-endian float64 BLOBs instead of JSON text (layout: ``_packed``); existing rows are
  converted. The columns keep their declared type (TEXT: SQLite stores a BLOB as given there, and
  re-declaring means rebuilding the table).
- ``0004_results_per_metric`` (2026-12): a run may hold one benchmark in several metrics
  (``perfkit-bench run`` records ``cpu_time`` beside ``time``): ``results`` is rebuilt with
  ``UNIQUE (run_id, benchmark, metric)`` instead of ``UNIQUE (run_id, benchmark)``; rows, ids and
  the index are kept.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from perfkit_report._exceptions import SchemaTooNew, StoreCorrupt
from perfkit_report._history._packed import pack_floats
from perfkit_report._history._timestamps import format_timestamp, now_utc
from perfkit_report._history._transaction import write_transaction

__all__ = ["MIGRATIONS", "Migration", "applied_migrations", "apply_migrations", "refuse_unknown"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One named schema step."""

    name: str
    apply: Callable[[Database], None]


_MIGRATIONS_TABLE = """
CREATE TABLE migrations (
    name       TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
)
"""

_INITIAL = (
    # One row per ingested result file. run_key is the identity that makes re-ingest a no-op:
    # perfkit_run_id for perfkit's own files, sha256 of the (decompressed) bytes otherwise.
    """
    CREATE TABLE runs (
        id            INTEGER PRIMARY KEY,
        run_key       TEXT NOT NULL UNIQUE,
        source        TEXT NOT NULL,
        started       TEXT,
        finished      TEXT,
        commit_sha    TEXT,
        branch        TEXT,
        dirty         INTEGER CHECK (dirty IN (0, 1)),
        mode          TEXT,
        fingerprint   TEXT NOT NULL DEFAULT '{}',
        tool_versions TEXT NOT NULL DEFAULT '{}',
        failed        TEXT NOT NULL DEFAULT '[]',
        status        TEXT NOT NULL CHECK (status IN ('ok', 'partial')),
        ingested_at   TEXT NOT NULL
    )
    """,
    "CREATE INDEX idx_runs_started ON runs (started)",
    # One row per benchmark per run. samples and process_medians become NULL when pruned; the
    # summary statistics stay forever.
    """
    CREATE TABLE results (
        id              INTEGER PRIMARY KEY,
        run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        benchmark       TEXT NOT NULL,
        metric          TEXT NOT NULL,
        unit            TEXT NOT NULL,
        target          TEXT,
        suite           TEXT NOT NULL,
        n               INTEGER NOT NULL,
        median          REAL NOT NULL,
        mean            REAL NOT NULL,
        stdev           REAL,
        min             REAL NOT NULL,
        max             REAL NOT NULL,
        p5              REAL NOT NULL,
        p95             REAL NOT NULL,
        mad             REAL NOT NULL,
        samples         TEXT,
        process_medians TEXT,
        metadata        TEXT NOT NULL DEFAULT '{}',
        UNIQUE (run_id, benchmark)
    )
    """,
    # "results of benchmark X over time"; UNIQUE (run_id, benchmark) already indexes run_id
    # for the cascade.
    "CREATE INDEX idx_results_benchmark_run ON results (benchmark, run_id)",
    # A pinned baseline keeps its run's raw samples through every prune. No ON DELETE action:
    # deleting a run that a baseline names fails until the baseline is moved.
    """
    CREATE TABLE baselines (
        name    TEXT PRIMARY KEY,
        run_id  INTEGER NOT NULL REFERENCES runs (id),
        pinned  INTEGER NOT NULL DEFAULT 1 CHECK (pinned IN (0, 1)),
        created TEXT NOT NULL,
        note    TEXT
    )
    """,
    "CREATE INDEX idx_baselines_run ON baselines (run_id)",
    # Filled by the regression gate (later work).
    """
    CREATE TABLE verdicts (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        base_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        benchmark   TEXT NOT NULL,
        channel     TEXT,
        effect      REAL,
        ci_low      REAL,
        ci_high     REAL,
        p           REAL,
        q           REAL,
        verdict     TEXT,
        severity    TEXT
    )
    """,
    "CREATE INDEX idx_verdicts_run ON verdicts (run_id, benchmark)",
    "CREATE INDEX idx_verdicts_base_run ON verdicts (base_run_id)",
    # Filled when profiles are ingested (later work).
    """
    CREATE TABLE profiles (
        id       INTEGER PRIMARY KEY,
        run_id   INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        target   TEXT,
        captured TEXT,
        path     TEXT NOT NULL,
        summary  TEXT NOT NULL DEFAULT '{}'
    )
    """,
    "CREATE INDEX idx_profiles_run ON profiles (run_id)",
    "CREATE INDEX idx_profiles_target ON profiles (target, captured)",
    # Written by prune before raw samples go: the long-trend record (day in UTC).
    """
    CREATE TABLE daily_summaries (
        day       TEXT NOT NULL,
        benchmark TEXT NOT NULL,
        unit      TEXT NOT NULL,
        n_runs    INTEGER NOT NULL,
        median    REAL NOT NULL,
        min       REAL NOT NULL,
        max       REAL NOT NULL,
        PRIMARY KEY (day, benchmark)
    )
    """,
)


def _initial(db: Database) -> None:
    for statement in _INITIAL:
        db.execute(statement)


_REGRESSION_GATE = (
    # One row per check of the regression gate (paired A/B, against a baseline, or two files).
    # Its verdicts point back here; outcome is pass / fail / error, exit_code what the gate
    # returned. settings holds the detector's knobs (alpha, resamples, seed, fail_on) as JSON.
    """
    CREATE TABLE checks (
        id           INTEGER PRIMARY KEY,
        created      TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('ab', 'baseline', 'files')),
        base_run_id  INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        head_run_id  INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        base_label   TEXT,
        head_label   TEXT,
        base_commit  TEXT,
        head_commit  TEXT,
        baseline     TEXT,
        outcome      TEXT NOT NULL,
        exit_code    INTEGER NOT NULL,
        settings     TEXT NOT NULL DEFAULT '{}',
        markdown     TEXT,
        json_path    TEXT
    )
    """,
    "CREATE INDEX idx_checks_created ON checks (created)",
    "ALTER TABLE verdicts ADD COLUMN check_id INTEGER REFERENCES checks (id) ON DELETE CASCADE",
    "ALTER TABLE verdicts ADD COLUMN mde_percent REAL",
    "ALTER TABLE verdicts ADD COLUMN n_base INTEGER",
    "ALTER TABLE verdicts ADD COLUMN n_head INTEGER",
    "ALTER TABLE verdicts ADD COLUMN paired INTEGER CHECK (paired IN (0, 1))",
    "ALTER TABLE verdicts ADD COLUMN test TEXT",
    "ALTER TABLE verdicts ADD COLUMN threshold REAL",
    "ALTER TABLE verdicts ADD COLUMN direction TEXT",
    "CREATE INDEX idx_verdicts_check ON verdicts (check_id)",
    # Baselines may track a branch: `baseline set main --branch main` takes that branch's latest
    # run, and the gate finds a branch's baseline by this column.
    "ALTER TABLE baselines ADD COLUMN branch TEXT",
    # The gate's own evaluation (A/A false alarms, power under injected slowdowns). One row per
    # (evaluation, method, injected percent); details holds the per-benchmark figures as JSON.
    """
    CREATE TABLE evaluations (
        id               INTEGER PRIMARY KEY,
        evaluation       TEXT NOT NULL,
        created          TEXT NOT NULL,
        method           TEXT NOT NULL,
        injected_percent REAL NOT NULL,
        checks           INTEGER NOT NULL,
        pairs_per_check  INTEGER NOT NULL,
        benchmarks       INTEGER NOT NULL,
        flagged_checks   INTEGER NOT NULL,
        rate             REAL NOT NULL,
        details          TEXT NOT NULL DEFAULT '{}'
    )
    """,
    "CREATE INDEX idx_evaluations_evaluation ON evaluations (evaluation)",
)


def _regression_gate(db: Database) -> None:
    for statement in _REGRESSION_GATE:
        db.execute(statement)


# Rows converted per statement batch by 0003: bounds the memory a long history's conversion takes
# (2000 rows of 60 values are ~3 MB of JSON text) while keeping the statements few.
_PACK_BATCH_ROWS = 2000


def _packed_samples(db: Database) -> None:
    """JSON text -> packed BLOBs in ``results.samples`` and ``results.process_medians``.

    The values are converted exactly as stored, NaN and infinities included (the JSON reader
    accepted them, so the readers saw them). A text that is not a JSON list of numbers (a
    hand-damaged row) is left as it is: the readers still read text as JSON, so such a row behaves
    as it did before; refusing to open the history over it would be worse.
    """
    last_id = 0
    while True:
        rows = db.execute(
            "SELECT id, samples, process_medians FROM results WHERE id > ? AND "
            "(typeof(samples) = 'text' OR typeof(process_medians) = 'text') ORDER BY id LIMIT ?",
            [last_id, _PACK_BATCH_ROWS],
        ).fetchall()
        if not rows:
            return
        db.conn.executemany(
            "UPDATE results SET samples = ?, process_medians = ? WHERE id = ?",
            [(_repacked(samples), _repacked(medians), row_id) for row_id, samples, medians in rows],
        )
        last_id = rows[-1][0]


def _repacked(value: object) -> object:
    """A JSON list of numbers as a packed BLOB; anything else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        numbers = json.loads(value)
    except ValueError:
        return value
    if type(numbers) is not list or not all(type(item) in (int, float) for item in numbers):
        return value
    try:
        return pack_floats(numbers, allow_nan=True)
    except (OverflowError, struct.error):  # an integer beyond the float range
        return value


_RESULTS_PER_METRIC = (
    """
    CREATE TABLE results_0004 (
        id              INTEGER PRIMARY KEY,
        run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        benchmark       TEXT NOT NULL,
        metric          TEXT NOT NULL,
        unit            TEXT NOT NULL,
        target          TEXT,
        suite           TEXT NOT NULL,
        n               INTEGER NOT NULL,
        median          REAL NOT NULL,
        mean            REAL NOT NULL,
        stdev           REAL,
        min             REAL NOT NULL,
        max             REAL NOT NULL,
        p5              REAL NOT NULL,
        p95             REAL NOT NULL,
        mad             REAL NOT NULL,
        samples         TEXT,
        process_medians TEXT,
        metadata        TEXT NOT NULL DEFAULT '{}',
        UNIQUE (run_id, benchmark, metric)
    )
    """,
    "INSERT INTO results_0004 SELECT id, run_id, benchmark, metric, unit, target, suite, n, "
    "median, mean, stdev, min, max, p5, p95, mad, samples, process_medians, metadata FROM results",
    "DROP TABLE results",
    "ALTER TABLE results_0004 RENAME TO results",
    "CREATE INDEX idx_results_benchmark_run ON results (benchmark, run_id)",
)


def _results_per_metric(db: Database) -> None:
    # No table references results (id), so the rebuild needs no foreign-key dance.
    for statement in _RESULTS_PER_METRIC:
        db.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_initial", _initial),
    Migration("0002_regression_gate", _regression_gate),
    Migration("0003_packed_samples", _packed_samples),
    Migration("0004_results_per_metric", _results_per_metric),
)


def applied_migrations(db: Database) -> list[str]:
    """Names recorded in the ``migrations`` table, oldest first; empty if there is no table."""
    if not db["migrations"].exists():
        return []
    return [
        str(row["name"])
        for row in db.query("SELECT name FROM migrations ORDER BY applied_at, rowid")
    ]


def apply_migrations(
    db: Database, where: str, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Bring the schema up to date; return the names applied now (empty when it was current).

    ``where`` names the database in error messages.
    """
    known = [migration.name for migration in migrations]
    applied = applied_migrations(db)
    refuse_unknown(applied, known, where)
    if set(known) <= set(applied):
        # The common case takes no write lock, so readers never queue behind writers.
        return []

    with write_transaction(db, f"migrating {where}"):
        if not db["migrations"].exists():
            tables = [name for name in db.table_names() if not name.startswith("sqlite_")]
            if tables:
                raise StoreCorrupt(
                    f"{where} is a SQLite database but not a perfkit-report history (it has "
                    f"tables {', '.join(sorted(tables))} and no migrations table); "
                    "pass --db with a new or existing history file"
                )
            db.execute(_MIGRATIONS_TABLE)

    done: list[str] = []
    for migration in migrations:
        # Each migration in its own transaction; re-check inside it, since another process
        # may have applied it since we looked.
        with write_transaction(db, f"migrating {where}"):
            current = applied_migrations(db)
            refuse_unknown(current, known, where)
            if migration.name in current:
                continue
            migration.apply(db)
            db.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                [migration.name, format_timestamp(now_utc())],
            )
            done.append(migration.name)
    return done


def refuse_unknown(applied: Sequence[str], known: Sequence[str], where: str) -> None:
    """SchemaTooNew when ``applied`` names a migration this version does not know."""
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise SchemaTooNew(
            f"{where} was written by a newer perfkit-report: it records migration(s) "
            f"{', '.join(unknown)} that this version does not know; upgrade perfkit-report "
            "(pip install -U perfkit-report) to read it"
        )
