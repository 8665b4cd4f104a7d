"""load_pairs: the base.json / head.json of an A/B out-dir, read as per-benchmark pairs.
Files are made with pyperf's own Run / Benchmark / BenchmarkSuite and dump()."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyperf
import pytest

from perfkit_report._exceptions import InputError, ResultFileError
from perfkit_report._gate._abpairs import PairedSamples, load_pairs


def write_side(
    path: Path,
    benches: Mapping[str, Sequence[Sequence[float]]],
    *,
    side: str | None,
    seed: int | str | None = 42,
    injected: Any = None,
    unit: str = "second",
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """One side of an A/B session: one pyperf run per worker process, in pair order."""
    benchmarks = []
    for name, processes in benches.items():
        md: dict[str, Any] = {"name": name, "unit": unit, **(extra or {})}
        if side is not None:
            md["perfkit_ab_side"] = side
            md["perfkit_ab_pairs"] = len(processes)
        if seed is not None:
            md["perfkit_ab_seed"] = seed
        if injected is not None:
            md["perfkit_injected_percent"] = injected
        runs = [pyperf.Run(list(v), metadata=md, collect_metadata=False) for v in processes]
        benchmarks.append(pyperf.Benchmark(runs))
    pyperf.BenchmarkSuite(benchmarks).dump(str(path), replace=True)
    return path


BASE = {"a.x": [[1.0, 3.0, 2.0], [4.0, 4.0, 5.0], [2.0, 2.0, 2.0]], "a.y": [[10.0], [11.0], [12.0]]}
HEAD = {"a.x": [[1.5, 2.5, 2.0], [5.0, 4.0, 6.0], [3.0, 3.0, 3.0]], "a.y": [[20.0], [21.0], [22.0]]}


def test_an_ab_session_gives_per_process_medians_in_pair_order(tmp_path: Path) -> None:
    base = write_side(tmp_path / "base.json", BASE, side="base")
    head = write_side(tmp_path / "head.json", HEAD, side="head", injected=5)
    pairs = load_pairs(base, head)
    assert list(pairs) == ["a.x", "a.y"]
    x = pairs["a.x"]
    assert x == PairedSamples(
        benchmark="a.x",
        channel="time",
        unit="second",
        base=(2.0, 4.0, 2.0),
        head=(2.0, 5.0, 3.0),
        paired=True,
        injected_percent=5.0,
        seed="42",
    )
    assert x.n_pairs == 3
    assert pairs["a.y"].base == (10.0, 11.0, 12.0)


def test_no_injection_metadata_means_zero(tmp_path: Path) -> None:
    base = write_side(tmp_path / "base.json", BASE, side="base")
    head = write_side(tmp_path / "head.json", HEAD, side="head")
    assert {p.injected_percent for p in load_pairs(base, head).values()} == {0.0}


@pytest.mark.parametrize(
    ("base_options", "head_options", "head_benches"),
    [
        ({"side": None}, {"side": None}, HEAD),  # two ordinary pyperf files
        ({"side": "base", "seed": 1}, {"side": "head", "seed": 2}, HEAD),  # two sessions
        ({"side": "base", "seed": None}, {"side": "head", "seed": None}, HEAD),  # no seed
        ({"side": "head"}, {"side": "base"}, HEAD),  # swapped files
        ({"side": "base"}, {"side": "head"}, {k: v[:2] for k, v in HEAD.items()}),  # lost one
    ],
    ids=["plain-pyperf", "two-sessions", "no-seed", "swapped", "unequal-processes"],
)
def test_pairing_is_claimed_only_when_the_files_prove_it(
    tmp_path: Path,
    base_options: dict[str, Any],
    head_options: dict[str, Any],
    head_benches: Mapping[str, Sequence[Sequence[float]]],
) -> None:
    base = write_side(tmp_path / "base.json", BASE, **base_options)
    head = write_side(tmp_path / "head.json", head_benches, **head_options)
    pairs = load_pairs(base, head)
    assert not any(p.paired for p in pairs.values())
    assert all(p.n_pairs == 0 and p.seed is None for p in pairs.values())
    assert pairs["a.x"].head is not None


def test_a_benchmark_on_one_side_only_has_none_on_the_other(tmp_path: Path) -> None:
    base = write_side(tmp_path / "base.json", BASE, side="base")
    head = write_side(
        tmp_path / "head.json", {"a.x": HEAD["a.x"], "a.z": [[1.0], [1.0]]}, side="head"
    )
    pairs = load_pairs(base, head)
    assert list(pairs) == ["a.x", "a.y", "a.z"]
    assert pairs["a.y"].head is None and not pairs["a.y"].paired
    assert pairs["a.z"].base is None and pairs["a.z"].head == (1.0, 1.0)
    assert pairs["a.x"].paired


def test_byte_benchmarks_keep_their_channel_and_unit(tmp_path: Path) -> None:
    base = write_side(tmp_path / "base.json", {"m.b": [[512.0]] * 3}, side="base", unit="byte")
    head = write_side(tmp_path / "head.json", {"m.b": [[520.0]] * 3}, side="head", unit="byte")
    pair = load_pairs(base, head)["m.b"]
    assert (pair.channel, pair.unit, pair.paired) == ("bytes", "byte", True)


def _one_line(exc: pytest.ExceptionInfo[InputError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_bad_input_raises_one_line_input_errors(tmp_path: Path) -> None:
    base = write_side(tmp_path / "base.json", BASE, side="base")
    with pytest.raises(ResultFileError) as missing:
        load_pairs(base, tmp_path / "nope.json")
    assert "check the path" in _one_line(missing)

    other = write_side(tmp_path / "other.json", {"b.q": [[1.0]]}, side="head")
    with pytest.raises(InputError) as disjoint:
        load_pairs(base, other)
    assert "no benchmark in common" in _one_line(disjoint)

    bytes_head = write_side(tmp_path / "bytes.json", HEAD, side="head", unit="byte")
    with pytest.raises(InputError) as units:
        load_pairs(base, bytes_head)
    assert "same suite" in _one_line(units)

    bad_side = write_side(tmp_path / "side.json", HEAD, side="middle")
    with pytest.raises(InputError) as side:
        load_pairs(base, bad_side)
    assert "base or head" in _one_line(side)

    for value in ("fast", -3):
        bad = write_side(tmp_path / "inj.json", HEAD, side="head", injected=value)
        with pytest.raises(InputError) as injected:
            load_pairs(base, bad)
        assert "percentage >= 0" in _one_line(injected)
