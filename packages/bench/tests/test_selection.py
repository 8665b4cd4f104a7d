"""--suite, --target and -k: combined as AND, unknown names listed, empty results refused."""

from __future__ import annotations

import pytest

from perfkit_bench import BenchmarkSpec, SelectionError
from perfkit_bench._selection import matches_pattern, select


def spec(bench_id: str, target: str) -> BenchmarkSpec:
    return BenchmarkSpec(
        id=bench_id,
        suite=bench_id.split(".")[0],
        target=target,
        kind="time",
        unit="second",
        inner_loops=1,
        params={},
        reference=None,
        channels=("time",),
        timeout=None,
        func=f"{bench_id.split('.')[0]}:f",
        description="",
    )


SPECS = [
    spec("routing.tell.asyncio", "routing"),
    spec("routing.tell.threads", "routing"),
    spec("routing.ask", "routing"),
    spec("memory.footprint", "spawning"),
    spec("memory.routing_table", "routing"),
]


def ids(specs: list[BenchmarkSpec]) -> list[str]:
    return [s.id for s in specs]


def test_no_filter_keeps_everything() -> None:
    assert select(SPECS) == SPECS
    assert select([]) == []


def test_suite_target_and_pattern() -> None:
    assert ids(select(SPECS, suites=["memory"])) == ["memory.footprint", "memory.routing_table"]
    assert ids(select(SPECS, targets=["spawning"])) == ["memory.footprint"]
    assert ids(select(SPECS, pattern="tell")) == ["routing.tell.asyncio", "routing.tell.threads"]
    assert ids(select(SPECS, pattern="*.asyncio")) == ["routing.tell.asyncio"]
    assert ids(select(SPECS, pattern="routing.[at]*")) == [
        "routing.tell.asyncio",
        "routing.tell.threads",
        "routing.ask",
    ]


def test_filters_combine() -> None:
    assert ids(select(SPECS, suites=["memory"], targets=["routing"])) == ["memory.routing_table"]
    assert ids(select(SPECS, suites=["routing", "memory"], pattern="routing")) == [
        "routing.tell.asyncio",
        "routing.tell.threads",
        "routing.ask",
        "memory.routing_table",
    ]


def test_unknown_suite_lists_valid_names() -> None:
    with pytest.raises(SelectionError, match="unknown suite 'nope'; valid suites: memory, routing"):
        select(SPECS, suites=["nope"])


def test_unknown_target_lists_valid_names() -> None:
    with pytest.raises(SelectionError, match="valid targets: routing, spawning"):
        select(SPECS, targets=["load"])


def test_nothing_matching_is_an_error() -> None:
    with pytest.raises(SelectionError, match="no benchmark matches --suite memory -k tell"):
        select(SPECS, suites=["memory"], pattern="tell")


def test_glob_versus_substring() -> None:
    assert matches_pattern("routing.tell", "tel")
    assert not matches_pattern("routing.tell", "tel*")
    assert matches_pattern("routing.tell", "*tel?")
