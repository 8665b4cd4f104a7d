"""Profile captures: reading perfkit-profile's ``summary.json`` and the ``profiles`` table.

perfkit-profile writes one folder per capture, ``profiles/<date>-<commit>-<target>/``, holding the
profilers' own files and a ``summary.json`` (documented in docs/report.md). This module reads that
file (never writes it: it belongs to perfkit-profile), stores one row per folder in history.db's
``profiles`` table, and reads the rows back for the reports, checking that the files a summary
names still exist.

Summary versions this module reads (``"version"`` in the file):

- 1 (2026-11): target, workload, captured, commit, branch, duration_s, tools, peak_memory_bytes,
  allocations, top_cpu, top_alloc, files, errors. Keys it does not know are ignored, so
  perfkit-profile can add fields without a new version.
- 2 (2026-12): version 1's keys with the same meaning, plus py-spy's ``top_frames_self`` and
  ``top_frames_total`` (functions by self and total samples, each with ``self_percent`` and
  ``total_percent``; read as ``top_frames``, ordered by self time) and the files
  ``pyspy_flamegraph`` and ``pyspy_folded``. A version 1 summary reads with no frames.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from perfkit_report._exceptions import ProfileSummaryError
from perfkit_report._history._contract import dump_json
from perfkit_report._history._timestamps import format_timestamp, parse_timestamp
from perfkit_report._history._transaction import write_transaction
from perfkit_report._input import parse_json, read_input, utf8_text

__all__ = [
    "PROFILE_SUMMARY_VERSION",
    "Hotspot",
    "ProfileCapture",
    "ProfileIngestResult",
    "ProfileRecord",
    "load_profiles",
    "parse_profile_summary",
    "read_profile_summary",
    "store_profiles",
]

PROFILE_SUMMARY_VERSION = 2
READABLE_PROFILE_SUMMARY_VERSIONS = (1, 2)
SUMMARY_NAME = "summary.json"


@dataclass(frozen=True, slots=True)
class Hotspot:
    """One function from a profile's top list (CPU share or allocated bytes)."""

    function: str
    file: str
    line: int | None
    cpu_percent: float | None = None
    """scalene's CPU share, or py-spy's self share (% of samples) for a frame."""
    bytes: float | None = None
    count: int | None = None
    total_percent: float | None = None
    """py-spy frames: share of the samples with the function anywhere on the stack."""

    @property
    def where(self) -> str:
        """``file:line`` (or just the file)."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True, slots=True)
class ProfileCapture:
    """A validated summary.json and the folder it came from."""

    folder: str
    """Absolute path of the capture folder."""
    target: str
    captured: str
    """ISO 8601 UTC, history.db's timestamp format."""
    workload: str | None
    commit: str | None
    branch: str | None
    duration_s: float | None
    tools: Mapping[str, str]
    peak_memory_bytes: int | None
    allocations: int | None
    top_cpu: tuple[Hotspot, ...]
    top_alloc: tuple[Hotspot, ...]
    top_frames: tuple[Hotspot, ...]
    """py-spy's functions by self time (summary version 2; empty before)."""
    files: Mapping[str, str]
    """Role (scalene_json, memray_flamegraph, ...) -> path relative to the folder."""
    errors: tuple[str, ...]
    document: Mapping[str, Any]
    """The file's JSON object as read (unknown keys included), stored as the row's summary."""

    def file_path(self, role: str) -> Path:
        """Absolute path of the file a role names."""
        return Path(self.folder) / self.files[role]

    def missing_files(self) -> list[str]:
        """Roles whose file does not exist (any more)."""
        return [role for role in self.files if not self.file_path(role).is_file()]


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    """One row of ``profiles`` with its summary parsed; ``capture`` is None when the stored
    summary cannot be read (``problem`` says why)."""

    id: int
    run_id: int | None
    target: str | None
    captured: str | None
    path: str
    capture: ProfileCapture | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileIngestResult:
    """What ``store_profiles`` did with one folder."""

    profile_id: int
    folder: str
    target: str
    run_id: int | None
    action: str
    """``added``, ``updated`` (the summary changed since) or ``unchanged``."""


def read_profile_summary(path: str | Path) -> ProfileCapture:
    """Read and validate ``DIR/summary.json`` (``path`` is the folder or the file itself)."""
    where = Path(path).absolute()
    folder = where.parent if where.is_file() else where
    summary = folder / SUMMARY_NAME
    if not folder.is_dir():
        raise ProfileSummaryError(
            f"{where}: no such profile folder; pass a folder written by perfkit-profile "
            "(profiles/<date>-<commit>-<target>/)"
        )
    if not summary.exists():
        raise ProfileSummaryError(
            f"{summary}: missing; pass a capture folder that perfkit-profile finished "
            "(it writes summary.json last)"
        )
    raw = read_input(summary, ProfileSummaryError, "check it")
    text = utf8_text(summary, raw, ProfileSummaryError, "re-run perfkit-profile")
    try:
        document = parse_json(str(summary), text, ProfileSummaryError, "re-run perfkit-profile")
    except ValueError as exc:
        raise ProfileSummaryError(
            f"{summary}: not valid JSON ({exc}); re-run perfkit-profile to rewrite it"
        ) from exc
    return parse_profile_summary(document, str(folder), str(summary))


def parse_profile_summary(document: Any, folder: str, source: str) -> ProfileCapture:
    """Validate a summary's JSON object; ``source`` names it in error messages."""
    if not isinstance(document, dict):
        raise ProfileSummaryError(f"{source}: not a JSON object; re-run perfkit-profile")
    version = document.get("version")
    if version not in READABLE_PROFILE_SUMMARY_VERSIONS or isinstance(version, bool):
        readable = " and ".join(map(str, READABLE_PROFILE_SUMMARY_VERSIONS))
        raise ProfileSummaryError(
            f"{source}: summary version {version!r} is not supported; this perfkit-report reads "
            f"versions {readable} (upgrade perfkit-report for newer captures)"
        )
    target = _text(source, document, "target", required=True)
    assert target is not None
    captured_text = _text(source, document, "captured", required=True)
    assert captured_text is not None
    try:
        captured = format_timestamp(parse_timestamp(captured_text))
    except ValueError:
        raise ProfileSummaryError(
            f"{source}: captured = {captured_text!r} is not ISO 8601; re-run perfkit-profile"
        ) from None
    files = document.get("files") or {}
    if not isinstance(files, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in files.items()
    ):
        raise ProfileSummaryError(
            f"{source}: files must map names to relative paths (strings); re-run perfkit-profile"
        )
    for role, relative in files.items():
        if Path(relative).is_absolute() or ".." in Path(relative).parts:
            raise ProfileSummaryError(
                f"{source}: files.{role} = {relative!r} leaves the capture folder; "
                "paths must be relative to it"
            )
    errors = document.get("errors") or []
    if not isinstance(errors, list):
        raise ProfileSummaryError(f"{source}: errors must be a list of strings")
    tools = document.get("tools") or {}
    if not isinstance(tools, dict):
        raise ProfileSummaryError(f"{source}: tools must map tool names to versions")
    return ProfileCapture(
        folder=folder,
        target=target,
        captured=captured,
        workload=_text(source, document, "workload"),
        commit=_text(source, document, "commit"),
        branch=_text(source, document, "branch"),
        duration_s=_number(source, document, "duration_s"),
        tools={str(name): str(value) for name, value in tools.items()},
        peak_memory_bytes=_integer(source, document, "peak_memory_bytes"),
        allocations=_integer(source, document, "allocations"),
        top_cpu=_hotspots(source, document, "top_cpu", ("cpu_percent",)),
        top_alloc=_hotspots(source, document, "top_alloc", ("bytes", "count")),
        top_frames=_hotspots(
            source, document, "top_frames_self", ("self_percent", "total_percent")
        ),
        files=dict(files),
        errors=tuple(str(error) for error in errors),
        document=document,
    )


def store_profiles(
    db: Database, captures: Sequence[ProfileCapture], where: str
) -> list[ProfileIngestResult]:
    """Store every capture in one transaction; a folder already stored with the same summary is
    left alone, one whose summary changed is updated. ``where`` names the db in errors."""
    results = []
    with write_transaction(db, f"storing profiles in {where}"):
        for capture in captures:
            summary = dump_json(capture.document)
            run_id = _run_for(db, capture)
            row = db.execute(
                "SELECT id, summary, run_id FROM profiles WHERE path = ? ORDER BY id LIMIT 1",
                [capture.folder],
            ).fetchone()
            if row is None:
                cursor = db.execute(
                    "INSERT INTO profiles (run_id, target, captured, path, summary) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [run_id, capture.target, capture.captured, capture.folder, summary],
                )
                profile_id, action = int(cursor.lastrowid or 0), "added"
            elif row[1] == summary and row[2] == run_id:
                profile_id, action = int(row[0]), "unchanged"
            else:
                db.execute(
                    "UPDATE profiles SET run_id = ?, target = ?, captured = ?, summary = ? "
                    "WHERE id = ?",
                    [run_id, capture.target, capture.captured, summary, row[0]],
                )
                profile_id, action = int(row[0]), "updated"
            results.append(
                ProfileIngestResult(profile_id, capture.folder, capture.target, run_id, action)
            )
    return results


def load_profiles(db: Database) -> list[ProfileRecord]:
    """Every stored profile, newest capture first; unreadable summaries say why."""
    records = []
    for row in db.query("SELECT * FROM profiles ORDER BY captured DESC, id DESC"):
        capture: ProfileCapture | None = None
        problem = None
        try:
            capture = parse_profile_summary(
                json.loads(row["summary"]), row["path"], f"profiles row {row['id']}"
            )
        except (ValueError, ProfileSummaryError) as exc:
            problem = f"its stored summary cannot be read ({exc}); re-ingest the folder"
        records.append(
            ProfileRecord(
                id=row["id"],
                run_id=row["run_id"],
                target=row["target"],
                captured=row["captured"],
                path=row["path"],
                capture=capture,
                problem=problem,
            )
        )
    return records


def _run_for(db: Database, capture: ProfileCapture) -> int | None:
    """The latest run measured at the capture's commit: the numbers the profile explains."""
    if not capture.commit:
        return None
    row = db.execute(
        "SELECT id FROM runs WHERE commit_sha = ? "
        "ORDER BY COALESCE(started, ingested_at) DESC, id DESC LIMIT 1",
        [capture.commit],
    ).fetchone()
    return int(row[0]) if row is not None else None


def _text(source: str, table: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None or value == "":
        if required:
            raise ProfileSummaryError(
                f"{source}: no {key}; re-run perfkit-profile (every summary names its {key})"
            )
        return None
    if not isinstance(value, str):
        raise ProfileSummaryError(f"{source}: {key} = {value!r} must be a string")
    return value


def _number(source: str, table: Mapping[str, Any], key: str) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProfileSummaryError(f"{source}: {key} = {value!r} must be a finite number or null")
    return float(value)


def _integer(source: str, table: Mapping[str, Any], key: str) -> int | None:
    value = _number(source, table, key)
    return None if value is None else int(value)


def _hotspots(
    source: str, document: Mapping[str, Any], key: str, numbers: tuple[str, ...]
) -> tuple[Hotspot, ...]:
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise ProfileSummaryError(f"{source}: {key} must be a list of objects")
    spots = []
    for index, entry in enumerate(entries):
        where = f"{key}[{index}]"
        if not isinstance(entry, dict):
            raise ProfileSummaryError(f"{source}: {where} must be an object")
        inner = f"{source}: {where}"
        function = _text(inner, entry, "function") or "?"
        file = _text(inner, entry, "file") or "?"
        line = _integer(inner, entry, "line")
        values = {name: _number(inner, entry, name) for name in numbers}
        count = values.get("count")
        spots.append(
            Hotspot(
                function=function,
                file=file,
                line=line,
                cpu_percent=values.get("cpu_percent", values.get("self_percent")),
                bytes=values.get("bytes"),
                count=None if count is None else int(count),
                total_percent=values.get("total_percent"),
            )
        )
    return tuple(spots)
