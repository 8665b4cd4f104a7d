"""Pins the public surface of perfkit_runtime: a change here is an API change."""

from __future__ import annotations

import perfkit_runtime
from perfkit_runtime import _exceptions

EXPECTED = {
    "CODECS",
    "MODES",
    "Agent",
    "AgentPool",
    "AgentRef",
    "AgentStats",
    "AgentStopped",
    "AskTimeout",
    "AsyncRef",
    "BroadcastGroup",
    "CloseReport",
    "Codec",
    "CodecError",
    "CodecUnavailable",
    "ConsistentHashGroup",
    "DeadLetter",
    "DeadLetters",
    "DecodeError",
    "EncodeError",
    "Group",
    "History",
    "HistoryRecord",
    "HistoryStats",
    "LatencyStats",
    "MailboxFull",
    "MailboxStats",
    "ModeError",
    "PerfkitRuntimeError",
    "PoolStats",
    "ProcessRef",
    "RayRef",
    "RoundRobinGroup",
    "Router",
    "RouterStats",
    "Runtime",
    "RuntimeClosed",
    "RuntimeStats",
    "SpawnError",
    "Store",
    "StoreClosed",
    "StoreCorrupt",
    "StoreError",
    "StoreStats",
    "StoredMessage",
    "SyncRef",
    "ThreadRef",
    "UnknownAddress",
    "WorkerError",
    "__version__",
    "get_codec",
}


def test_all_is_the_expected_surface() -> None:
    assert set(perfkit_runtime.__all__) == EXPECTED


def test_every_exported_name_exists() -> None:
    for name in perfkit_runtime.__all__:
        assert hasattr(perfkit_runtime, name), name


def test_every_error_has_the_one_root() -> None:
    for name in _exceptions.__all__:
        cls = getattr(_exceptions, name)
        assert issubclass(cls, perfkit_runtime.PerfkitRuntimeError), name


def test_the_exception_docstring_draws_every_error() -> None:
    doc = _exceptions.__doc__ or ""
    for name in _exceptions.__all__:
        assert name in doc, f"{name} is missing from the tree in _exceptions' docstring"
