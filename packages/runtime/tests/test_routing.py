"""Routing algorithms: direct, topics, round-robin, consistent hash, broadcast; dead letters."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from perfkit_runtime import Agent, Runtime, UnknownAddress
from perfkit_runtime._hashring import HashRing


class Sink(Agent):
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def handle(self, msg: Any) -> None:
        self.seen.append(msg)


def seen(ref: Any) -> list[Any]:
    return list(ref._agent.seen)


def test_direct_by_name_id_and_ref(run, idle) -> None:
    async def scenario(rt: Runtime) -> None:
        a = rt.spawn(Sink, name="a")
        rt.tell("a", 1)
        rt.tell(a.id, 2)
        rt.tell(a, 3)
        await idle(rt)
        assert seen(a) == [1, 2, 3]
        assert rt.router.statistics().routed == 3

    run(scenario)


def test_unknown_address_is_a_counted_retrievable_dead_letter(run) -> None:
    async def scenario(rt: Runtime) -> None:
        with pytest.raises(UnknownAddress, match="'nobody'"):
            rt.tell("nobody", "lost?")
        with pytest.raises(UnknownAddress):
            rt.tell(12345, "lost?")
        with pytest.raises(UnknownAddress, match="spawn it"):
            rt.lookup("nobody")
        letters = rt.dead_letters.recent()
        assert [(d.address, d.message, d.reason) for d in letters] == [
            ("nobody", "lost?", "unknown address"),
            (12345, "lost?", "unknown address"),
        ]
        assert rt.statistics().dead_letters == 2
        assert rt.router.statistics().dead_letter_reasons == {"unknown address": 2}

    run(scenario)


def test_topics_subscribe_publish_unsubscribe(run, idle) -> None:
    async def scenario(rt: Runtime) -> None:
        a, b = rt.spawn(Sink), rt.spawn(Sink)
        rt.subscribe("news", a)
        rt.subscribe("news", b)
        rt.subscribe("news", b)  # idempotent
        assert rt.publish("news", "n1") == 2
        assert rt.unsubscribe("news", a)
        assert not rt.unsubscribe("news", a)
        assert rt.publish("news", "n2") == 1
        assert rt.publish("sports", "s1") == 0
        await idle(rt)
        assert seen(a) == ["n1"]
        assert seen(b) == ["n1", "n2"]
        assert rt.dead_letters.recent()[-1].reason == "no subscribers"

    run(scenario)


def test_round_robin_spreads_evenly(run, idle) -> None:
    async def scenario(rt: Runtime) -> None:
        members = rt.spawn_many(Sink, 3)
        group = rt.group("workers", members)
        for i in range(9):
            group.tell(i)
        rt.tell("workers", 9)  # a group is addressable by name
        await idle(rt)
        assert [seen(m) for m in members] == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]

    run(scenario)


def test_consistent_hash_sends_a_key_to_one_member(run, idle) -> None:
    async def scenario(rt: Runtime) -> None:
        members = rt.spawn_many(Sink, 4)
        group = rt.group("shards", members, "consistent_hash", key=lambda m: m["user"])
        for i in range(200):
            group.tell({"user": f"u{i % 20}", "n": i})
        await idle(rt)
        owners: dict[str, set[int]] = {}
        for m in members:
            for msg in seen(m):
                owners.setdefault(msg["user"], set()).add(m.id)
        assert all(len(ids) == 1 for ids in owners.values())
        assert len(owners) == 20

    run(scenario)


def test_broadcast_reaches_every_member_and_empty_groups_dead_letter(run, idle) -> None:
    async def scenario(rt: Runtime) -> None:
        members = rt.spawn_many(Sink, 3)
        rt.group("all", members, "broadcast").tell("hello")
        empty = rt.group("none", [], "round_robin")
        empty.tell("x")
        await idle(rt)
        assert [seen(m) for m in members] == [["hello"]] * 3
        assert rt.dead_letters.recent()[-1].reason == "empty group"

    run(scenario)


def test_stopped_agents_leave_topics_and_groups(run, aw, idle, mode) -> None:
    async def scenario(rt: Runtime) -> None:
        a, b = rt.spawn(Sink), rt.spawn(Sink)
        group = rt.group("g", [a, b])
        rt.subscribe("t", a)
        rt.stop(a)
        assert await aw(a.wait_stopped(2)) if mode != "threads" else a.wait_stopped(2)
        assert group.members == [b]
        assert rt.publish("t", 1) == 0

    run(scenario)


def test_unknown_group_strategy_is_refused() -> None:
    from perfkit_runtime import SpawnError

    with Runtime() as rt, pytest.raises(SpawnError, match="round_robin"):
        rt.group("g", [], "random")


# ---------------------------------------------------------------- the hash ring itself


def _owners(ring: HashRing[str], keys: list[str]) -> list[str]:
    return [ring.lookup(k) for k in keys]


@pytest.mark.parametrize("n", [2, 4, 8, 16, 32])
def test_adding_one_member_moves_at_most_about_1_5_over_n_of_the_keys(n: int) -> None:
    keys = [f"key-{i}" for i in range(20_000)]
    ring: HashRing[str] = HashRing((f"m{i}", f"m{i}") for i in range(n))
    before = _owners(ring, keys)
    ring.add(f"m{n}", f"m{n}")
    after = _owners(ring, keys)
    moved = sum(1 for x, y in zip(before, after, strict=True) if x != y)
    share = moved / len(keys)
    assert share <= 1.5 / n, f"{share:.3f} of keys moved adding one member to {n}"
    # Every moved key moved to the new member: nothing reshuffles among the old ones.
    assert all(y == f"m{n}" for x, y in zip(before, after, strict=True) if x != y)


def test_ring_balances_load_across_members() -> None:
    ring: HashRing[str] = HashRing((f"m{i}", f"m{i}") for i in range(8))
    load = Counter(ring.lookup(f"k{i}") for i in range(40_000))
    assert max(load.values()) / (40_000 / 8) < 1.3


def test_ring_lookup_is_stable_across_rebuilds_and_order() -> None:
    a: HashRing[str] = HashRing((m, m) for m in ["x", "y", "z"])
    b: HashRing[str] = HashRing((m, m) for m in ["z", "x", "y"])
    keys = [f"k{i}" for i in range(1000)]
    assert _owners(a, keys) == _owners(b, keys)
    assert a.lookup(b"bytes-key") == a.lookup("bytes-key")
    with pytest.raises(LookupError):
        HashRing[str]().lookup("k")
