"""Every error perfkit-runtime raises, under one root.

::

    PerfkitRuntimeError
    ├── RuntimeClosed          the runtime was closed; create a new one
    ├── ModeError              an API or handler that the runtime's mode cannot run
    ├── SpawnError             spawn() got something that is not an Agent subclass, or bad options
    ├── UnknownAddress         no agent, group or topic has that name (also recorded as a dead letter)
    ├── AgentStopped           ask()/send() to an agent that has stopped
    ├── MailboxFull            a bounded mailbox had no room (WouldBlock-style, from tell/send_nowait)
    ├── AskTimeout             no reply within the timeout (also a builtin TimeoutError)
    ├── WorkerError            a worker process (processes mode) could not start or did not answer
    ├── CodecError
    │   ├── CodecUnavailable   the codec's optional extra is not installed
    │   ├── EncodeError        the message cannot be serialized by that codec
    │   └── DecodeError        the bytes are not valid for that codec
    └── StoreError
        ├── StoreClosed        the store was closed
        └── StoreCorrupt       the file is not a SQLite database or not a perfkit store

Messages name the fix. Errors raised inside an agent's handler are not wrapped: they reach the
asker of ``ask()`` as they were raised, and are counted in the agent's statistics.
"""

from __future__ import annotations

__all__ = [
    "AgentStopped",
    "AskTimeout",
    "CodecError",
    "CodecUnavailable",
    "DecodeError",
    "EncodeError",
    "MailboxFull",
    "ModeError",
    "PerfkitRuntimeError",
    "RuntimeClosed",
    "SpawnError",
    "StoreClosed",
    "StoreCorrupt",
    "StoreError",
    "UnknownAddress",
    "WorkerError",
]


class PerfkitRuntimeError(Exception):
    """Root of every error raised by perfkit-runtime."""


class RuntimeClosed(PerfkitRuntimeError):
    """The runtime has been closed."""


class ModeError(PerfkitRuntimeError):
    """The call or handler does not fit the runtime's delivery mode."""


class SpawnError(PerfkitRuntimeError):
    """spawn() was given something it cannot start."""


class UnknownAddress(PerfkitRuntimeError, LookupError):
    """No agent, group or topic is registered under that address."""


class AgentStopped(PerfkitRuntimeError):
    """The agent has stopped and takes no more requests."""


class MailboxFull(PerfkitRuntimeError):
    """A bounded mailbox had no room for the message."""


class AskTimeout(PerfkitRuntimeError, TimeoutError):
    """No reply arrived within the timeout."""


class WorkerError(PerfkitRuntimeError):
    """A worker process could not start, or did not answer."""


class CodecError(PerfkitRuntimeError):
    """Base of serialization errors."""


class CodecUnavailable(CodecError, ImportError):
    """The codec needs an optional dependency that is not installed."""


class EncodeError(CodecError, TypeError):
    """The value cannot be serialized by this codec."""


class DecodeError(CodecError, ValueError):
    """The bytes cannot be deserialized by this codec."""


class StoreError(PerfkitRuntimeError):
    """Base of SQLite store errors."""


class StoreClosed(StoreError):
    """The store has been closed."""


class StoreCorrupt(StoreError):
    """The file is not a usable perfkit store."""
