"""Which series a trend reads, from real result files: 20 real perfkit-bench runs of unchanged
code under varying load, twice (tests/data/trend_runs: wall time only; tests/data/trend_runs_cpu:
with perfkit-bench's CPU-time series; each folder's record.sh says how they were made), CPU time
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
from perfkit_report._render._steady import RunValue, noise

DATA = Path(__file__).parent / "data"
RUNS = sorted((DATA / "trend_runs").glob("run-*.json.gz"))
CPU_RUNS = sorted((DATA / "trend_runs_cpu").glob("run-*.json.gz"))
MEASURED = "message_throughput.tell.asyncio"
CPU_SUFFIX = ".cpu_time"


def _store_real_runs(
    db: Path,
    *,
    own_commits: bool,
    step_from: int | None = None,
    runs: list[Path] = RUNS,
    stepped: frozenset[str] = frozenset({MEASURED}),
) -> None:
    """The 20 real ``runs``; ``own_commits`` gives each its own commit (20 commits that did not
    change the measured code); ``step_from`` makes the ``stepped`` benchmarks 5 % slower from
    that run on."""
    with History.open(db) as history:
        for index, path in enumerate(runs):
            run = read_result_file(path)
            results = tuple(
                _slower(result, 1.05)
                if step_from is not None and index >= step_from and result.benchmark in stepped
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
    from the load, and the trend says nothing rather than guess (CPU time with 1 % noise finds
    it: below; the real CPU-time runs here spread 17-22 %, and it does not)."""
    _store_real_runs(tmp_path / "h.db", own_commits=True, step_from=10)
    with History.open(tmp_path / "h.db") as history:
        view = next(v for v in build_dashboard(history, None).benchmarks if v.id == MEASURED)
    assert view.noise is not None and 2 * view.noise.sigma > 0.05
    assert view.changes == ()


CPU_BENCHMARKS = (
    "message_throughput.tell.asyncio",
    "message_throughput.ask.asyncio",
    "message_throughput.queue.asyncio_queue",
    "message_throughput.reference.asyncio_queue",
    "message_throughput.reference.asyncio_pingpong",
)
# In these runs ask.asyncio's CPU time rose by about 40 % at run 15 and stayed there (runs
# 15-19, the load falling from 8 to 6.5 meanwhile): the machine moved, not the code.
SHIFTED = "message_throughput.ask.asyncio"
# And the CPU time of these two crept up over the 20 runs (+35 % and +16 % on the fitted line).
CREPT = ("message_throughput.tell.asyncio", "message_throughput.queue.asyncio_queue")
CPU_GOAL_MISSED = (
    "load 6.5-8.8 on 2 cores: CPU time spreads 17-22 % from run to run here (wall time "
    "21-26 %), so its noise band (2 sigma, 35-45 %) is far wider than a 5 % step "
    "(docs/report.md, Measured)"
)


def _name(result: Any) -> str:
    """A result's name in its file: ingest reads ``<id>.cpu_time`` as ``<id>``, metric cpu_time."""
    return result.benchmark + CPU_SUFFIX if result.metric == "cpu_time" else result.benchmark


def test_the_cpu_time_runs_are_twenty_of_one_commit_with_cpu_time_beside_wall_time() -> None:
    runs = [read_result_file(path) for path in CPU_RUNS]
    assert len(runs) == 20
    assert len({run.commit_sha for run in runs}) == 1
    assert {run.mode for run in runs} == {"fast"}
    for run in runs:
        names = {_name(result) for result in run.results}
        assert names == {*CPU_BENCHMARKS, *(name + CPU_SUFFIX for name in CPU_BENCHMARKS)}
        for result in run.results:
            if result.metric == "cpu_time":
                assert result.metadata["perfkit_metric"] == "cpu_time"
                assert result.metadata["perfkit_clock"] == "thread_time"
                assert result.metadata["perfkit_id"] == result.benchmark


def _wall_and_cpu_noise(measured: str) -> tuple[float, float]:
    """The run-to-run sigma of wall time and of CPU time of one benchmark in the 20 runs."""
    spreads = []
    for name in (measured, measured + CPU_SUFFIX):
        values = [
            RunValue(index, result.summary.median, f"{index:040x}")
            for index, path in enumerate(CPU_RUNS)
            for result in read_result_file(path).results
            if _name(result) == name
        ]
        spread = noise(values)
        assert spread is not None and len(values) == 20
        spreads.append(spread.sigma)
    return spreads[0], spreads[1]


@pytest.mark.parametrize("measured", CPU_BENCHMARKS)
def test_under_this_load_cpu_time_spreads_nearly_as_much_as_wall_time(measured: str) -> None:
    """The figure behind the failures below: steadier than wall time, but not by much."""
    wall, cpu = _wall_and_cpu_noise(measured)
    assert 0.15 < cpu < wall, (wall, cpu)


@pytest.fixture(scope="module")
def unchanged_on_cpu_time(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The 20 CPU-time runs, each its own commit, as the dashboard reads them."""
    db = tmp_path_factory.mktemp("cpu") / "h.db"
    _store_real_runs(db, own_commits=True, runs=CPU_RUNS)
    with History.open(db) as history:
        return {view.id: view for view in build_dashboard(history, None).benchmarks}


def _except(*missed: str, reason: str) -> list[Any]:
    """CPU_BENCHMARKS, those named marked as strict expected failures (the figures say why)."""
    mark = pytest.mark.xfail(strict=True, reason=reason, raises=AssertionError)
    return [pytest.param(name, marks=mark) if name in missed else name for name in CPU_BENCHMARKS]


@pytest.mark.parametrize("measured", _except(SHIFTED, reason=f"{SHIFTED}'s CPU time moved"))
def test_on_cpu_time_twenty_runs_of_unchanged_code_raise_no_change_point(
    unchanged_on_cpu_time: dict[str, Any], measured: str
) -> None:
    assert sorted(unchanged_on_cpu_time) == sorted(CPU_BENCHMARKS)
    view = unchanged_on_cpu_time[measured]
    assert view.basis.label == "CPU time"
    assert view.pending is None
    assert view.changes == ()


@pytest.mark.parametrize("measured", _except(*CREPT, reason="CPU time crept up by 16-35 %"))
def test_on_cpu_time_twenty_runs_of_unchanged_code_show_no_notable_drift(
    unchanged_on_cpu_time: dict[str, Any], measured: str
) -> None:
    drift = unchanged_on_cpu_time[measured].drift
    assert drift is None or not drift.notable


def test_the_shifted_cpu_time_is_one_regression_at_run_15(
    unchanged_on_cpu_time: dict[str, Any],
) -> None:
    """What the unchanged code's trend shows on CPU time: a false regression, confirmed by the
    five runs after it, because the machine's shift lasted longer than CONFIRM_RUNS."""
    (change,) = unchanged_on_cpu_time[SHIFTED].changes
    assert change.kind == "regression" and change.percent > 30
    assert change.to_run.commit == f"{15:040x}"


def _stepped_views(tmp_path: Path, measured: str) -> dict[str, Any]:
    """The 20 CPU-time runs with ``measured`` 5 % slower (wall and CPU time alike, as slower
    code would be) from run 10 on."""
    stepped = frozenset({measured, measured + CPU_SUFFIX})
    _store_real_runs(
        tmp_path / "h.db", own_commits=True, step_from=10, runs=CPU_RUNS, stepped=stepped
    )
    with History.open(tmp_path / "h.db") as history:
        return {view.id: view for view in build_dashboard(history, None).benchmarks}


@pytest.mark.parametrize("measured", [name for name in CPU_BENCHMARKS if name != SHIFTED])
def test_on_cpu_time_a_5_percent_step_inside_its_wider_noise_band_is_not_claimed(
    tmp_path: Path, measured: str
) -> None:
    view = _stepped_views(tmp_path, measured)[measured]
    assert view.basis.label == "CPU time"
    assert view.noise is not None and 2 * view.noise.sigma > 0.3
    assert view.changes == () and view.pending is None


@pytest.mark.xfail(strict=True, reason=CPU_GOAL_MISSED, raises=(AssertionError, ValueError))
@pytest.mark.parametrize("measured", CPU_BENCHMARKS)
def test_on_cpu_time_a_real_5_percent_step_from_run_10_is_found_at_run_10(
    tmp_path: Path, measured: str
) -> None:
    """The issue's goal: found, confirmed by the three runs after it (CONFIRM_RUNS), at the
    commit that made it. Not met on these runs (CPU_GOAL_MISSED); strict, so that runs that
    meet it say so."""
    views = _stepped_views(tmp_path, measured)
    (change,) = views[measured].changes
    assert change.kind == "regression"
    assert change.percent == pytest.approx(5, abs=1.5)
    assert change.to_run.commit == f"{10:040x}"
    assert all(view.changes == () for name, view in views.items() if name != measured)


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
