"""The package's rooms and who may import whom, read from the source (``ast``), not from memory.

::

    perfkit_report/
      __init__.py __main__.py   the facade; may import anything
      _cli/                     the command line; may import anything but the facade
      _history/                 the store: imports root modules only
      _gate/   _render/         import _history and root modules, never each other
      _exceptions.py ...        root modules: import each other only, never a room

Every import counts: module level, inside functions, and under ``if TYPE_CHECKING:``. A module
outside a room reaches it through the room's package (``perfkit_report._history``), never
through its private modules. No module imports the facade (``perfkit_report`` itself), and there
is no import cycle at all. SQL is written only inside ``_history``: elsewhere no SQL keyword in
a string, no ``.execute(`` / ``.executemany(`` / ``.query(``, no sqlite3 or sqlite-utils
import, no ``History.db``.
"""

from __future__ import annotations

import ast
import graphlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import perfkit_report

PACKAGE = "perfkit_report"
SOURCE = Path(perfkit_report.__file__).parent
ROOMS = ("_history", "_gate", "_render")
# What each room may import besides itself and the root modules.
ALLOWED_ROOMS = {"_history": set(), "_gate": {"_history"}, "_render": {"_history"}}
SQL_WORDS = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN|COMMIT|ROLLBACK)\b"
)
SQL_CALLS = ("execute", "executemany", "executescript", "query")
SQL_MODULES = ("sqlite3", "sqlite_utils")


@dataclass(frozen=True, slots=True)
class Module:
    """One source file: its dotted name and parsed tree."""

    name: str
    tree: ast.Module
    is_package: bool = False

    @property
    def part(self) -> str:
        """``_history`` / ``_gate`` / ``_render``, ``_cli``, ``facade``, or ``root``."""
        parts = self.name.split(".")
        if len(parts) == 1 or parts[1] == "__main__":
            return "facade"
        if parts[1] in (*ROOMS, "_cli"):
            return parts[1]
        return "root"


def read_package(source: Path = SOURCE) -> dict[str, Module]:
    """Every module of the package under ``source``, by dotted name."""
    modules = {}
    for path in sorted(source.rglob("*.py")):
        parts = (PACKAGE, *path.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        modules[name] = Module(name, tree, path.name == "__init__.py")
    return modules


def imports(module: Module, known: Iterable[str]) -> set[str]:
    """The perfkit_report modules ``module`` imports, anywhere in its file."""
    names = set(known)
    found: set[str] = set()
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in names else base)
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def _part_of(name: str) -> str:
    return Module(name, ast.Module(body=[], type_ignores=[])).part


def layering_violations(modules: Mapping[str, Module]) -> list[str]:
    """Every import that breaks the rules of the module docstring, as readable lines."""
    problems = []
    for module in modules.values():
        for target in sorted(imports(module, modules)):
            problem = _violation(module, target)
            if problem:
                problems.append(f"{module.name} imports {target}: {problem}")
    return problems


def _violation(module: Module, target: str) -> str | None:
    here, there = module.part, _part_of(target)
    if target == PACKAGE and here != "facade":
        return "internals never import the facade"
    if there == "_cli" and here not in ("facade", "_cli"):
        return "only the facade's __main__ imports the command line"
    if there in ROOMS and here != there:
        if here == "root":
            return "root modules import no room"
        if here in ROOMS and there not in ALLOWED_ROOMS[here]:
            return f"{here} may import only {sorted(ALLOWED_ROOMS[here]) or 'no room'}"
        if target != f"{PACKAGE}.{there}":
            return f"reach {there} through its package ({PACKAGE}.{there})"
    return None


def import_cycles(modules: Mapping[str, Module]) -> list[list[str]]:
    """A cycle of the import graph, if there is one (its modules, sorted)."""
    graph = {name: imports(module, modules) & modules.keys() for name, module in modules.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return [sorted(set(error.args[1]))]
    return []


def sql_outside_the_store(modules: Mapping[str, Module]) -> list[str]:
    """SQL text, database calls and database imports in modules outside ``_history``."""
    problems = []
    for module in modules.values():
        if module.part == "_history":
            continue
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(module.tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(module.tree):
            where = f"{module.name}:{getattr(node, 'lineno', '?')}"
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and SQL_WORDS.search(node.value)
            ):
                problems.append(f"{where}: SQL text {node.value[:40]!r}")
            elif isinstance(node, ast.Attribute) and node.attr in SQL_CALLS:
                problems.append(f"{where}: .{node.attr}(...)")
            elif (
                isinstance(node, ast.Attribute | ast.Subscript)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "db"
            ):
                problems.append(f"{where}: .db (the store's connection)")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [alias.name for alias in node.names]
                if any(name.split(".")[0] in SQL_MODULES for name in names):
                    problems.append(f"{where}: imports {', '.join(names)}")
    return problems


# -- the rules, on the package ------------------------------------------------------------------


def test_the_rooms_exist() -> None:
    modules = read_package()
    for room in ROOMS:
        assert f"{PACKAGE}.{room}" in modules, room
        assert sum(1 for m in modules.values() if m.part == room) >= 4, room


def test_rooms_import_only_what_their_layer_allows() -> None:
    assert layering_violations(read_package()) == []


def test_there_is_no_import_cycle_not_even_a_type_only_one() -> None:
    assert import_cycles(read_package()) == []


def test_sql_is_written_only_in_the_history_store() -> None:
    assert sql_outside_the_store(read_package()) == []


# -- the checks themselves catch what they are for ----------------------------------------------


def _package(files: Mapping[str, str]) -> dict[str, Module]:
    modules = {}
    for relative, text in files.items():
        parts = (PACKAGE, *Path(relative).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        modules[name] = Module(name, ast.parse(text), relative.endswith("__init__.py"))
    return modules


def test_the_checks_catch_a_forbidden_import_a_cycle_and_sql() -> None:
    modules = _package(
        {
            "__init__.py": "",
            "_units.py": "from perfkit_report._render import x\n",
            "_history/__init__.py": "",
            "_history/_store.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from perfkit_report._gate import Check\n",
            "_gate/__init__.py": "from perfkit_report._gate._check import Check\n",
            "_gate/_check.py": "from perfkit_report._history._store import History\n"
            "from perfkit_report._gate import Check\n"
            "def f(history, args):\n    history.db['runs']\n    return args.db.execute('SELECT 1')\n",
            "_render/__init__.py": "x = 1\n",
            "_render/_html.py": "def g():\n    from perfkit_report._gate import Check\n",
        },
    )
    problems = "\n".join(layering_violations(modules))
    assert "perfkit_report._units imports perfkit_report._render: root modules" in problems
    assert "_history._store imports perfkit_report._gate: _history may import only" in problems
    assert "_gate._check imports perfkit_report._history._store: reach _history" in problems
    assert "_render._html imports perfkit_report._gate: _render may import only" in problems
    # _gate's package and its module import each other (and the store's type-only import of
    # the gate closes a second cycle through them).
    (cycle,) = import_cycles(modules)
    assert {"perfkit_report._gate", "perfkit_report._gate._check"} <= set(cycle)
    sql = "\n".join(sql_outside_the_store(modules))
    assert "SQL text 'SELECT 1'" in sql and ".execute(...)" in sql and ".db (the store" in sql
