"""The delivery modes: how a runtime's agents run, one module per mode.

``delivery.py`` states the protocol between a ``Runtime`` and its mode; ``local.py`` is what the
in-process modes share; ``sync.py``, ``threads.py`` and ``asyncio.py`` each hold a mode's
scheduler (its ``Delivery``) and its reference class. ``open_delivery`` picks one by name.

The modes whose agents live in other processes (``processes.py``, ``ray.py``) sit above the
runtime: each of their workers runs a ``Runtime`` subclass. The package facade registers how to
open them (``remote.py`` into ``REMOTE_OPENERS``), so ``_runtime`` reaches them without an import
that would close a cycle.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from perfkit_runtime._exceptions import ModeError
from perfkit_runtime._modes.asyncio import AsyncioDelivery
from perfkit_runtime._modes.sync import SyncDelivery
from perfkit_runtime._modes.threads import ThreadDelivery

if TYPE_CHECKING:
    from perfkit_runtime._modes.delivery import Delivery, ModeRuntime

__all__ = ["MODES", "REMOTE_OPENERS", "Mode", "available_cpus", "default_workers", "open_delivery"]

Mode = Literal["sync", "threads", "asyncio", "processes", "ray"]
MODES: tuple[str, ...] = ("sync", "threads", "asyncio", "processes", "ray")
# Modes whose agents live in other processes: messages must be serializable there.
REMOTE_MODES: tuple[str, ...] = ("processes", "ray")
# How to open each of REMOTE_MODES: ``(runtime, workers, options) -> Delivery``, filled in by
# ``remote.register_remote_modes()`` when the package is imported.
REMOTE_OPENERS: dict[str, Callable[[ModeRuntime, int, dict[str, Any]], Delivery]] = {}

# Threads give no CPU parallelism under the GIL; four workers let handlers that block (I/O, ask)
# overlap without paying for many idle threads. Worker processes do: one per CPU.
DEFAULT_THREADS = 4


def default_workers(mode: str) -> int:
    return available_cpus() if mode == "processes" else DEFAULT_THREADS


def available_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def open_delivery(
    mode: str, runtime: ModeRuntime, workers: int, options: dict[str, Any] | None = None
) -> Delivery:
    """The delivery that runs ``runtime``'s agents in ``mode`` (one of ``MODES``); ``options``
    are the mode's own keyword arguments (only processes and ray mode take any)."""
    options = options or {}
    if mode in REMOTE_MODES:
        opener = REMOTE_OPENERS.get(mode)
        if opener is None:
            raise ModeError(f"mode={mode!r} is not registered: import perfkit_runtime first")
        return opener(runtime, workers, options)
    if options:
        raise TypeError(
            f"mode={mode!r} takes no option {', '.join(sorted(options))}; those belong to "
            "mode='processes' or mode='ray'"
        )
    if mode == "threads":
        return ThreadDelivery(runtime, workers)
    if mode == "asyncio":
        return AsyncioDelivery(runtime)
    return SyncDelivery(runtime)
