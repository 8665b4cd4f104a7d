"""Ray mode against a real local Ray (its own nox session: Ray takes ~10 s to start here)."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from perfkit_runtime import Agent, AgentStopped, AskTimeout, EncodeError, Runtime, SpawnError

pytestmark = pytest.mark.timeout(180)

# pytest imports this file under a name Ray's workers cannot import: send its classes by value.
pytest.importorskip("ray").cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def rt() -> Iterator[Runtime]:
    runtime = Runtime("ray", hosts=2)
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
    def __init__(self, to: str) -> None:
        self.to = to

    def handle(self, msg: Any) -> None:
        if self.to.startswith("topic:"):
            self.runtime.publish(self.to[6:], msg)
        else:
            self.runtime.tell(self.to, msg)


class Fails(Agent):
    def __init__(self) -> None:
        self.started = 0

    def on_start(self) -> None:
        self.started += 1

    def handle(self, msg: Any) -> Any:
        if msg == "boom":
            raise ValueError("boom")
        return (msg, self.started)


class Needs(Agent):
    def __init__(self, x: int) -> None:
        self.x = x

    def handle(self, msg: Any) -> Any:
        return self.x


class Slow(Agent):
    def handle(self, msg: Any) -> Any:
        time.sleep(msg)
        return msg


def test_tell_ask_and_batches_keep_order(rt: Runtime) -> None:
    ref = rt.spawn(Recorder)
    for i in range(3000):
        ref.tell((i, "x"))
    ref.tell_batch(["a", "b"])
    ref.send("c")
    assert ref.ask("seen?", timeout=30) == [(i, "x") for i in range(3000)] + ["a", "b", "c"]


def test_agents_live_on_host_actors_and_talk_by_name_and_topic(rt: Runtime) -> None:
    sink = rt.spawn(Recorder, name="sink", placement=1)
    relay = rt.spawn(Relay, "sink", placement=0)
    for i in range(50):
        relay.tell(i)
    subs = [rt.spawn(Recorder, placement=k) for k in range(2)]
    for s in subs:
        rt.subscribe("news", s)
    rt.spawn(Relay, "topic:news", placement=0).tell("hello")
    assert rt.wait_idle(30)
    assert sink.ask("seen?", timeout=30) == list(range(50))
    assert [s.ask("seen?", timeout=30) for s in subs] == [["hello"], ["hello"]]
    assert sink.ask("pid?", timeout=30) != os.getpid()


def test_groups_route_across_hosts(rt: Runtime) -> None:
    members = [rt.spawn(Recorder, placement=k % 2) for k in range(4)]
    rt.group("rr", members, "round_robin")
    relay = rt.spawn(Relay, "rr", placement=0)
    for i in range(8):
        relay.tell(i)
    assert rt.wait_idle(30)
    assert sorted(x for m in members for x in m.ask("seen?", timeout=30)) == list(range(8))


def test_a_message_ray_cannot_send_fails_at_tell_naming_agent_and_codec(rt: Runtime) -> None:
    ref = rt.spawn(Echo, name="ray-echo")
    import threading

    with pytest.raises(EncodeError, match=r"agent 'ray-echo'.*codec 'cloudpickle'"):
        ref.tell(threading.Lock())
    assert ref.ask("fine", timeout=30) == "fine"


def test_spawn_and_handler_errors(rt: Runtime) -> None:
    with pytest.raises(SpawnError, match="cannot construct Needs"):
        rt.spawn(Needs)
    ref = rt.spawn(Fails, supervision="restart")
    with pytest.raises(ValueError, match="boom"):
        ref.ask("boom", timeout=30)
    assert ref.ask("x", timeout=30) == ("x", 1)
    stats = ref.statistics()
    assert (stats.errors, stats.restarts) == (1, 1)


def test_ask_timeout_is_honoured(rt: Runtime) -> None:
    ref = rt.spawn(Slow)
    t0 = time.monotonic()
    with pytest.raises(AskTimeout):
        ref.ask(2.0, timeout=0.3)
    assert time.monotonic() - t0 < 1.5


def test_stop_and_statistics(rt: Runtime) -> None:
    ref = rt.spawn(Recorder, name="to-stop")
    ref.tell_batch(range(10))
    assert rt.wait_idle(30)
    before = rt.statistics()
    assert before.mode == "ray"
    assert before.messages_out >= 10
    rt.stop(ref)
    assert ref.wait_stopped(30)
    dead = rt.dead_letters.total
    ref.tell(1)  # tell never raises for a stopped agent: a dead letter, as in every mode
    assert rt.dead_letters.total == dead + 1
    with pytest.raises(AgentStopped):
        ref.send(1)
    assert "to-stop" not in rt.names()


def test_stopped_agents_stay_in_the_totals_once(rt: Runtime) -> None:
    # The runtime is shared by this module's tests: count what these agents add.
    assert rt.wait_idle(30)
    before = rt.statistics()
    refs = [rt.spawn(Recorder, placement=i % 2) for i in range(3)]
    for ref in refs:
        ref.tell_batch(range(5))
    assert rt.wait_idle(30)
    for ref in refs[:2]:
        rt.stop(ref)
        assert ref.wait_stopped(30)
    assert rt.wait_idle(30)
    after = rt.statistics()
    assert after.agents - before.agents == 1
    # counted by the driver once a host reports the stop, and not by the host as well
    assert after.messages_out - before.messages_out == 15


def test_a_killed_host_actor_is_restarted_by_ray_and_its_agents_re_created(
    rt: Runtime,
) -> None:
    victim = rt.spawn(Recorder, placement=1, supervision="restart")
    gone = rt.spawn(Recorder, placement=1, supervision="stop")
    pid = victim.ask("pid?", timeout=30)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        try:
            new_pid = victim.ask("pid?", timeout=5)
            if new_pid != pid and victim.statistics().restarts == 1:
                break
        except (AgentStopped, AskTimeout):
            pass
        assert time.monotonic() < deadline, "the host was not restarted in time"
        time.sleep(0.2)
    assert gone.wait_stopped(30)
    victim.tell("after")
    assert victim.ask("seen?", timeout=30) == ["after"]
