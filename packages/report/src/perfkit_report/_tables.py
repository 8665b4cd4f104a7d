"""Tables: one column layout, printed as aligned text, a rich table or a GitHub Markdown table.

A table is declared once, its headers and which columns hold numbers (right-aligned), and each
medium prints it from that: ``text`` for pipes and logs (padded columns, a dashed rule, trailing
spaces stripped), ``rich`` for a terminal, ``markdown`` for a comment or report (with the
alignment row). Cells arrive escaped for their medium; nothing here escapes, so each caller's
escaping stays where its medium is chosen (``_escape``; rich cells are ``Text``, never markup).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text

__all__ = ["Columns", "markdown_row"]


def markdown_row(cells: Iterable[str]) -> str:
    """``| a | b |``: one row of a GitHub Markdown table."""
    return "| " + " | ".join(cells) + " |"


@dataclass(frozen=True, slots=True)
class Columns:
    """A table's headers and the indexes of its right-aligned columns."""

    headers: tuple[str, ...]
    right: frozenset[int] = frozenset()

    def text(self, rows: Iterable[Sequence[str]]) -> list[str]:
        """Aligned plain text: the header, a rule of dashes, one line per row."""
        table = [self.headers, *(tuple(row) for row in rows)]
        widths = [max(len(row[i]) for row in table) for i in range(len(self.headers))]
        lines = []
        for index, row in enumerate(table):
            cells = [
                cell.rjust(widths[i]) if i in self.right else cell.ljust(widths[i])
                for i, cell in enumerate(row)
            ]
            lines.append("  ".join(cells).rstrip())
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
        return lines

    def rich(self, rows: Iterable[Sequence[Text]]) -> Table:
        """A rich table (no lines between rows) for a terminal."""
        table = Table(show_lines=False)
        for index, name in enumerate(self.headers):
            table.add_column(name, justify="right" if index in self.right else "left")
        for row in rows:
            table.add_row(*row)
        return table

    def markdown(self, rows: Iterable[Sequence[str]]) -> list[str]:
        """A GitHub Markdown table: the header, the alignment row, one line per row."""
        align = "|" + "".join(
            "---:|" if index in self.right else "---|" for index in range(len(self.headers))
        )
        return [markdown_row(self.headers), align, *(markdown_row(row) for row in rows)]
