"""Opening the modes whose agents live in other processes: ``processes`` and ``ray``.

Their workers and hosts each run a ``Runtime`` subclass, so these modes import ``_runtime`` and
``_runtime`` must not import them. The package facade calls ``register_remote_modes()`` once;
``open_delivery`` then finds them in ``REMOTE_OPENERS``. Each mode's own module is imported on
first use, as before: ``import perfkit_runtime`` loads neither the transport nor Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perfkit_runtime._modes import REMOTE_OPENERS

if TYPE_CHECKING:
    from perfkit_runtime._modes.delivery import Delivery, ModeRuntime

__all__ = ["register_remote_modes"]


def open_processes(runtime: ModeRuntime, workers: int, options: dict[str, Any]) -> Delivery:
    from perfkit_runtime._modes.processes import ProcessesDelivery

    return ProcessesDelivery(runtime, workers, **options)


def open_ray(runtime: ModeRuntime, workers: int, options: dict[str, Any]) -> Delivery:
    from perfkit_runtime._modes.ray import RayDelivery

    return RayDelivery(runtime, **options)


def register_remote_modes() -> None:
    REMOTE_OPENERS["processes"] = open_processes
    REMOTE_OPENERS["ray"] = open_ray
