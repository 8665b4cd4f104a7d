"""The command-line options several commands share: argument types, the suite paths and the
benchmark filters (``--suite``, ``--target``, ``-k``), ``--inherit-environ`` and ``--quiet``."""

from __future__ import annotations

import argparse
import math

from perfkit_bench._discovery import DEFAULT_PATH

__all__ = [
    "add_filters",
    "add_inherit_environ",
    "add_paths",
    "add_quiet",
    "environ_names",
    "non_negative_int",
    "positive_finite_float",
    "positive_float",
    "positive_int",
]


def add_paths(parser: argparse.ArgumentParser) -> None:
    """The positional suite paths of ``list`` and ``run``."""
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=f"suite folders or files (default {DEFAULT_PATH}/)",
    )


def add_filters(parser: argparse.ArgumentParser) -> None:
    """``--suite``, ``--target`` (both repeatable, alternatives) and ``-k PATTERN``."""
    parser.add_argument(
        "--suite", action="append", default=[], metavar="NAME", help="only this suite (repeatable)"
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="only this target (repeatable)",
    )
    parser.add_argument(
        "-k", dest="pattern", metavar="PATTERN", help="id substring, or glob with * ? ["
    )


def add_inherit_environ(parser: argparse.ArgumentParser, stripped: str) -> None:
    parser.add_argument(
        "--inherit-environ",
        metavar="VARS",
        default="",
        help=f"comma-separated environment variables passed to workers ({stripped})",
    )


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress display")


def environ_names(text: str) -> tuple[str, ...]:
    """``--inherit-environ A, B`` -> ``("A", "B")``."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


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
