"""Frames and source files as two captures can match them: by function and file, never by line.

The base and the head of a regression check live in two checkouts and two environments, so
``/tmp/base/.nox/x/lib/python3.11/site-packages/perfkit_runtime/_router.py`` and
``/work/packages/runtime/src/perfkit_runtime/_router.py`` are the same file. Installed and stdlib
files keep their path after ``site-packages/`` or ``lib/pythonX.Y/``; other files (a suite, an
editable install) their last two parts, ``benchmarks/_common.py``, ``perfkit_runtime/_router.py``.
A line moves with any edit above it, so it is shown but never part of a frame's identity.

py-spy writes a frame of its folded stacks as ``function (file:line)`` (with ``--function``, the
function's first line), a native frame as ``0x7f... (libc.so.6)`` or ``symbol (file:line)``.
An unnamed native frame is an address that moves from process to process (address space layout
randomisation), so its key is the library alone.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Frame", "normalize_file", "parse_frame"]

# Path prefixes after which a file's identity begins: installed packages and the stdlib.
_ROOTS = re.compile(r"^.*(?:site-packages|dist-packages|/lib/python\d+\.\d+)/")
# ``function (file:line)`` or ``function (file)``; the file may itself hold colons and spaces.
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<where>.*)\)$", re.DOTALL)
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]+$")


class Frame(NamedTuple):
    """One frame: ``file`` as written by the profiler (a full path), ``line`` or None."""

    function: str
    file: str
    line: int | None

    @property
    def key(self) -> tuple[str, str]:
        """What matches this frame across captures: the function and its normalised file."""
        function = "0x?" if _ADDRESS.match(self.function) else self.function
        return function, normalize_file(self.file)

    @property
    def label(self) -> str:
        """``function (package/file.py:line)``: short, and still says where."""
        where = normalize_file(self.file)
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{self.function} ({where})" if where else self.function


def normalize_file(path: str) -> str:
    """A file's path from its package or suite folder on (see the module docstring)."""
    text = path.replace("\\", "/")
    if text.startswith("<"):
        return text  # <frozen importlib._bootstrap>, <string>
    stripped = _ROOTS.sub("", text)
    if stripped != text:
        return stripped
    parts = [part for part in text.split("/") if part]
    return "/".join(parts[-2:])


def parse_frame(text: str) -> Frame:
    """A frame of py-spy's folded output; text without a ``(file)`` part is all function."""
    match = _FRAME.match(text)
    if match is None:
        return Frame(text, "", None)
    where = match["where"]
    file, colon, line = where.rpartition(":")
    if colon and line.isdigit():
        return Frame(match["function"], file, int(line))
    return Frame(match["function"], where, None)
