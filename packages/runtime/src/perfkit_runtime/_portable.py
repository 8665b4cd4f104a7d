"""What may leave the process: the check ``tell`` makes before a message is batched.

Processes and ray mode encode messages in batches after ``tell`` has returned; an encoding error
then would reach nobody. So ``tell`` checks first, cheaply: a message made only of ints, floats,
strings, bytes, bools and None, and tuples, lists and dicts of them (three levels deep), always
pickles; anything else is encoded once, on the spot, by the codec that will carry it.
"""

from __future__ import annotations

import pickle
from typing import Any

from perfkit_runtime._codec import Codec
from perfkit_runtime._exceptions import EncodeError

__all__ = ["SCALARS", "check_message", "pickles", "plain"]

SCALARS = frozenset({int, float, str, bytes, bool, type(None)})
_CONTAINERS = (tuple, list)


def plain(msg: Any, depth: int = 0) -> bool:
    """True when pickle can surely encode ``msg`` (scalars, tuples/lists/dicts of them)."""
    t = type(msg)
    if t in SCALARS:
        return True
    if depth > 2:
        return False
    if t in _CONTAINERS:
        return all(plain(m, depth + 1) for m in msg)
    if t is dict:
        return all(plain(k, depth + 1) and plain(v, depth + 1) for k, v in msg.items())
    return False


def check_message(codec: Codec, msg: Any, agent: str) -> None:
    """Raise :class:`EncodeError` naming the agent and the codec if ``msg`` cannot travel."""
    if codec.name in ("pickle", "cloudpickle") and plain(msg):
        return
    try:
        codec.encode(msg)
    except EncodeError as exc:
        raise EncodeError(
            f"cannot send a {type(msg).__qualname__} to agent {agent!r} in another process with "
            f"codec {codec.name!r}: {exc}"
        ) from exc


def pickles(value: Any) -> bool:
    """Whether pickle can send ``value`` to another process (a group's key, a dead letter)."""
    try:
        pickle.dumps(value, 5)
    except Exception:
        return False
    return True
