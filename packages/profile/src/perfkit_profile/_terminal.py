"""Text from outside (function names, files, branches) made safe for a rich terminal table."""

from __future__ import annotations

from rich.markup import escape

__all__ = ["cell"]


def cell(text: str) -> str:
    """``text`` shown literally by rich: markup brackets escaped, control characters (an ANSI
    escape sequence, a newline) written as ``\\xNN``."""
    return escape("".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text))
