"""Message history: recording, the two bounds, queries, statistics, memory per record, threads."""

from __future__ import annotations

import dataclasses
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from perfkit_runtime import (
    CodecError,
    EncodeError,
    History,
    HistoryRecord,
    HistoryStats,
    Store,
    StoreClosed,
    get_codec,
)

SMALL = ("order", 123, {"qty": 2})


def test_record_encodes_and_numbers_messages() -> None:
    history = History()
    before = time.time()
    first = history.record("orders", SMALL, sender="client")
    second = history.record("billing", "invoice")
    assert (first.seq, second.seq) == (1, 2)
    assert before <= first.timestamp <= second.timestamp <= time.time()
    assert (first.recipient, first.sender, second.sender) == ("orders", "client", None)
    assert first.payload == get_codec("pickle").encode(SMALL)
    assert history.decode(first) == SMALL
    assert len(history) == 2
    assert history.nbytes == len(first.payload) + len(second.payload)


def test_record_keeps_a_snapshot_of_a_mutable_message() -> None:
    history = History()
    message = {"qty": 2}
    record = history.record("orders", message)
    message["qty"] = 3
    assert history.decode(record) == {"qty": 2}


def test_record_uses_a_given_timestamp() -> None:
    assert History().record("a", 1, timestamp=42.5).timestamp == 42.5


def test_records_are_frozen_slotted_values() -> None:
    record = History().record("a", 1, sender="b", timestamp=1.0)
    assert record == HistoryRecord(1, 1.0, "a", "b", get_codec("pickle").encode(1))
    assert hash(record) == hash(HistoryRecord(1, 1.0, "a", "b", record.payload))
    assert not hasattr(record, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.seq = 5  # type: ignore[misc]


def test_unencodable_message_raises_and_stores_nothing() -> None:
    history = History(codec="json")
    history.record("a", 1)
    with pytest.raises(EncodeError, match="cannot encode a value of type 'set'"):
        history.record("a", {1, 2})
    assert len(history) == 1
    assert history.record("a", 2).seq == 2  # no seq was spent on the failed message


# -- bounds ------------------------------------------------------------------------------------


def test_count_bound_evicts_the_oldest() -> None:
    history = History(max_messages=3)
    for i in range(5):
        history.record("a", i)
    assert [r.seq for r in history.query()] == [3, 4, 5]
    assert history.messages() == [2, 3, 4]
    assert history.evicted == 2
    assert history.nbytes == sum(len(r.payload) for r in history.query())


def test_byte_bound_evicts_the_oldest() -> None:
    history = History(codec="json", max_bytes=25)
    for word in ("aaaaaaaa", "bbbbbbbb", "cccccccc"):  # 10 bytes each as JSON
        history.record("a", word)
    assert history.messages() == ["bbbbbbbb", "cccccccc"]
    assert (history.nbytes, history.evicted) == (20, 1)
    history.record("a", "d" * 20)  # 22 bytes: both older ones must go
    assert history.messages() == ["d" * 20]
    assert (history.nbytes, history.evicted) == (22, 3)


def test_message_larger_than_max_bytes_is_recorded_and_evicted_at_once() -> None:
    history = History(codec="json", max_bytes=10)
    history.record("a", "ok")
    record = history.record("a", "x" * 100)
    assert record.seq == 2
    assert len(history) == 0
    assert (history.nbytes, history.evicted) == (0, 2)


def test_bounds_hold_under_a_long_stream() -> None:
    history = History(max_messages=100, max_bytes=2_000)
    for i in range(5_000):
        history.record("a", "x" * (i % 40))
        assert len(history) <= 100
        assert history.nbytes <= 2_000
    assert history.nbytes == sum(len(r.payload) for r in history.query())
    assert history.evicted == 5_000 - len(history)


# -- queries -----------------------------------------------------------------------------------


@pytest.fixture
def traffic() -> History:
    history = History(codec="json")
    history.record("orders", "o1", sender="client", timestamp=1.0)
    history.record("billing", "b1", sender="orders", timestamp=2.0)
    history.record("orders", "o2", timestamp=3.0)
    history.record("shipping", "s1", sender="billing", timestamp=4.0)
    history.record("orders", "o3", sender="client", timestamp=5.0)
    return history


def test_query_without_filters_is_everything_oldest_first(traffic: History) -> None:
    assert [r.seq for r in traffic.query()] == [1, 2, 3, 4, 5]


def test_query_agent_matches_recipient_or_sender(traffic: History) -> None:
    assert traffic.messages("orders") == ["o1", "b1", "o2", "o3"]
    assert traffic.messages("billing") == ["b1", "s1"]
    assert traffic.messages("client") == ["o1", "o3"]
    assert traffic.messages("nobody") == []


def test_query_time_window_is_half_open(traffic: History) -> None:
    assert traffic.messages(since=2.0, until=4.0) == ["b1", "o2"]
    assert traffic.messages(since=4.0) == ["s1", "o3"]
    assert traffic.messages(until=2.0) == ["o1"]
    assert traffic.messages("orders", since=2.5) == ["o2", "o3"]


def test_query_limit_keeps_the_newest(traffic: History) -> None:
    assert traffic.messages(limit=2) == ["s1", "o3"]
    assert traffic.messages("orders", limit=3) == ["b1", "o2", "o3"]
    assert traffic.messages(limit=100) == ["o1", "b1", "o2", "s1", "o3"]
    assert traffic.messages(limit=0) == []
    with pytest.raises(ValueError, match="limit must be an int >= 0"):
        traffic.query(limit=-1)


def test_query_returns_a_copy(traffic: History) -> None:
    records = traffic.query()
    traffic.clear()
    assert len(records) == 5


# -- statistics, clear, arguments --------------------------------------------------------------


def test_statistics_snapshot() -> None:
    history = History(max_messages=2, max_bytes=1_000, codec="json")
    for i in range(3):
        history.record("a", i)
    assert history.statistics() == HistoryStats(
        records=2, nbytes=2, evicted=1, max_messages=2, max_bytes=1_000, codec="json"
    )
    assert History().statistics() == HistoryStats(0, 0, 0, 10_000, 8 * 1024 * 1024, "pickle")


def test_clear_empties_but_keeps_counting(traffic: History) -> None:
    traffic.clear()
    assert (len(traffic), traffic.nbytes, traffic.evicted) == (0, 0, 0)
    assert traffic.query() == []
    assert traffic.record("a", 1).seq == 6


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_messages": 0}, "max_messages must be an int >= 1, not 0"),
        ({"max_messages": -5}, "max_messages must be an int >= 1"),
        ({"max_messages": True}, "max_messages must be an int >= 1, not True"),
        ({"max_messages": 1.5}, "max_messages must be an int >= 1"),
        ({"max_bytes": 0}, "max_bytes must be an int >= 1, not 0"),
        ({"max_bytes": "8MB"}, "max_bytes must be an int >= 1, not '8MB'"),
    ],
)
def test_bad_bounds_are_value_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        History(**kwargs)


def test_unknown_codec_name_is_a_codec_error() -> None:
    with pytest.raises(CodecError, match="unknown codec 'yaml'"):
        History(codec="yaml")


def test_codec_of_the_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="codec must be a codec name or a Codec"):
        History(codec=42)  # type: ignore[arg-type]


def test_custom_codec_instance() -> None:
    class Utf8:
        name = "utf8"

        def encode(self, obj: Any) -> bytes:
            return str(obj).encode()

        def decode(self, data: bytes) -> Any:
            return data.decode()

    history = History(codec=Utf8())
    record = history.record("a", "héllo")
    assert record.payload == "héllo".encode()
    assert history.messages() == ["héllo"]
    assert history.statistics().codec == "utf8"


# -- memory ------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["pickle", "json", "orjson", "msgpack"])
def test_small_message_costs_at_most_1_kb_live_and_300_b_encoded(codec: str) -> None:
    count = 10_000
    history = History(max_messages=count, codec=codec)
    history.record("agent-1", SMALL, sender="agent-0")  # warm caches outside the measurement
    history.clear()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(count):
            history.record("agent-1", SMALL, sender="agent-0")
        live = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(history) == count
    assert live / count <= 1024, f"{live / count:.0f} B live per record"
    assert history.nbytes / count <= 300


# -- threads -----------------------------------------------------------------------------------


def test_records_from_several_threads_are_all_kept_in_seq_order() -> None:
    history = History(max_messages=100_000)
    start = threading.Barrier(4)

    def record(n: int) -> None:
        start.wait()
        for i in range(2_000):
            history.record(f"t{n}", i)

    threads = [threading.Thread(target=record, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = history.query()
    assert [r.seq for r in records] == list(range(1, 8_001))
    assert history.nbytes == sum(len(r.payload) for r in records)
    for n in range(4):
        assert history.messages(f"t{n}") == list(range(2_000))


def test_persist_skips_evicted_records(tmp_path: Path) -> None:
    history = History(max_messages=2)
    for i in range(5):
        history.record("a", i)
    with Store(tmp_path / "h.db") as store:
        assert history.persist(store) == 2
        assert [history.codec.decode(m.payload) for m in store.last_messages("a", 10)] == [4, 3]


def test_failed_persist_is_retried_by_the_next_call(tmp_path: Path) -> None:
    history = History()
    history.record("a", 1)
    closed = Store(tmp_path / "closed.db")
    closed.close()
    with pytest.raises(StoreClosed):
        history.persist(closed)
    history.record("a", 2)
    with Store(tmp_path / "h.db") as store:
        assert history.persist(store) == 2
        assert store.count_messages("a") == 2
