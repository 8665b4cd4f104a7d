"""The mesh across real processes: wake-ups, batching frames, and no segment left in /dev/shm."""

from __future__ import annotations

import os
import pickle
import signal
import time
from pathlib import Path

import pytest

from perfkit_runtime import get_codec
from perfkit_runtime._transport import ASK, DATA, Mesh, Outbox, count_messages, decode_frame

SHM = Path("/dev/shm")


def segments() -> set[str]:
    return set(os.listdir(SHM)) if SHM.exists() else set()


def child(body: object) -> int:
    """Fork a child that runs ``body()`` and exits 0, or 1 if it raised."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            body()  # type: ignore[operator]
            code = 0
        finally:
            os._exit(code)
    return pid


def exit_code(pid: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("child did not finish")


def test_the_segment_never_stays_in_dev_shm() -> None:
    mesh = Mesh(3, 4096)
    name = mesh.segment_name.lstrip("/")
    assert name not in segments()  # unlinked as soon as it existed
    mesh.close()
    # Compared by name: other processes on the machine may create segments meanwhile.
    assert name not in segments()


def test_a_sigkilled_process_leaves_no_segment() -> None:
    mesh = Mesh(2, 4096)

    def sleeper() -> None:
        time.sleep(60)

    pid = child(sleeper)
    os.kill(pid, signal.SIGKILL)
    assert exit_code(pid) == -signal.SIGKILL
    mesh.close()
    assert mesh.segment_name.lstrip("/") not in segments()  # by name, as above


def test_a_sleeping_reader_is_woken_by_one_bell_for_a_whole_batch() -> None:
    mesh = Mesh(2, 1 << 16)
    codec = get_codec("pickle")
    reply = os.pipe()

    def reader() -> None:
        ring, bell = mesh.ring(0, 1), mesh.bell(1)
        wakeups = 0
        got: list[object] = []
        while len(got) < 2:
            if ring.pending() == 0:
                if bell.wait(lambda: ring.pending() > 0, 5.0):
                    wakeups += 1
                continue
            item = ring.get()
            assert item is not None
            kind, view = item
            got.append(decode_frame(kind, view, codec))
            ring.consume(view)
        os.write(reply[1], pickle.dumps((got, wakeups)))

    pid = child(reader)
    deadline = time.monotonic() + 10
    while not mesh.bell(1).sleeping and time.monotonic() < deadline:
        time.sleep(0.001)  # until the reader is asleep (a loaded machine may start it late)
    out = Outbox(mesh.ring(0, 1), mesh.bell(1), codec, limit=1000)
    for i in range(1000):
        out.add(3, (i, "x"))
    assert out.flush()
    out.add_record(ASK, [3, 9, "q"])
    assert out.flush()
    assert exit_code(pid) == 0
    got, wakeups = pickle.loads(os.read(reply[0], 1 << 20))
    assert got[0] == [3, [(i, "x") for i in range(1000)]]
    assert got[1] == [ASK, [3, 9, "q"]]
    assert 1 <= wakeups <= 2
    os.close(reply[0])
    os.close(reply[1])
    mesh.close()


def test_outbox_keeps_order_across_runs_and_records() -> None:
    mesh = Mesh(2, 1 << 12)
    try:
        out = Outbox(mesh.ring(0, 1), mesh.bell(1), get_codec("msgpack"), limit=100)
        out.add(1, "a")
        out.add(1, "b")
        out.add(2, "c")
        out.add_record(ASK, [1, 5, "q"])
        out.add(1, "d")
        assert out.count == 5
        assert out.flush()
        ring = mesh.ring(0, 1)
        item = ring.get()
        assert item is not None
        kind, view = item
        records = decode_frame(kind, view, get_codec("msgpack"))
        ring.consume(view)
        assert kind == DATA
        assert records == [1, ["a", "b"], 2, ["c"], ASK, [1, 5, "q"], 1, ["d"]]
        assert count_messages(records) == 5
    finally:
        mesh.close()


def test_a_full_ring_keeps_the_batch_and_drop_oldest_takes_the_first_tell() -> None:
    mesh = Mesh(2, 512)
    try:
        out = Outbox(mesh.ring(0, 1), mesh.bell(1), get_codec("pickle"), limit=10)
        for _ in range(2):
            out.add(1, b"x" * 200)
            assert out.flush()
        out.add(1, b"y" * 100)
        assert not out.flush()  # the reader has not consumed the first frame
        assert out.count == 1
        out.add(2, "z")
        assert out.drop_oldest() == (1, b"y" * 100)
        assert out.pending == [2, ["z"]]
        assert out.count == 1
    finally:
        mesh.close()


@pytest.mark.parametrize("codec", ["pickle", "json"])
def test_a_long_batch_travels_in_pieces(codec: str) -> None:
    mesh = Mesh(2, 1024)
    c = get_codec(codec)
    got: list[object] = []
    ring = mesh.ring(0, 1)

    def wait() -> bool:
        while (item := ring.get()) is not None:
            got.append(decode_frame(item[0], item[1], c))
            ring.consume(item[1])
        return True

    try:
        out = Outbox(ring, mesh.bell(1), c, limit=1000, wait=wait)
        for i in range(500):
            out.add(4, [i, "payload"])
        assert out.flush()
        wait()
        assert got == [[4, [[i, "payload"] for i in range(500)]]]
    finally:
        mesh.close()
