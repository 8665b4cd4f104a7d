"""An A/B session's out-dir: what an earlier session left there (``--append``), and the files
this session writes: ``base.json`` / ``head.json`` (pyperf suites, one run per worker process in
pair order) and ``ab.json`` (the manifest, ``AB_VERSION``). Every file is replaced atomically."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perfkit_bench._ab._model import (
    AB_VERSION,
    MANIFEST,
    SIDES,
    ABFailure,
    ABOptions,
    Entry,
    Side,
    SideName,
)
from perfkit_bench._exceptions import OutputExistsError, UsageError
from perfkit_bench._fingerprint import Fingerprint
from perfkit_bench._plumbing import iso, perfkit_version, replace_atomically, run_metadata
from perfkit_bench._spec import MetadataValue

__all__ = ["OutDir"]


class OutDir:
    """The out-dir of one session. After :meth:`open`, ``seed`` is the session's seed and
    ``earlier`` / ``results`` hold what earlier sessions wrote (empty without ``--append``);
    the session adds its pairs to ``results``."""

    def __init__(self, path: Path, sides: dict[SideName, Side], options: ABOptions) -> None:
        self.path = path
        self.sides = sides
        self.options = options
        self.seed = 0
        self.earlier: dict[str, Any] = {}
        self.results: dict[SideName, dict[str, Any]] = {"base": {}, "head": {}}

    # -- opening ------------------------------------------------------------------------------

    def open(self) -> None:
        """Refuse to overwrite an earlier session, or (``--append``) take its seed and files
        after checking that this session measures the same way."""
        if self.options.append:
            self._open_appending()
        else:
            self._open_new()

    def _open_new(self) -> None:
        existing = [
            name for name in (MANIFEST, "base.json", "head.json") if (self.path / name).exists()
        ]
        if existing:
            raise OutputExistsError(
                f"{self.path} already holds an A/B run ({', '.join(existing)}); pass "
                "--append to add pairs to it, or remove it or choose another --out-dir"
            )
        self.seed = self.options.seed if self.options.seed is not None else _random_seed()

    def _open_appending(self) -> None:
        data = self._read_manifest()
        if self.options.seed is not None and self.options.seed != self.seed:
            raise UsageError(
                f"--append: {self.path} was made with --seed {self.seed}; pass that seed or none"
            )
        self._check_same_sides(data)
        self.earlier = data
        import pyperf

        for name in SIDES:
            path = self.path / f"{name}.json"
            if path.exists():
                for bench in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks():
                    self.results[name][str(bench.get_name())] = bench

    def _read_manifest(self) -> dict[str, Any]:
        manifest = self.path / MANIFEST
        if not manifest.exists():
            raise UsageError(
                f"--append: {self.path} holds no {MANIFEST}; run without --append first"
            )
        try:
            data: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
            if data.get("version") != AB_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {AB_VERSION}")
            self.seed = int(data["seed"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"--append: {manifest} is not an ab.json this version can extend ({exc}); "
                "start a new --out-dir"
            ) from None
        return data

    def _check_same_sides(self, data: dict[str, Any]) -> None:
        recorded = {
            name: {
                key: data.get("sides", {}).get(name, {}).get(key) for key in ("python", "suites")
            }
            for name in SIDES
        }
        current = {
            name: {"python": str(side.python), "suites": str(side.suites)}
            for name, side in self.sides.items()
        }
        if data.get("settings") != self.options.settings() or recorded != current:
            raise UsageError(
                f"--append: {self.path} was made with other sides or settings "
                f"({json.dumps(data.get('settings'))}); use the options of its first session, "
                "or a new --out-dir"
            )

    # -- writing ------------------------------------------------------------------------------

    def all_failures(self, failures: Sequence[ABFailure]) -> list[dict[str, Any]]:
        """Earlier sessions' failures, then this session's."""
        return [*self.earlier.get("failures", []), *(f.as_json() for f in failures)]

    def write_results(
        self,
        fingerprints: dict[SideName, Fingerprint],
        failures: Sequence[ABFailure],
        started: dt.datetime,
    ) -> dict[str, Path]:
        """base.json and head.json, each with the run metadata of its side; the paths written."""
        import pyperf

        finished = dt.datetime.now(dt.UTC)
        everything = self.all_failures(failures)
        files: dict[str, Path] = {}
        for side in SIDES:
            benches = list(self.results[side].values())
            if not benches:
                continue
            metadata: dict[str, MetadataValue] = {
                # A new id whenever the file is written: an appended file is a new result.
                **run_metadata(
                    run_id=uuid.uuid4().hex,
                    mode="ab",
                    started=str(self.earlier.get("started") or iso(started)),
                    finished=finished,
                    fingerprint=fingerprints[side],
                    failed=[
                        {"id": f["id"], "kind": f["kind"], "error": f["error"]}
                        for f in everything
                        if f["side"] == side
                    ],
                ),
                "perfkit_ab_side": side,
                "perfkit_ab_seed": self.seed,
            }
            for bench in benches:
                bench.update_metadata({**metadata, **self._benchmark_metadata(side, bench)})
            path = self.path / f"{side}.json"
            _dump(pyperf.BenchmarkSuite(benches), path)
            files[side] = path
        return files

    def _benchmark_metadata(self, side: SideName, bench: Any) -> dict[str, MetadataValue]:
        extra: dict[str, MetadataValue] = {"perfkit_ab_pairs": len(bench.get_runs())}
        if side == "head" and self.options.inject_head:
            # What the busy-wait reached: time workloads, not sampled metrics.
            timed = bench.get_metadata().get("perfkit_kind") == "time"
            extra["perfkit_injected_percent"] = self.options.inject_head if timed else 0.0
        return extra

    def write_manifest(
        self,
        entries: Sequence[Entry],
        fingerprints: dict[SideName, Fingerprint],
        files: dict[str, Path],
        session: dict[str, Any],
        failures: Sequence[ABFailure],
    ) -> None:
        """ab.json: the earlier sessions' record with this ``session`` and ``entries`` added."""
        sessions = [*self.earlier.get("sessions", []), session]
        manifest = {
            "version": AB_VERSION,
            "perfkit_version": perfkit_version(),
            "seed": self.seed,
            "settings": self.options.settings(),
            "sides": self._sides_json(fingerprints),
            "started": self.earlier.get("started") or session["started"],
            "finished": session["finished"],
            "duration": round(sum(float(s["duration"]) for s in sessions), 3),
            "sessions": sessions,
            "files": {
                side: (
                    files[side].name if side in files else self.earlier.get("files", {}).get(side)
                )
                for side in SIDES
            },
            "benchmarks": self._benchmarks_json(entries),
            "failures": self.all_failures(failures),
        }
        text = json.dumps(manifest, indent=2) + "\n"
        replace_atomically(
            self.path / MANIFEST, lambda partial: partial.write_text(text, encoding="utf-8")
        )

    def _sides_json(self, fingerprints: dict[SideName, Fingerprint]) -> dict[str, Any]:
        return {
            name: {
                "python": str(side.python),
                "suites": str(side.suites),
                "commit": fingerprints[name].commit or None,
                "branch": fingerprints[name].branch or None,
                "dirty": fingerprints[name].dirty,
                "python_version": fingerprints[name].python,
                "libraries": fingerprints[name].libraries,
            }
            for name, side in self.sides.items()
        }

    def _benchmarks_json(self, entries: Sequence[Entry]) -> dict[str, Any]:
        benchmarks = dict(self.earlier.get("benchmarks", {}))
        for entry in entries:
            benchmarks[entry.id] = {
                "sides": list(entry.sides),
                "kind": entry.spec.kind,
                "mode": entry.mode(self.options),
                "pairs": entry.pairs,
                "orders": entry.orders,
                "loops": entry.loops,
                "calibrated_on": entry.calibrated_on,
                "calibration_seconds_per_op": entry.seconds_per_op,
                "slices": entry.slices,
                "seconds": round(entry.seconds, 3),
            }
        return benchmarks


def _dump(suite: Any, path: Path) -> None:
    replace_atomically(path, lambda partial: suite.dump(str(partial), replace=True))


def _random_seed() -> int:
    # 31 bits: readable on a command line and an int in every JSON reader.
    return secrets.randbelow(2**31)
