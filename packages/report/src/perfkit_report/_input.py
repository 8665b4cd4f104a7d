"""Reading a file that came from outside: the part of the input contract every reader shares.

The contract (docs/report.md, "Bad input"): a file perfkit-report reads from outside (a result
file, a targets file, a profile summary) is either read whole and valid, or refused with one line
naming the file, what is wrong and the fix (``InputError``: the CLI exits 2) before anything is
written. Each reader (the pyperf reader, targets.toml, summary.json, and readers of other result
formats) reads through this module, then checks its own format; a result reader hands its run to
``_history._contract.checked_run`` last, which proves the store can write every field.

What is shared here, and why:

- **Only regular files are read.** A FIFO given as a file would block ``open`` until a writer
  came (forever, in CI); a device or ``/dev/zero`` would never end; a directory fails late with
  an odd message. The path is looked at with ``stat`` before it is opened, then opened with
  ``O_NONBLOCK`` and looked at again through the descriptor, so a FIFO swapped in between cannot
  block either.
- **JSON without surprises**: ``NaN`` / ``Infinity`` are refused (pyperf never writes them);
  nesting too deep for Python's parser (``RecursionError`` at about a thousand levels) and
  integers longer than Python converts (4300 digits) are one-line errors, not tracebacks;
  ``json_depth`` lets a reader bound the nesting of a value it will store (the store's encoder
  recurses too).
- **Paths as text**: a file name that is not UTF-8 reaches Python with lone surrogates, which
  SQLite cannot store; ``path_text`` shows such bytes as escapes.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfkit_report._exceptions import InputError

__all__ = ["json_depth", "parse_json", "path_text", "read_input", "utf8_text"]

# How a reader builds its error from "PATH: REASON; FIX" (ResultFileError, TargetsFileError...).
ErrorType = Callable[[str], InputError]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_input(path: Path, error: ErrorType, fix: str) -> bytes:
    """The bytes of the regular file at ``path``; ``error("PATH: REASON; FIX")`` otherwise."""
    try:
        _refuse_special(path, os.stat(path).st_mode, error)
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise error(f"{path}: cannot read the file ({exc.strerror}); {fix}") from exc
    with open(descriptor, "rb") as stream:
        try:
            _refuse_special(path, os.fstat(descriptor).st_mode, error)
            return stream.read()
        except OSError as exc:
            raise error(f"{path}: cannot read the file ({exc.strerror}); {fix}") from exc


def _refuse_special(path: Path, mode: int, error: ErrorType) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise error(f"{path}: is {kind}, not a file; pass the path of a regular file")


def utf8_text(path: Path, raw: bytes, error: ErrorType, fix: str) -> str:
    """``raw`` decoded as UTF-8 (which refuses lone surrogates), or the reader's error."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}); {fix}") from exc


class _Constant(ValueError):
    """NaN, Infinity or -Infinity met by the JSON parser."""


def _refuse_constant(name: str) -> Any:
    raise _Constant(name)


def parse_json(where: str, text: str, error: ErrorType, fix: str) -> Any:
    """``text`` parsed as strict JSON; the reader's error ``WHERE: REASON; FIX`` for what
    Python's parser cannot take.

    ``json.JSONDecodeError`` (a ValueError) is left to the caller, which knows its format well
    enough to say whether the text was cut short."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except _Constant as exc:
        raise error(
            f"{where}: contains {exc} where a number belongs (JSON has no NaN or Infinity); {fix}"
        ) from exc
    except RecursionError as exc:
        raise error(f"{where}: JSON nested too deeply to read (over ~1000 levels); {fix}") from exc
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # an integer beyond sys.get_int_max_str_digits()
        raise error(f"{where}: holds a number too long to read ({exc}); {fix}") from exc


def json_depth(value: Any, limit: int) -> int:
    """How deeply lists and objects nest in ``value`` (a scalar is 0), counted up to ``limit + 1``
    (deeper values are not walked further). Iterative: any depth is safe to measure."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, depth + 1)
        if deepest > limit:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest


def path_text(path: str | os.PathLike[str]) -> str:
    """A path as text that can be stored and shown: bytes of a file name that are not UTF-8
    (lone surrogates in Python's view of it) become ``\\xNN`` escapes."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text
