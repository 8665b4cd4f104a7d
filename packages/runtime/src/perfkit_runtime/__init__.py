"""perfkit-runtime: a fast in-process multi-agent runtime."""

from __future__ import annotations

from perfkit_runtime._codec import CODECS, Codec, get_codec
from perfkit_runtime._exceptions import (
    AgentStopped,
    AskTimeout,
    CodecError,
    CodecUnavailable,
    DecodeError,
    EncodeError,
    MailboxFull,
    ModeError,
    PerfkitRuntimeError,
    RuntimeClosed,
    SpawnError,
    StoreClosed,
    StoreCorrupt,
    StoreError,
    UnknownAddress,
)
from perfkit_runtime._history import History, HistoryRecord, HistoryStats
from perfkit_runtime._store import Store, StoreStats, StoredMessage

__version__ = "0.1.0"

__all__ = [
    "CODECS",
    "AgentStopped",
    "AskTimeout",
    "Codec",
    "CodecError",
    "CodecUnavailable",
    "DecodeError",
    "EncodeError",
    "History",
    "HistoryRecord",
    "HistoryStats",
    "MailboxFull",
    "ModeError",
    "PerfkitRuntimeError",
    "RuntimeClosed",
    "SpawnError",
    "Store",
    "StoreClosed",
    "StoreCorrupt",
    "StoreError",
    "StoreStats",
    "StoredMessage",
    "UnknownAddress",
    "__version__",
    "get_codec",
]
