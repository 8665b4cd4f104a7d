"""Escaping text that came from a file (benchmark names, branches, metadata) for its medium.

A result file is input from outside: a benchmark called ``x | y`` must not add a table column,
``<img src=...>`` must not become HTML in a PR comment, ``[link](...)`` must not become a link,
``@someone`` must not ping anyone, and an ANSI escape sequence must not drive the terminal.
"""

from __future__ import annotations

__all__ = ["escape_markdown", "escape_terminal"]

# Order matters: the backslash first (it escapes the others), then ``&`` before the entities
# that introduce it.
_MARKDOWN = (
    ("\\", "\\\\"),
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ("|", "\\|"),
    ("`", "\\`"),
    ("*", "\\*"),
    ("_", "\\_"),
    ("[", "\\["),
    ("]", "\\]"),
    ("@", "&#64;"),
)


def escape_markdown(text: str) -> str:
    """Text safe inside a GitHub-flavoured Markdown table cell (one line, literal characters)."""
    for raw, escaped in _MARKDOWN:
        text = text.replace(raw, escaped)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return escape_terminal(text.replace("\n", "<br>"))


def escape_terminal(text: str) -> str:
    """Text with every non-printable character (newline, ESC, other controls) shown as an escape."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )
