"""Argument types and the SIGTERM handler shared by perfkit-bench's commands (run, ab,
instructions)."""

from __future__ import annotations

import argparse
import math
from types import FrameType

__all__ = [
    "exit_on_sigterm",
    "non_negative_int",
    "positive_finite_float",
    "positive_float",
    "positive_int",
]


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (a CI runner cancelling a job) as an exit that unwinds, so worker process groups
    are still killed; 128 + signal number is the shell's convention for "killed by" (143)."""
    raise SystemExit(128 + signum)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def positive_finite_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value
