"""The differential tree: changes per operation, so a slower head is not counted twice."""

from __future__ import annotations

import pytest

from perfkit_profile._folded import Stack, parse_folded
from perfkit_profile._stack_diff import diff_stacks, scale_for

SUITE = "/repo/benchmarks/mt.py"


def stacks(tell: int, route: int, encode: int) -> list[Stack]:
    return parse_folded(
        f"tell ({SUITE}:1) {tell}\n"
        f"tell ({SUITE}:1);route ({SUITE}:9) {route}\n"
        f"tell ({SUITE}:1);encode ({SUITE}:20) {encode}\n"
    )


def test_a_slower_frame_grows_and_the_others_stay_put() -> None:
    # A: 1000 operations in 100 samples. B: ``route`` takes 3x as long per operation, so in the
    # same time budget B completes fewer operations and every other frame gets fewer samples.
    # Per operation, only route changed: +40 % of A's time per operation.
    before = stacks(tell=20_000, route=20_000, encode=60_000)
    ops_b = 100_000 / 140  # B: 140 units per operation, in the same 100,000 samples
    after = stacks(tell=14_286, route=42_857, encode=42_857)
    diff = diff_stacks(
        before,
        after,
        (scale_for(100_000, 100, 1000), scale_for(100_000, 100, ops_b)),
    )
    assert diff.per_operation
    growing = {row["function"]: row for row in diff.growing}
    assert diff.growing[0]["function"] == "route"
    assert growing["route"]["change_percent"] == pytest.approx(40.0, abs=0.01)
    assert growing["route"]["before_percent"] == pytest.approx(20.0, abs=0.01)
    assert growing["route"]["after_percent"] == pytest.approx(60.0, abs=0.01)
    others = [row for row in diff.growing + diff.shrinking if row["function"] != "route"]
    assert all(abs(row["change_percent"]) < 0.01 for row in others)
    tree = diff.tree
    assert tree["dt"] == pytest.approx(0.40, abs=1e-4)  # B is 40 % slower per operation in all
    route = next(node for node in tree["c"][0]["c"] if node["n"].startswith("route"))
    assert route["d"] == pytest.approx(0.40, abs=1e-4)
    assert (route["a"], route["as"]) == (20_000, 20_000)


def test_per_second_shares_would_blame_the_unchanged_frames() -> None:
    # The same data without operation counts: shares of samples. encode's share drops (it did
    # not change per operation), which is what per-operation normalising avoids.
    before = stacks(tell=20, route=20, encode=60)
    after = stacks(tell=14, route=43, encode=43)
    diff = diff_stacks(before, after, (scale_for(100, None, None), scale_for(100, None, None)))
    assert not diff.per_operation
    assert diff.growing[0]["function"] == "route"
    assert diff.growing[0]["change_percent"] == pytest.approx(23.0)
    assert diff.shrinking[0]["function"] == "encode"
    assert diff.shrinking[0]["change_percent"] == pytest.approx(-17.0)


def test_frames_new_in_b_and_gone_from_a() -> None:
    before = parse_folded(f"tell ({SUITE}:1);old ({SUITE}:5) 10\ntell ({SUITE}:1) 10\n")
    after = parse_folded(f"tell ({SUITE}:1);new ({SUITE}:6) 10\ntell ({SUITE}:1) 10\n")
    diff = diff_stacks(before, after, (scale_for(20, 100, 10), scale_for(20, 100, 10)))
    assert [row["function"] for row in diff.growing] == ["new"]
    assert diff.growing[0]["before_samples"] == 0
    assert [row["function"] for row in diff.shrinking] == ["old"]
    new = diff.tree["c"][0]["c"][0]
    assert (new["a"], new["as"], new["v"], new["s"]) == (0, 0, 10, 10)
    assert new["d"] == pytest.approx(0.5)


def test_one_side_without_operations_compares_shares() -> None:
    before = stacks(tell=10, route=10, encode=10)
    diff = diff_stacks(before, before, (scale_for(30, 100, 50), scale_for(30, 100, None)))
    assert not diff.per_operation
    assert diff.growing == [] and diff.shrinking == []


def test_cpu_time_keeps_a_busy_neighbour_out_of_the_comparison() -> None:
    # Same code on both sides: 1000 operations, 0.5 CPU seconds. B ran beside a busy neighbour:
    # waiting for the core, it was sampled three times as often per operation (py-spy samples
    # by the wall clock). Per nominal interval every frame seems to triple; per CPU second,
    # nothing moved.
    before = stacks(tell=20, route=20, encode=60)
    after = stacks(tell=60, route=60, encode=180)
    by_rate = diff_stacks(before, after, (scale_for(100, 100, 1000), scale_for(300, 100, 1000)))
    assert by_rate.growing[0]["change_percent"] == pytest.approx(120.0)
    by_cpu = diff_stacks(
        before,
        after,
        (scale_for(100, 100, 1000, cpu_s=0.5), scale_for(300, 100, 1000, cpu_s=0.5)),
    )
    assert by_cpu.per_operation
    assert by_cpu.growing == [] and by_cpu.shrinking == []
    assert by_cpu.tree["dt"] == pytest.approx(0.0)


def test_idle_samples_are_not_cpu_time() -> None:
    assert scale_for(100, 100, 10, cpu_s=2.0).weight == pytest.approx(2.0 / 1000)
    assert scale_for(100, 100, 10, cpu_s=2.0, idle=True).weight == pytest.approx(1 / 1000)
    assert not scale_for(100, 100, None, cpu_s=2.0).per_operation
