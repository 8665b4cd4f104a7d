"""A runtime with a History records what its agents receive; it persists to the store."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from perfkit_runtime import Agent, EncodeError, History, Runtime, Store


class Echo(Agent):
    def handle(self, msg: Any) -> Any:
        return msg


def test_every_accepted_message_is_recorded_by_recipient(run, aw, idle) -> None:
    history = History(max_messages=100)

    async def scenario(rt: Runtime) -> None:
        a = rt.spawn(Echo, name="a")
        b = rt.spawn(Echo, name="b")
        a.tell(("order", 1))
        b.tell_batch([("order", 2), ("order", 3)])
        assert await aw(a.ask("ping", timeout=2)) == "ping"
        await idle(rt)

    run(scenario, history=history)
    assert history.messages(agent="a") == [("order", 1), "ping"]
    assert history.messages(agent="b") == [("order", 2), ("order", 3)]


def test_an_unencodable_message_is_refused_and_not_lost_silently() -> None:
    history = History(codec="json")
    with Runtime("sync", history=history) as rt:
        ref = rt.spawn(Echo)
        with pytest.raises(EncodeError, match="json"):
            ref.tell(threading.Lock())
        assert ref.statistics().messages_in == 0
        assert len(history) == 0


def test_history_persists_to_a_store_and_survives_reopening(tmp_path: Path) -> None:
    history = History(codec="pickle")
    since = time.time() - 1
    with Runtime("threads", history=history) as rt:
        ref = rt.spawn(Echo, name="echo")
        for i in range(50):
            ref.tell({"n": i})
        assert rt.wait_idle(5)
    with Store(tmp_path / "h.db") as store:
        assert history.persist(store) == 50
        assert history.persist(store) == 0  # nothing new
    with Store(tmp_path / "h.db") as store:
        last = store.last_messages("echo", 3)
        assert [history.codec.decode(m.payload) for m in last] == [{"n": 49}, {"n": 48}, {"n": 47}]
        assert len(store.messages_between("echo", since, time.time() + 1)) == 50
