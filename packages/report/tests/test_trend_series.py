"""Which series a trend reads, from real result files: 20 real perfkit-bench runs of unchanged
code under varying load (tests/data/trend_runs, record.sh says how they were made), CPU time
beside wall time, and runs of different modes."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History, read_result_file
from perfkit_report._render._dashboard import build_dashboard

RUNS = sorted((Path(__file__).parent / "data" / "trend_runs").glob("run-*.json.gz"))
MEASURED = "message_throughput.tell.asyncio"


def _store_real_runs(db: Path, *, own_commits: bool, step_from: int | None = None) -> None:
    """The 20 real runs; ``own_commits`` gives each its own commit (20 commits that did not
    change the measured code); ``step_from`` makes MEASURED 5 % slower from that run on."""
    with History.open(db) as history:
        for index, path in enumerate(RUNS):
            run = read_result_file(path)
            results = tuple(
                _slower(result, 1.05)
                if step_from is not None and index >= step_from and result.benchmark == MEASURED
                else result
                for result in run.results
            )
            commit = f"{index:040x}" if own_commits else run.commit_sha
            # Some runs were recorded with uncommitted changes in the checkout (the noxfile and
            # these files), none in the measured code: the same code in every run.
            history.store(dataclasses.replace(run, commit_sha=commit, dirty=False, results=results))


def _slower(result: Any, factor: float) -> Any:
    summary = result.summary
    scaled = dataclasses.replace(
        summary, median=summary.median * factor, p5=summary.p5 * factor, p95=summary.p95 * factor
    )
    return dataclasses.replace(result, summary=scaled)


def test_the_real_runs_are_twenty_of_one_commit_some_beside_a_busy_neighbour() -> None:
    runs = [read_result_file(path) for path in RUNS]
    assert len(runs) == 20
    assert len({run.commit_sha for run in runs}) == 1
    assert {run.mode for run in runs} == {"fast"}


def test_twenty_runs_of_unchanged_code_under_varying_load_raise_no_change_point(
    tmp_path: Path,
) -> None:
    _store_real_runs(tmp_path / "h.db", own_commits=True)
    with History.open(tmp_path / "h.db") as history:
        dashboard = build_dashboard(history, None)
    assert len(dashboard.benchmarks) == 5
    for view in dashboard.benchmarks:
        assert view.changes == (), view.id
        assert view.pending is None, view.id
        assert view.noise is not None and view.noise.sigma > 0.1  # load 5 on 2 cores: wall time
    assert all(view.drift is None or not view.drift.notable for view in dashboard.benchmarks)


def test_the_runs_of_their_one_commit_are_the_noise_estimate(tmp_path: Path) -> None:
    _store_real_runs(tmp_path / "h.db", own_commits=False)
    with History.open(tmp_path / "h.db") as history:
        dashboard = build_dashboard(history, None)
    for view in dashboard.benchmarks:
        assert view.changes == ()
        assert view.noise is not None
        assert "20 runs of 1 commit(s) measured more than once" in view.noise.source


def test_a_5_percent_step_inside_a_wider_noise_band_is_not_claimed(tmp_path: Path) -> None:
    """Wall time here spreads far more than 5 % from run to run: such a step cannot be told
    from the load, and the trend says nothing rather than guess (CPU time finds it: below)."""
    _store_real_runs(tmp_path / "h.db", own_commits=True, step_from=10)
    with History.open(tmp_path / "h.db") as history:
        view = next(v for v in build_dashboard(history, None).benchmarks if v.id == MEASURED)
    assert view.noise is not None and 2 * view.noise.sigma > 0.05
    assert view.changes == ()


def _cpu_history(
    perfkit_file: Callable[..., Path], make_bench: Any, step: float, seed: int
) -> list[Path]:
    """12 runs of one benchmark: wall time swinging with the load (+-40 %), CPU time steady
    (1 % noise) with a step of ``step`` from run 6 on, each run its own commit."""
    rng = random.Random(seed)
    files = []
    for index in range(12):
        wall = 1e-6 * (1.4 if index % 3 == 0 else 0.8) * (1 + rng.gauss(0, 0.05))
        cpu = 0.7e-6 * (step if index >= 6 else 1.0) * (1 + rng.gauss(0, 0.01))
        files.append(
            perfkit_file(
                benches=[
                    make_bench("x.tell", [[wall, wall * 1.01], [wall * 0.99, wall]]),
                    make_bench(
                        "x.tell.cpu_time",
                        [[cpu, cpu * 1.001], [cpu * 0.999, cpu]],
                        metadata={
                            "perfkit_metric": "cpu_time",
                            "perfkit_clock": "thread_time",
                            "perfkit_id": "x.tell",
                        },
                    ),
                ],
                commit=f"{index:040x}",
                started=f"2026-11-{index + 1:02d}T10:00:00+00:00",
                finished=f"2026-11-{index + 1:02d}T10:05:00+00:00",
            )
        )
    return files


@pytest.mark.parametrize("seed", range(5))
def test_cpu_time_is_the_basis_and_finds_a_5_percent_step(
    tmp_path: Path, perfkit_file: Callable[..., Path], make_bench: Any, seed: int
) -> None:
    files = _cpu_history(perfkit_file, make_bench, 1.05, seed)
    with History.open(tmp_path / "h.db") as history:
        history.ingest_many(files)
        dashboard = build_dashboard(history, None)
    (view,) = dashboard.benchmarks  # CPU time is a basis of x.tell, not a card of its own
    assert view.id == "x.tell" and view.basis.label == "CPU time"
    (change,) = view.changes
    assert change.kind == "regression"
    assert change.percent == pytest.approx(5, abs=1.5)
    assert change.to_run.commit in {f"{index:040x}" for index in (5, 6, 7)}  # at the step


def test_without_a_step_cpu_time_raises_nothing_whatever_wall_time_does(
    tmp_path: Path, perfkit_file: Callable[..., Path], make_bench: Any
) -> None:
    files = _cpu_history(perfkit_file, make_bench, 1.0, 0)
    with History.open(tmp_path / "h.db") as history:
        history.ingest_many(files)
        (view,) = build_dashboard(history, None).benchmarks
    assert view.changes == ()
    assert view.noise is not None and view.noise.sigma < 0.03


def test_runs_of_different_modes_are_different_series(
    tmp_path: Path, perfkit_file: Callable[..., Path], make_bench: Any
) -> None:
    """Fast and default runs alternate; default runs measure 2x the time (other knobs): mixed
    in one series that is a step at every run, as two series it is flat."""
    files = []
    for index in range(16):
        mode = "fast" if index % 2 else "default"
        value = 1e-6 * (2.0 if mode == "default" else 1.0) * (1 + 0.01 * (index % 3))
        files.append(
            perfkit_file(
                benches=[make_bench("x.tell", [[value, value], [value, value]])],
                commit=f"{index:040x}",
                started=f"2026-11-{index + 1:02d}T10:00:00+00:00",
                finished=f"2026-11-{index + 1:02d}T10:05:00+00:00",
                extra={"perfkit_mode": mode},
            )
        )
    with History.open(tmp_path / "h.db") as history:
        history.ingest_many(files)
        (view,) = build_dashboard(history, None).benchmarks
    assert view.series.family.startswith("fast on ")  # the latest run's family
    assert view.series.runs == 8 and len(view.series.points) == 8
    assert view.changes == ()
    assert any("8 in default on" in note for note in view.notes)
