"""SIGTERM as an exit that unwinds: a CI runner cancels a job with SIGTERM, and unwinding is
what kills the worker process groups a command started (``run_process``'s ``finally``)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

__all__ = ["exit_on_sigterm", "sigterm_unwinds"]


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """128 + signal number is the shell's convention for "killed by" (143)."""
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Within the block SIGTERM raises ``SystemExit(143)``; the previous handler comes back
    after it."""
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
