"""Folded stacks: parsing py-spy's raw output, the driver's frames dropped, the tree, top frames."""

from __future__ import annotations

from perfkit_profile._folded import (
    DRIVER,
    build_tree,
    parse_folded,
    top_frames,
    workload_stacks,
)
from perfkit_profile._frames import Frame

DRIVER_PY = "/venv/lib/python3.11/site-packages/perfkit_profile/_driver.py"
SUITE = "/repo/benchmarks/mt.py"

CALL = f"<module> ({DRIVER_PY}:1);main ({DRIVER_PY}:52);_profile.<locals>.call ({DRIVER_PY}:117)"
IMPORT = f"<module> ({DRIVER_PY}:1);main ({DRIVER_PY}:52);_load ({DRIVER_PY}:80)"
RAW = f"""\
{CALL};tell ({SUITE}:10);route ({SUITE}:30) 6
{CALL};tell ({SUITE}:10) 2
{CALL};tell ({SUITE}:10);walk ({SUITE}:50);walk ({SUITE}:50) 3
<module> ({DRIVER_PY}:1);_write ({DRIVER_PY}:200) 1
 1

not a stack line
{IMPORT};import_module (/usr/lib/python3.11/importlib/__init__.py:108) 4
Thread.run (/usr/lib/python3.11/threading.py:971);worker ({SUITE}:70) 5
"""


def test_parse_keeps_counts_and_the_empty_stack() -> None:
    stacks = parse_folded(RAW)
    assert [count for _, count in stacks] == [6, 2, 3, 1, 1, 4, 5]
    assert stacks[0][0][-1] == Frame("route", SUITE, 30)
    assert stacks[4][0] == ()  # a sample py-spy could not unwind


def test_the_workload_starts_above_the_drivers_call() -> None:
    stacks = workload_stacks(parse_folded(RAW))
    assert [frame.function for frame in stacks[0][0]] == ["tell", "route"]
    assert stacks[3][0] == (DRIVER,)  # the driver's own bookkeeping
    assert stacks[4][0] == (DRIVER,)  # a sample without a stack
    assert stacks[5][0] == (DRIVER,)  # importing the workload: harness, however deep
    assert [frame.function for frame in stacks[6][0]] == ["Thread.run", "worker"]
    assert sum(count for _, count in stacks) == 22


def test_tree_totals_and_self() -> None:
    tree = build_tree(workload_stacks(parse_folded(RAW)))
    assert tree.total == 22
    tell = tree.children[("tell", "benchmarks/mt.py")]
    assert (tell.total, tell.self) == (11, 2)
    route = tell.children[("route", "benchmarks/mt.py")]
    assert (route.total, route.self) == (6, 6)
    walk = tell.children[("walk", "benchmarks/mt.py")]
    assert walk.children[("walk", "benchmarks/mt.py")].self == 3  # recursion: two levels
    data = tree.as_json()
    assert data["v"] == 22
    assert data["n"] == "all"
    assert {child["n"] for child in data["c"]} == {
        "tell (benchmarks/mt.py:10)",
        "Thread.run (threading.py:971)",  # stdlib: the path after lib/python3.11/
        DRIVER.label,
    }
    assert sum(node.self for node in tree.walk()) == 22


def test_top_frames_by_self_and_total() -> None:
    top = top_frames(workload_stacks(parse_folded(RAW)), top=10)
    by_self = [(row["function"], row["self_samples"]) for row in top["self"]]
    assert by_self == [("route", 6), ("worker", 5), ("walk", 3), ("tell", 2)]
    totals = {row["function"]: row["total_samples"] for row in top["total"]}
    # walk is on 3 samples, twice each: counted once per sample.
    assert totals == {"tell": 11, "route": 6, "walk": 3, "Thread.run": 5, "worker": 5}
    assert top["total"][0]["total_percent"] == round(100 * 11 / 22, 3)
    assert top["self"][0]["file"] == SUITE  # as the profiler wrote it
    assert top["self"][0]["line"] == 30
    assert all(row["function"] != DRIVER.function for row in top["self"] + top["total"])
    assert len(top_frames(workload_stacks(parse_folded(RAW)), top=1)["self"]) == 1
