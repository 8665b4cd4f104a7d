"""No import cycle in any perfkit package, read from the source (``ast``), not from memory.

Every import counts: module level, under ``if TYPE_CHECKING:`` and inside functions alike. A
cycle names its modules, each importing the next. One checker for every package under
``packages/`` (perfkit-runtime's and perfkit-report's own layering tests add their rules).
"""

from __future__ import annotations

import ast
import graphlib
import itertools
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {path.name: path for path in sorted(ROOT.glob("packages/*/src/perfkit_*"))}


def read_package(package: str) -> dict[str, ast.Module]:
    """Every module of ``package`` in its source folder, by dotted name (a package by its own)."""
    source = SOURCES[package]
    modules = {}
    for path in sorted(source.rglob("*.py")):
        parts = (package, *path.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return modules


def imports(name: str, tree: ast.Module, known: Mapping[str, object]) -> set[str]:
    """The package's modules that module ``name`` imports anywhere in its file."""
    is_package = any(other.startswith(name + ".") for other in known)
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return {target for target in found if target in known and target != name}


def import_cycle(modules: Mapping[str, ast.Module]) -> list[str]:
    """One cycle, ``[a, b, ..., a]`` where each module imports the next; empty when none."""
    graph = {name: imports(name, tree, modules) for name, tree in modules.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(reversed(error.args[1]))  # graphlib lists each import before its importer
    return []


@pytest.mark.parametrize("package", sorted(SOURCES))
def test_there_is_no_import_cycle_not_even_a_type_only_or_lazy_one(package: str) -> None:
    cycle = import_cycle(read_package(package))
    assert cycle == [], "import cycle: " + " imports ".join(cycle)


def test_the_cycle_check_counts_type_only_relative_and_function_level_imports() -> None:
    package = "perfkit_bench"  # any package name will do
    modules = {
        package: ast.parse("from . import _a\n"),
        f"{package}._a": ast.parse("def f():\n    from perfkit_bench._b import x\n"),
        f"{package}._b": ast.parse(
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._a import f\n"
        ),
    }
    cycle = import_cycle(modules)
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {f"{package}._a", f"{package}._b"}
    assert all(b in imports(a, modules[a], modules) for a, b in itertools.pairwise(cycle))
    del modules[f"{package}._b"]
    assert import_cycle(modules) == []
