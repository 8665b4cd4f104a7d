"""Escaping text that came from a file (benchmark names, branches, metadata) for its medium.

A result file is input from outside: a benchmark called ``x | y`` must not add a table column,
``<img src=...>`` must not become HTML in a PR comment, ``[link](...)`` must not become a link,
``@someone`` must not ping anyone, and an ANSI escape sequence must not drive the terminal.

The one place the package escapes Markdown and terminal text: every Markdown writer (the PR
comment, compare and evaluate's Markdown, the summary, report.md and the analysis) takes its
escaping from here. HTML is escaped by the page's own writer (``html.escape``).

**GitHub-flavoured Markdown links more than Markdown's syntax.** cmark-gfm (what GitHub renders
with) turns bare ``https://...``, ``www....`` and e-mail addresses into links and ``~x~`` into a
strikethrough; GitHub then links ``@user``, ``#1``, ``owner/repo#3`` and ``GH-1`` in the text it
rendered, whatever escapes the source held (an entity such as ``&#64;`` is decoded first). So
``escape_markdown`` escapes, measured with cmark-gfm (``tests/test_gfm_rendering.py``):

- Markdown's own syntax with backslashes (a backslash, ``| ` * _ [ ] ~``), ``& < >`` as entities (no HTML,
  no ``<https://...>`` autolink);
- the colon of ``://`` with a backslash, which stops the scheme autolinks (``https://``,
  ``ftp://``), and the dot of ``www.``;
- an invisible WORD JOINER (U+2060, written ``&#8288;``) after ``@`` and ``#`` and inside ``GH-``:
  the text reads the same, but no e-mail autolink (``mailto:`` and ``xmpp:`` ones included),
  mention or issue reference starts there.
  Copied from the rendered page, such a name carries that invisible character; the commands in the
  comment are code blocks, copied exactly.
"""

from __future__ import annotations

import re

__all__ = [
    "escape_markdown",
    "escape_terminal",
    "markdown_code",
    "markdown_code_block",
    "markdown_with_code",
]

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
    ("~", "\\~"),
    ("://", "\\://"),  # https://, ftp://: a scheme autolink needs the colon unescaped
    ("#", "#&#8288;"),  # before "@": its entity holds a "#"
    ("@", "@&#8288;"),
)
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)
_GH = re.compile(r"\b(gh)-", re.IGNORECASE)


def escape_markdown(text: str) -> str:
    """Text safe inside a GitHub-flavoured Markdown table cell or paragraph (one line, literal
    characters, nothing linked, struck, mentioned or referenced)."""
    for raw, escaped in _MARKDOWN:
        text = text.replace(raw, escaped)
    text = _GH.sub("\\1&#8288;-", _WWW.sub("\\1\\\\.", text))
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


def markdown_code(text: str) -> str:
    """Text in code font, inline: an HTML ``<code>`` element around the escaped text. A Markdown
    code span cannot hold every string (backslash escapes do not work inside one, a backtick ends
    it, and a ``|`` still splits a table cell on some renderers); escaped text inside ``<code>``
    can."""
    return f"<code>{escape_markdown(text)}</code>"


def markdown_with_code(text: str) -> str:
    """perfkit's own wording with `backticked` commands: the backticked parts as code, the rest
    escaped. Only for text perfkit writes; a string from outside quoted in it must have its
    backticks replaced first (the dashboard's notes do), or it would open a code span."""
    parts = text.split("`")
    return "".join(
        f"`{part}`" if index % 2 else escape_markdown(part) for index, part in enumerate(parts)
    )


_BACKTICK_RUNS = re.compile(r"`+")


def markdown_code_block(text: str, info: str = "") -> str:
    """A fenced code block showing ``text`` literally (a command to copy). The fence is longer
    than any run of backticks in the text, so no line of it can close the block; non-printable
    characters other than newlines are shown as escapes."""
    lines = [escape_terminal(line) for line in text.replace("\r\n", "\n").split("\n")]
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([fence + info, *lines, fence])
