"""The delivery modes: how a runtime's agents run, one module per mode.

``delivery.py`` states the protocol between a ``Runtime`` and its mode; ``local.py`` is what the
in-process modes share; ``sync.py``, ``threads.py`` and ``asyncio.py`` each hold a mode's
scheduler (its ``Delivery``) and its reference class. ``open_delivery`` picks one by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from perfkit_runtime._modes.asyncio import AsyncioDelivery
from perfkit_runtime._modes.sync import SyncDelivery
from perfkit_runtime._modes.threads import ThreadDelivery

if TYPE_CHECKING:
    from perfkit_runtime._modes.delivery import Delivery
    from perfkit_runtime._runtime import Runtime

__all__ = ["MODES", "Mode", "open_delivery"]

Mode = Literal["sync", "threads", "asyncio"]
MODES: tuple[str, ...] = ("sync", "threads", "asyncio")


def open_delivery(mode: str, runtime: Runtime, workers: int) -> Delivery:
    """The delivery that runs ``runtime``'s agents in ``mode`` (one of ``MODES``)."""
    if mode == "threads":
        return ThreadDelivery(runtime, workers)
    if mode == "asyncio":
        return AsyncioDelivery(runtime)
    return SyncDelivery(runtime)
