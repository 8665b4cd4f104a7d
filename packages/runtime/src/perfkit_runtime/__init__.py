"""perfkit-runtime: a fast in-process multi-agent runtime."""

from __future__ import annotations

from perfkit_runtime._agent import Agent
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
    WorkerError,
)
from perfkit_runtime._history import History, HistoryRecord, HistoryStats
from perfkit_runtime._modes.asyncio import AsyncRef
from perfkit_runtime._modes.remote import register_remote_modes as _register_remote_modes
from perfkit_runtime._modes.sync import SyncRef
from perfkit_runtime._modes.threads import ThreadRef
from perfkit_runtime._pool import AgentPool, PoolStats
from perfkit_runtime._processes._ref import ProcessRef
from perfkit_runtime._ray._ref import RayRef
from perfkit_runtime._ref import AgentRef
from perfkit_runtime._router import (
    BroadcastGroup,
    ConsistentHashGroup,
    DeadLetter,
    DeadLetters,
    Group,
    RoundRobinGroup,
    Router,
)
from perfkit_runtime._runtime import MODES, CloseReport, Runtime
from perfkit_runtime._statistics import (
    AgentStats,
    LatencyStats,
    MailboxStats,
    RouterStats,
    RuntimeStats,
)
from perfkit_runtime._store import Store, StoredMessage, StoreStats

__version__ = "0.1.0"

# processes and ray mode run a Runtime in each worker, so the runtime cannot import them: the
# facade, above both, tells it how to open them (each is imported on first use).
_register_remote_modes()

__all__ = [
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
]
