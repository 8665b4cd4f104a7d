"""A failing handler never stops the runtime: it is counted, logged and supervised."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from perfkit_runtime import Agent, AgentStopped, Runtime

instances: list[Any] = []


class Fragile(Agent):
    def __init__(self) -> None:
        self.handled = 0
        instances.append(self)

    def handle(self, msg: Any) -> Any:
        if msg == "boom":
            raise ValueError("boom")
        self.handled += 1
        return self.handled


@pytest.fixture(autouse=True)
def _clear() -> None:
    instances.clear()


def test_ask_raises_the_handlers_exception_and_the_agent_resumes(run, aw, caplog) -> None:
    async def scenario(rt: Runtime) -> None:
        ref = rt.spawn(Fragile, name="fragile")
        assert await aw(ref.ask("a", timeout=2)) == 1
        with pytest.raises(ValueError, match="boom"):
            await aw(ref.ask("boom", timeout=2))
        assert await aw(ref.ask("b", timeout=2)) == 2  # same instance: state kept
        stats = ref.statistics()
        assert stats.errors == 1
        assert rt.statistics().errors == 1

    with caplog.at_level(logging.ERROR, logger="perfkit_runtime"):
        run(scenario)
    assert any(
        "'fragile'" in r.getMessage() and "str message" in r.getMessage() for r in caplog.records
    )


def test_restart_gives_a_fresh_instance(run, aw) -> None:
    async def scenario(rt: Runtime) -> None:
        ref = rt.spawn(Fragile, supervision="restart")
        assert await aw(ref.ask("a", timeout=2)) == 1
        assert await aw(ref.ask("a", timeout=2)) == 2
        ref.tell("boom")
        assert await aw(ref.ask("a", timeout=2)) == 1  # fresh state
        assert ref.statistics().restarts == 1
        assert len(instances) == 2

    run(scenario)


def test_stop_policy_stops_the_agent_and_dead_letters_the_rest(run, aw, idle) -> None:
    async def scenario(rt: Runtime) -> None:
        ref = rt.spawn(Fragile, supervision="stop")
        ref.tell_batch(["boom", "after"])
        await idle(rt)
        assert not ref.is_alive
        assert [d.message for d in rt.dead_letters.recent()] == ["after"]
        with pytest.raises(AgentStopped):
            await aw(ref.ask("x", timeout=1))

    run(scenario)


def test_a_failing_tell_does_not_disturb_other_agents(run, aw, idle) -> None:
    async def scenario(rt: Runtime) -> None:
        bad = rt.spawn(Fragile)
        good = rt.spawn(Fragile)
        for _ in range(10):
            bad.tell("boom")
            good.tell("ok")
        await idle(rt)
        assert good._agent.handled == 10
        assert bad.statistics().errors == 10
        assert await aw(bad.ask("ok", timeout=2)) == 1

    run(scenario)


def test_on_stop_failure_is_counted(run, aw, mode) -> None:
    class BadStop(Agent):
        def handle(self, msg: Any) -> None:
            pass

        def on_stop(self) -> None:
            raise RuntimeError("cleanup failed")

    async def scenario(rt: Runtime) -> None:
        ref = rt.spawn(BadStop)
        rt.stop(ref)
        assert await aw(ref.wait_stopped(2)) if mode != "threads" else ref.wait_stopped(2)
        assert ref.statistics().errors == 1

    run(scenario)
