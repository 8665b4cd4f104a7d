"""ingest-profile: perfkit-profile's summary.json into the profiles table (validated first, one
transaction, idempotent), and the hotspots in the generated analysis."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History, ProfileSummaryError
from perfkit_report._history._profiles import read_profile_summary
from perfkit_report._render._report import render_report


def test_summary_is_read_and_unknown_keys_are_ignored(
    tmp_path: Path, profile_folder: Callable[..., Path]
) -> None:
    folder = profile_folder(tmp_path / "cap", new_field={"x": 1}, errors=["scalene: too short"])
    capture = read_profile_summary(folder / "summary.json")  # the file itself works too
    assert capture.folder == str(folder.absolute())
    assert (capture.target, capture.captured) == ("routing", "2026-11-20T10:00:00.000000+00:00")
    assert capture.top_cpu[0].function == "Router.route" and capture.top_cpu[0].cpu_percent == 31.5
    assert capture.top_alloc[0].bytes == 12_000_000 and capture.top_alloc[0].count == 4000
    assert capture.errors == ("scalene: too short",)
    assert capture.missing_files() == []
    assert capture.document["new_field"] == {"x": 1}


def test_ingest_is_one_transaction_and_idempotent(
    tmp_path: Path,
    run_cli: Callable[..., Any],
    profile_folder: Callable[..., Path],
    synthetic: Callable[..., Any],
    series_type: Any,
) -> None:
    synthetic(tmp_path / "history.db", [series_type("mt.a", [1e-6] * 2)])
    commit = f"{1:04d}{'c0ffee' * 6}"[:40]  # the second synthetic run's commit
    first = profile_folder(tmp_path / "profiles" / "a", commit=commit)
    second = profile_folder(tmp_path / "profiles" / "b", target="load")
    result = run_cli("ingest-profile", first, second)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("added: profile 1 (routing, run 2) from ")
    assert "added: profile 2 (load, no run at its commit)" in result.stdout
    again = run_cli("ingest-profile", first)
    assert again.stdout.startswith("unchanged: profile 1 (routing, run 2)")
    summary = json.loads((first / "summary.json").read_text())
    summary["peak_memory_bytes"] = 1
    (first / "summary.json").write_text(json.dumps(summary))
    assert run_cli("ingest-profile", first).stdout.startswith("updated: profile 1")
    with History.open(tmp_path / "history.db") as history:
        profiles = history.profiles()
    assert len(profiles) == 2
    stored = next(p for p in profiles if p.target == "routing")
    assert stored.capture is not None and stored.capture.peak_memory_bytes == 1


def _with(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda document: {**document, **changes}


def _without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda document: {k: v for k, v in document.items() if k != key}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda document: None, "summary.json: missing; pass a capture folder"),
        (lambda document: "{not json", "not valid JSON"),
        (lambda document: '{"version": 1, "x": NaN}', "not valid JSON"),
        (
            _with(version=3),
            "summary version 3 is not supported; this perfkit-report reads versions 1 and 2",
        ),
        (_without("target"), "no target; re-run perfkit-profile"),
        (_with(captured="yesterday"), "is not ISO 8601"),
        (_with(files={"x": "../../etc/passwd"}), "leaves the capture folder"),
        (_with(top_cpu=[{"function": 1}]), "top_cpu[0]: function = 1 must be a string"),
        (_with(duration_s="long"), "duration_s = 'long' must be a finite number"),
    ],
)
def test_bad_summaries_are_refused_and_nothing_is_written(
    tmp_path: Path,
    run_cli: Callable[..., Any],
    profile_folder: Callable[..., Path],
    state: Callable[[Path], Any],
    edit: Callable[[dict[str, Any]], Any],
    message: str,
) -> None:
    good = profile_folder(tmp_path / "good")
    bad = profile_folder(tmp_path / "bad")
    summary = bad / "summary.json"
    edited = edit(json.loads(summary.read_text()))
    if edited is None:
        summary.unlink()
    else:
        summary.write_text(edited if isinstance(edited, str) else json.dumps(edited))
    History.open(tmp_path / "history.db").close()
    before = state(tmp_path / "history.db")
    result = run_cli("ingest-profile", good, bad)
    assert result.returncode == 2, result.stdout
    (line,) = result.stderr.splitlines()
    assert message in line
    assert state(tmp_path / "history.db") == before


def test_not_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileSummaryError, match="no such profile folder"):
        read_profile_summary(tmp_path / "nope")


def test_hotspots_appear_in_the_analysis_and_recommendations(
    tmp_path: Path,
    synthetic: Callable[..., Any],
    series_type: Any,
    profile_folder: Callable[..., Path],
) -> None:
    from perfkit_report import parse_targets

    synthetic(tmp_path / "h.db", [series_type("mt.a", [2e-6] * 12, target="routing")])
    folder = profile_folder(tmp_path / "profiles" / "cap")
    targets = parse_targets('version = 1\n[[target]]\nid = "mt.a"\nmax = 1e-6\n', "t.toml")
    with History.open(tmp_path / "h.db") as history:
        history.ingest_profiles([folder])
        report = render_report(history, tmp_path / "out", targets)
    analysis = report.analysis.read_text(encoding="utf-8")
    assert "- target **routing**, captured 2026-11-20 10:00 UTC" in analysis
    assert "peak memory 45.8 MB, 120,000 allocations" in analysis
    assert "    - CPU 31.5 %: Router.route (perfkit\\_runtime/\\_router.py:120)" in analysis
    assert "    - allocated 11.4 MB in 4,000 allocations: Mailbox.put" in analysis
    assert (
        "**mt.a** (100 % over max 1.00 µs) has no step in its history, so the gap is in the "
        "design: start from Router.route (perfkit\\_runtime/\\_router.py:120), 31.5 % of CPU"
    ) in analysis


# py-spy's lists as perfkit-profile writes them in a version 2 summary (docs/profiling.md).
FRAMES = {
    "version": 2,
    "top_frames_self": [
        {
            "function": "SyncRef.tell",
            "file": "/venv/lib/python3.11/site-packages/perfkit_runtime/_ref.py",
            "line": 493,
            "self_samples": 366,
            "self_percent": 70.656,
            "total_samples": 421,
            "total_percent": 81.274,
        },
        {
            "function": "<b>hot|spot</b>",
            "file": "benchmarks/_common.py",
            "line": 43,
            "self_samples": 55,
            "self_percent": 10.618,
            "total_samples": 55,
            "total_percent": 10.618,
        },
    ],
    "top_frames_total": [],
    "pyspy": {"rate": 100, "native": False, "idle": False, "samples": 518},
}


def test_a_version_2_summary_reads_py_spys_frames(
    tmp_path: Path, profile_folder: Callable[..., Path]
) -> None:
    folder = profile_folder(tmp_path / "cap", **FRAMES)
    capture = read_profile_summary(folder)
    spot = capture.top_frames[0]
    assert (spot.function, spot.line) == ("SyncRef.tell", 493)
    assert (spot.cpu_percent, spot.total_percent) == (70.656, 81.274)
    assert capture.top_cpu[0].function == "Router.route"  # version 1's keys, as before
    old = read_profile_summary(profile_folder(tmp_path / "old"))
    assert old.top_frames == ()


def test_the_analysis_names_the_top_cpu_frames_of_the_latest_capture(
    tmp_path: Path,
    synthetic: Callable[..., Any],
    series_type: Any,
    profile_folder: Callable[..., Path],
) -> None:
    synthetic(tmp_path / "h.db", [series_type("mt.a", [2e-6] * 12, target="routing")])
    older = profile_folder(tmp_path / "profiles" / "old", captured="2026-11-19T10:00:00Z")
    latest = profile_folder(
        tmp_path / "profiles" / "new",
        files={
            "pyspy_flamegraph": "cpu.html",
            "scalene_html": "s.html",
            "memray_flamegraph": "m.html",
        },
        create=("cpu.html", "s.html", "m.html"),
        **FRAMES,
    )
    with History.open(tmp_path / "h.db") as history:
        history.ingest_profiles([older, latest])
        report = render_report(history, tmp_path / "out", None)
    analysis = report.analysis.read_text(encoding="utf-8")
    assert (
        "    - CPU frame (py-spy) self 70.7 %, total 81.3 %: SyncRef.tell "
        "(/venv/lib/python3.11/site-packages/perfkit\\_runtime/\\_ref.py:493)"
    ) in analysis
    assert "&lt;b&gt;hot\\|spot&lt;/b&gt;" in analysis  # escaped like every outside string
    assert "<b>hot" not in analysis
    # The pages first, named for people: the CPU flame graph beside scalene's and memray's.
    files = next(line for line in analysis.splitlines() if line.startswith("    - files: "))
    assert files.index("[CPU flame graph](") < files.index("[scalene](")
    assert files.index("[scalene](") < files.index("[memray peak memory](")
