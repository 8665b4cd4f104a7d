"""Folded stacks (Brendan Gregg's format, py-spy's ``-f raw``): parsing, the call tree, top frames.

One line per distinct stack: frames from the root to the leaf joined by ``;``, a space, and the
number of samples that saw exactly that stack::

    <module> (/x/_driver.py:1);main (/x/_driver.py:52);tell_sync (/b/message_throughput.py:40) 7

The driver's own frames (``perfkit_profile/_driver.py``: its ``<module>``, ``main``, the calls
loop) are harness, not workload, and sit at the bottom of every main-thread stack. Above the
driver's wrapper around each workload call (``_profile.<locals>.call``) is the workload: those
frames are kept, so the workload's function is a root of the tree. Every other sample of the
driver's thread (importing the workload, calibration bookkeeping, writing the result) is counted
under one :data:`DRIVER` frame, so shares still add up to 100 % and the deep import stacks do
not tower over the graph. Stacks without a driver frame (the workload's own threads) are kept
whole.

Frames are matched by function and normalised file (see ``_frames``); a node of the tree is a
path of such keys from a root, so two captures' trees can be laid side by side (``_stack_diff``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from perfkit_profile._frames import Frame, normalize_file, parse_frame

__all__ = [
    "DRIVER",
    "Node",
    "Stack",
    "build_tree",
    "parse_folded",
    "top_frames",
    "workload_stacks",
]

DRIVER = Frame("(perfkit-profile driver)", "", None)
_DRIVER_FILE = "perfkit_profile/_driver.py"
# The driver's wrapper around each call of the workload (``_driver._profile``'s inner ``call``).
_DRIVER_CALL = "_profile.<locals>.call"

Stack = tuple[tuple[Frame, ...], int]


def parse_folded(text: str) -> list[Stack]:
    """Every ``frames count`` line; blank and malformed lines (no count) are skipped. A line
    with a count and no frames (py-spy writes one for a sample it could not unwind) is kept
    with an empty stack."""
    stacks: list[Stack] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        head, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = tuple(parse_frame(part) for part in head.split(";") if part) if head else ()
        stacks.append((frames, int(count)))
    return stacks


def workload_stacks(stacks: Iterable[Stack]) -> list[Stack]:
    """The workload's part of each stack; the driver's samples under DRIVER (module docstring)."""
    kept: list[Stack] = []
    for frames, count in stacks:
        inner = _innermost_driver_frame(frames)
        if inner is None:
            kept.append((frames or (DRIVER,), count))
        elif frames[inner].function == _DRIVER_CALL and inner + 1 < len(frames):
            kept.append((frames[inner + 1 :], count))
        else:
            kept.append(((DRIVER,), count))
    return kept


def _innermost_driver_frame(frames: tuple[Frame, ...]) -> int | None:
    for index in range(len(frames) - 1, -1, -1):
        if normalize_file(frames[index].file) == _DRIVER_FILE:
            return index
    return None


@dataclass
class Node:
    """A frame at one place in the call tree: ``total`` samples on it or below, ``self`` on it
    as the leaf."""

    frame: Frame
    total: int = 0
    self: int = 0
    children: dict[tuple[str, str], Node] = field(default_factory=dict)

    def child(self, frame: Frame) -> Node:
        node = self.children.get(frame.key)
        if node is None:
            node = self.children[frame.key] = Node(frame)
        return node

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children.values():
            yield from child.walk()

    def as_json(self) -> dict[str, Any]:
        """d3-flame-graph's input: ``n`` name, ``v`` value (total), ``c`` children."""
        data: dict[str, Any] = {"n": self.frame.label, "v": self.total}
        if self.children:
            data["c"] = [child.as_json() for child in self.children.values()]
        return data


def build_tree(stacks: Iterable[Stack], root: str = "all") -> Node:
    """The call tree of ``stacks`` under one root frame named ``root``."""
    tree = Node(Frame(root, "", None))
    for frames, count in stacks:
        tree.total += count
        node = tree
        for frame in frames:
            node = node.child(frame)
            node.total += count
        node.self += count
    return tree


def top_frames(stacks: Iterable[Stack], top: int) -> dict[str, list[dict[str, Any]]]:
    """Functions by self samples (as the leaf) and by total samples (anywhere on the stack,
    once per sample even when recursive), each with its share of all samples.

    Returns ``{"self": [...], "total": [...]}``; entries hold ``function``, ``file`` (as the
    profiler wrote it), ``line`` (the function's first line), ``self_samples``,
    ``self_percent``, ``total_samples``, ``total_percent``. The DRIVER frame is left out.
    """
    selfs: dict[tuple[str, str], int] = {}
    totals: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], Frame] = {}
    samples = 0
    for frames, count in stacks:
        samples += count
        if frames:
            leaf = frames[-1].key
            selfs[leaf] = selfs.get(leaf, 0) + count
        for frame in frames:
            first.setdefault(frame.key, frame)
        for key in {frame.key for frame in frames}:
            totals[key] = totals.get(key, 0) + count
    first.pop(DRIVER.key, None)

    def entry(key: tuple[str, str]) -> dict[str, Any]:
        frame = first[key]
        own, total = selfs.get(key, 0), totals.get(key, 0)
        return {
            "function": frame.function,
            "file": frame.file,
            "line": frame.line,
            "self_samples": own,
            "self_percent": round(100 * own / samples, 3) if samples else 0.0,
            "total_samples": total,
            "total_percent": round(100 * total / samples, 3) if samples else 0.0,
        }

    by_self = sorted((key for key in first if selfs.get(key)), key=lambda key: (-selfs[key], key))
    by_total = sorted(first, key=lambda key: (-totals.get(key, 0), key))
    return {
        "self": [entry(key) for key in by_self[:top]],
        "total": [entry(key) for key in by_total[:top]],
    }
