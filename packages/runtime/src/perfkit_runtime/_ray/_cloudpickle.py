"""Encoding as Ray does: what the driver checks before a call, and what a host sends back.

A leaf of ray mode: both the delivery (``_modes/ray.py``) and the host actor (``_host.py``) use it.
Ray is imported on first use.
"""

from __future__ import annotations

from typing import Any

from perfkit_runtime._exceptions import EncodeError

__all__ = ["CloudpickleCodec", "cloudpickle_encode"]


def cloudpickle_encode(obj: Any) -> bytes:
    """What Ray does to a call's arguments; EncodeError when it cannot."""
    from ray import cloudpickle

    try:
        return bytes(cloudpickle.dumps(obj))
    except Exception as exc:
        raise EncodeError(
            f"codec 'cloudpickle' cannot encode a value of type {type(obj).__qualname__!r} "
            f"({exc}): send plain values, or objects without locks, files or sockets"
        ) from exc


class CloudpickleCodec:
    """Ray's encoding as a runtime codec: what a tell checks before a message leaves."""

    name = "cloudpickle"
    encode = staticmethod(cloudpickle_encode)

    def decode(self, data: bytes) -> Any:
        from ray import cloudpickle

        return cloudpickle.loads(data)
