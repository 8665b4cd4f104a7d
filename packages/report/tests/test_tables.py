"""One column layout, three media: aligned text, rich, GitHub Markdown."""

from __future__ import annotations

import ast
from pathlib import Path

from rich.console import Console
from rich.text import Text

import perfkit_report
from perfkit_report._tables import Columns, markdown_row

COLUMNS = Columns(("name", "value", "note"), right=frozenset({1}))
ROWS = [("a", "1.5 µs", "fast"), ("longer.name", "12 ms", "")]


def test_text_pads_columns_right_aligns_numbers_and_strips_trailing_space() -> None:
    assert COLUMNS.text(ROWS) == [
        "name          value  note",
        "-----------  ------  ----",
        "a            1.5 µs  fast",
        "longer.name   12 ms",
    ]


def test_markdown_has_an_alignment_row_from_the_same_layout() -> None:
    assert COLUMNS.markdown(ROWS) == [
        "| name | value | note |",
        "|---|---:|---|",
        "| a | 1.5 µs | fast |",
        "| longer.name | 12 ms |  |",
    ]
    assert markdown_row(["x", "y"]) == "| x | y |"


def test_rich_justifies_the_same_columns_and_prints_cells_as_text() -> None:
    table = COLUMNS.rich([[Text(cell) for cell in ("[bold]x[/bold]", "1", "")]])
    assert [column.justify for column in table.columns] == ["left", "right", "left"]
    console = Console(width=60, record=True, color_system=None)
    console.print(table)
    assert "[bold]x[/bold]" in console.export_text()  # a cell is text, never markup


def test_no_other_module_aligns_a_text_table_of_its_own() -> None:
    source = Path(perfkit_report.__file__).parent
    for path in source.rglob("*.py"):
        if path.name == "_tables.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("ljust", "rjust"):
                raise AssertionError(f"{path.relative_to(source)}:{node.lineno}: use _tables")
