"""Processes mode: agents on worker processes, addressed and supervised as in one process."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perfkit_runtime import (
    Agent,
    AgentStopped,
    AskTimeout,
    EncodeError,
    MailboxFull,
    ModeError,
    Runtime,
    SpawnError,
    WorkerError,
)

pytestmark = pytest.mark.timeout(60)

SHM = Path("/dev/shm")


def processes(**options: Any) -> Runtime:
    return Runtime("processes", **{"workers": 2, **options})


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = processes()
    yield runtime
    runtime.close()


class Echo(Agent):
    def handle(self, msg: Any) -> Any:
        return msg


class Recorder(Agent):
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def handle(self, msg: Any) -> Any:
        if msg == "seen?":
            return self.seen
        if msg == "pid?":
            return os.getpid()
        self.seen.append(msg)
        return None


class Relay(Agent):
    """Forwards every message to an address through its own runtime (name, group or topic)."""

    def __init__(self, to: str, key: bool = False) -> None:
        self.to = to
        self.key = key

    def handle(self, msg: Any) -> None:
        if self.to.startswith("topic:"):
            self.runtime.publish(self.to[6:], msg)
        elif self.key:
            self.runtime.tell(self.to, msg, key=msg[0])
        else:
            self.runtime.tell(self.to, msg)


class Asker(Agent):
    def handle(self, msg: Any) -> Any:
        return self.runtime.lookup(msg).ask("pid?", timeout=5)


class Fails(Agent):
    def __init__(self) -> None:
        self.started = 0

    def on_start(self) -> None:
        self.started += 1

    def handle(self, msg: Any) -> Any:
        if msg == "boom":
            raise ValueError("boom")
        if msg == "spawn":
            self.runtime.spawn(Echo)
        return (msg, self.started)


class Needs(Agent):
    def __init__(self, x: int) -> None:
        self.x = x

    def handle(self, msg: Any) -> Any:
        return self.x


class Slow(Agent):
    def handle(self, msg: Any) -> Any:
        if msg == "pid?":
            return os.getpid()
        time.sleep(msg)
        return msg


def segments() -> set[str]:
    return set(os.listdir(SHM))


def left_since(before: set[str]) -> set[str]:
    """Shared-memory segments (Python names them psm_*) that appeared since ``before``: other
    processes' files in /dev/shm come and go meanwhile, so the whole listing cannot be compared."""
    return {name for name in segments() - before if name.startswith("psm_")}


# ------------------------------------------------------------------ the basics


def test_the_readme_example_runs_in_processes_mode() -> None:
    with processes() as rt:
        ref = rt.spawn(Echo, name="echo", capacity=1000)
        ref.tell("hi")
        assert ref.ask("ping", timeout=1.0) == "ping"


def test_agents_run_in_other_processes_placed_by_placement(rt: Runtime) -> None:
    a = rt.spawn(Recorder, placement=0)
    b = rt.spawn(Recorder, placement=1)
    pids = {a.ask("pid?", timeout=5), b.ask("pid?", timeout=5)}
    assert len(pids) == 2
    assert os.getpid() not in pids


def test_messages_from_one_sender_arrive_in_order(rt: Runtime) -> None:
    ref = rt.spawn(Recorder)
    for i in range(5000):
        ref.tell((i, "x"))
    assert ref.ask("seen?", timeout=10) == [(i, "x") for i in range(5000)]


def test_tell_batch_and_send(rt: Runtime) -> None:
    ref = rt.spawn(Recorder)
    ref.tell_batch([1, 2, 3])
    ref.send(4)
    ref.send_batch([5, 6])
    assert ref.ask("seen?", timeout=5) == [1, 2, 3, 4, 5, 6]


def test_agents_talk_across_workers_by_name(rt: Runtime) -> None:
    sink = rt.spawn(Recorder, name="sink", placement=1)
    relay = rt.spawn(Relay, "sink", name="relay", placement=0)
    for i in range(100):
        relay.tell(i)
    assert rt.wait_idle(10)
    assert sink.ask("seen?", timeout=5) == list(range(100))


def test_an_agent_asks_an_agent_on_another_worker(rt: Runtime) -> None:
    target = rt.spawn(Recorder, name="target", placement=1)
    asker = rt.spawn(Asker, placement=0)
    assert asker.ask("target", timeout=10) == target.ask("pid?", timeout=5)


@pytest.mark.parametrize("strategy", ["round_robin", "consistent_hash", "broadcast"])
def test_groups_route_from_inside_a_worker(rt: Runtime, strategy: str) -> None:
    members = [rt.spawn(Recorder, placement=i % 2) for i in range(4)]
    rt.group("g", members, strategy)
    relay = rt.spawn(Relay, "g", strategy == "consistent_hash", placement=0)
    msgs = [(f"k{i % 5}", i) for i in range(40)]
    for m in msgs:
        relay.tell(m)
    assert rt.wait_idle(10)
    seen = [m.ask("seen?", timeout=5) for m in members]
    if strategy == "broadcast":
        assert all(s == msgs for s in seen)
    else:
        assert sorted(x for s in seen for x in s) == sorted(msgs)
        assert all(s for s in seen)
    if strategy == "consistent_hash":
        for s in seen:  # one key, one member
            assert not {k for k, _ in s} & {k for t in seen if t is not s for k, _ in t}


def test_topics_publish_from_inside_a_worker(rt: Runtime) -> None:
    subs = [rt.spawn(Recorder, placement=i) for i in range(2)]
    for s in subs:
        rt.subscribe("news", s)
    relay = rt.spawn(Relay, "topic:news", placement=0)
    relay.tell("hello")
    assert rt.wait_idle(10)
    assert [s.ask("seen?", timeout=5) for s in subs] == [["hello"], ["hello"]]


@pytest.mark.parametrize("codec", ["msgpack", "json"])
def test_other_codecs_carry_the_messages(codec: str) -> None:
    with processes(codec=codec) as rt:
        ref = rt.spawn(Recorder)
        ref.tell({"a": [1, 2]})
        ref.tell((3, "x"))
        assert ref.ask("seen?", timeout=5) == [{"a": [1, 2]}, [3, "x"]]


def test_statistics_add_up_across_workers(rt: Runtime) -> None:
    refs = [rt.spawn(Recorder, placement=i % 2) for i in range(4)]
    for ref in refs:
        ref.tell_batch(range(10))
    assert rt.wait_idle(10)
    stats = rt.statistics()
    assert stats.mode == "processes"
    assert stats.agents == 4
    assert stats.messages_out == 40
    one = refs[0].statistics()
    assert one.messages_out == 10
    assert one.name == refs[0].name


def test_stopped_agents_stay_in_the_totals_once(rt: Runtime) -> None:
    refs = [rt.spawn(Recorder, placement=i % 2) for i in range(3)]
    for ref in refs:
        ref.tell_batch(range(5))
    assert rt.wait_idle(10)
    for ref in refs[:2]:
        rt.stop(ref)
        assert ref.wait_stopped(10)
    assert rt.wait_idle(10)
    stats = rt.statistics()
    assert stats.agents == 1
    assert stats.messages_out == 15  # counted by the parent once a worker reports the stop


# ------------------------------------------------------------------ bad input


def test_a_message_the_codec_cannot_encode_fails_at_tell_naming_agent_and_codec(
    rt: Runtime,
) -> None:
    ref = rt.spawn(Echo, name="echo")
    with pytest.raises(EncodeError, match=r"agent 'echo'.*codec 'pickle'"):
        ref.tell(lambda: None)
    with pytest.raises(EncodeError, match="agent 'echo'"):
        ref.ask((1, lambda: None), timeout=1)
    assert ref.ask("still fine", timeout=5) == "still fine"


def test_spawn_errors_are_raised_by_spawn(rt: Runtime) -> None:
    with pytest.raises(SpawnError, match="cannot construct Needs"):
        rt.spawn(Needs)
    assert rt.spawn(Needs, 3).ask(None, timeout=5) == 3

    class Local(Agent):
        def handle(self, msg: Any) -> Any:
            return msg

    with pytest.raises(SpawnError, match="cannot send Local"):
        rt.spawn(Local)
    with pytest.raises(SpawnError, match="placement=7"):
        rt.spawn(Echo, placement=7)


def test_address_book_changes_belong_to_the_parent(rt: Runtime) -> None:
    ref = rt.spawn(Fails)
    with pytest.raises(ModeError, match="runs in the parent process"):
        ref.ask("spawn", timeout=5)


def test_a_shared_memory_segment_larger_than_dev_shm_is_refused_at_runtime() -> None:
    free = os.statvfs(SHM).f_bavail * os.statvfs(SHM).f_frsize
    per_ring = 1 << max(20, (free // 4).bit_length())  # 12 rings of this exceed what is free
    with pytest.raises(WorkerError, match="lower workers= or ring_bytes="):
        Runtime("processes", workers=3, ring_bytes=per_ring)


def test_ask_timeout_is_honoured(rt: Runtime) -> None:
    ref = rt.spawn(Slow)
    t0 = time.monotonic()
    with pytest.raises(AskTimeout, match=r"within 0\.2s"):
        ref.ask(2.0, timeout=0.2)
    assert time.monotonic() - t0 < 1.6  # the timeout, not the handler's 2 s


# ------------------------------------------------------------------ supervision


def test_a_handler_error_reaches_the_asker_and_is_counted(rt: Runtime) -> None:
    ref = rt.spawn(Fails, supervision="resume")
    with pytest.raises(ValueError, match="boom"):
        ref.ask("boom", timeout=5)
    assert ref.ask("x", timeout=5) == ("x", 1)
    assert ref.statistics().errors == 1


def test_restart_supervision_builds_a_fresh_instance(rt: Runtime) -> None:
    ref = rt.spawn(Fails, supervision="restart")
    ref.tell("boom")
    assert ref.ask("x", timeout=5) == ("x", 1)
    assert ref.statistics().restarts == 1


def test_stop_supervision_stops_the_agent_and_later_mail_is_refused(rt: Runtime) -> None:
    ref = rt.spawn(Fails, supervision="stop", name="fragile")
    ref.tell("boom")
    assert ref.wait_stopped(5)
    before = rt.dead_letters.total
    ref.tell("late")  # tell never raises for a stopped agent: a dead letter, as in every mode
    assert rt.dead_letters.total == before + 1
    with pytest.raises(AgentStopped):
        ref.send("late")
    assert "fragile" not in rt.names()


def test_stop_runs_after_queued_messages_and_dead_letters_are_counted(rt: Runtime) -> None:
    sink = rt.spawn(Recorder, placement=1)
    relay = rt.spawn(Relay, sink.name, placement=0)
    rt.stop(sink)
    assert sink.wait_stopped(5)
    relay.tell("for nobody")
    assert rt.wait_idle(10)
    assert rt.dead_letters.total >= 1


# ------------------------------------------------------------------ backpressure


def test_overflow_policies_apply_to_bounded_agents_when_the_ring_is_full() -> None:
    with processes(workers=1, ring_bytes=4096, batch=4) as rt:
        slow = rt.spawn(Slow, capacity=8, overflow="drop_newest")
        for _ in range(400):
            slow.tell(0.001)
        assert rt.wait_idle(30)
        stats = rt.statistics()
        assert stats.dropped > 0
        assert stats.messages_out + stats.dropped == 400
        strict = rt.spawn(Slow, capacity=8, overflow="fail")
        with pytest.raises(MailboxFull, match="use send"):
            for _ in range(400):
                strict.tell(0.001)
        blocking = rt.spawn(Slow, capacity=8, overflow="block")
        for _ in range(300):
            blocking.send(0.0)  # waits for room instead of failing
        assert rt.wait_idle(30)


def test_an_unbounded_agent_makes_the_parent_wait_instead_of_failing() -> None:
    with processes(workers=1, ring_bytes=4096, batch=4) as rt:
        slow = rt.spawn(Recorder)
        for i in range(2000):
            slow.tell(i)  # far more than the ring holds: tell waits for the worker
        assert slow.ask("seen?", timeout=30) == list(range(2000))
        assert rt.statistics().dropped == 0


# ------------------------------------------------------------------ faults and lifecycle


def test_close_leaves_no_segment_in_dev_shm() -> None:
    before = segments()
    rt = processes()
    rt.spawn(Echo).ask(1, timeout=5)
    report = rt.close()
    assert report.clean
    assert left_since(before) == set()


def test_a_sigkilled_worker_is_restarted_and_its_agents_re_created() -> None:
    before = segments()
    with processes() as rt:
        victim = rt.spawn(Recorder, name="victim", placement=0, supervision="restart")
        other = rt.spawn(Recorder, placement=1)
        pid = victim.ask("pid?", timeout=5)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while True:
            try:
                new_pid = victim.ask("pid?", timeout=1)
                break
            except (AgentStopped, AskTimeout):
                assert time.monotonic() < deadline
        assert new_pid != pid
        assert victim.statistics().restarts == 1
        assert other.ask("pid?", timeout=5) != pid
        victim.tell("after")
        assert victim.ask("seen?", timeout=5) == ["after"]
    assert left_since(before) == set()


def test_messages_held_by_a_killed_worker_are_dead_letters() -> None:
    with processes(workers=1) as rt:
        slow = rt.spawn(Slow, name="slow")
        pid = slow.ask("pid?", timeout=5)
        for _ in range(50):
            slow.tell(0.2)  # long enough that an oversleep below still leaves 48 in hand
        time.sleep(0.1)  # the hub flushed them after its delay; the worker holds the first
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while rt.dead_letters.reasons["worker crashed"] < 48:
            assert time.monotonic() < deadline, rt.dead_letters.reasons
            time.sleep(0.01)
        assert slow.ask(0, timeout=5) == 0  # resume: re-created on the new worker
