"""The package's layers, and the Runtime and the agent references meeting only through protocols.

Checked on the source's syntax trees:

- only the facade and the code that runs a ``Runtime`` in another process (a processes-mode
  worker, a Ray host) import ``_runtime``, counting every import (module level, under
  ``if TYPE_CHECKING:``, inside functions); that no import cycle exists anywhere is checked for
  every package by the root tests (tests/test_import_cycles.py);
- ``Runtime`` (``_runtime.py``) reads or writes no private attribute of another object and
  reaches its delivery only through the members of ``_modes.delivery.Delivery``; the reference
  side (``_mailbox.py``, ``_ref.py``, ``_modes/``) touches no private attribute of the Runtime.
  Re-introducing ``ref._q`` in the runtime, or ``self._delivery.runtime._checked`` in a ref,
  fails here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import perfkit_runtime

PACKAGE = "perfkit_runtime"
SRC = Path(perfkit_runtime.__file__).parent
RUNTIME = SRC / "_runtime.py"
REF_SIDE = sorted([SRC / "_mailbox.py", SRC / "_ref.py", *(SRC / "_modes").glob("*.py")])


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_private(attr: str) -> bool:
    return attr.startswith("_") and not attr.startswith("__")


def private_accesses(tree: ast.AST) -> list[tuple[int, str, str]]:
    """``(line, object, attribute)`` for each ``obj._name`` where ``obj`` is not self or super()."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and ast.unparse(owner.func) == "super":
            continue
        found.append((node.lineno, ast.unparse(owner), node.attr))
    return sorted(found)


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise AssertionError(f"class {name} not found")


def private_names_of(cls: ast.ClassDef) -> set[str]:
    """The private attributes a class defines: its methods and what its methods assign on self."""
    names = set()
    for node in ast.walk(cls):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_private(node.name):
            names.add(node.name)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and _is_private(node.attr)
        ):
            names.add(node.attr)
    return names


def protocol_members() -> set[str]:
    protocol = _class(_tree(SRC / "_modes" / "delivery.py"), "Delivery")
    return {
        node.name
        for node in protocol.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def test_the_checker_finds_private_access_and_ignores_self() -> None:
    tree = ast.parse("ref._q.append(1)\nself._x = rt._closed\nsuper()._bind(a)\nref.__class__\n")
    assert private_accesses(tree) == [(1, "ref", "_q"), (2, "rt", "_closed")]


def test_runtime_touches_no_private_attribute_of_another_object() -> None:
    assert private_accesses(_tree(RUNTIME)) == []


def test_runtime_reaches_its_delivery_only_through_the_protocol() -> None:
    members = protocol_members()
    assert {"ref_class", "start", "stop", "close", "statistics"} <= members
    used = {
        node.attr
        for node in ast.walk(_tree(RUNTIME))
        if isinstance(node, ast.Attribute)
        and ast.unparse(node.value) in ("self._delivery", "delivery")
    }
    assert used, "the runtime no longer names its delivery: update this test"
    assert used <= members, f"not in the Delivery protocol: {sorted(used - members)}"


def test_the_reference_side_touches_no_private_attribute_of_the_runtime() -> None:
    runtime_private = private_names_of(_class(_tree(RUNTIME), "Runtime"))
    assert {"_delivery", "_start"} <= runtime_private
    offending = [
        f"{path.relative_to(SRC)}:{line}: {owner}.{attr}"
        for path in REF_SIDE
        for line, owner, attr in private_accesses(_tree(path))
        if attr in runtime_private
    ]
    assert offending == []


def test_the_reference_side_never_holds_the_runtime_privately() -> None:
    # A ref reaches the runtime through its delivery's public ``runtime``; a private handle to it
    # (the former ``AgentRef._rt``) is how the two classes came to edit each other's state.
    for path in REF_SIDE:
        source = path.read_text(encoding="utf-8")
        assert "self._rt" not in source, path.name
        assert "._runtime" not in source.replace("perfkit_runtime._runtime", ""), path.name


# -- the import graph ---------------------------------------------------------------------------


def read_package(source: Path = SRC) -> dict[str, ast.Module]:
    """Every module of the package under ``source``, by dotted name (a package by its own)."""
    modules = {}
    for path in sorted(source.rglob("*.py")):
        parts = (PACKAGE, *path.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = _tree(path)
    return modules


def imports(name: str, tree: ast.Module, known: Mapping[str, object]) -> set[str]:
    """The package's modules that module ``name`` imports anywhere in its file: at module level,
    under ``if TYPE_CHECKING:`` and inside functions alike (``ast.walk`` sees them all)."""
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


def import_graph(modules: Mapping[str, ast.Module]) -> dict[str, set[str]]:
    return {name: imports(name, tree, modules) for name, tree in modules.items()}


def test_only_the_facade_and_the_remote_workers_import_the_runtime() -> None:
    # The modes reach the runtime through _modes.delivery.ModeRuntime, agents and references
    # through _protocols; processes and ray mode are opened through _modes.REMOTE_OPENERS.
    importers = {
        name
        for name, targets in import_graph(read_package()).items()
        if f"{PACKAGE}._runtime" in targets
    }
    assert importers == {PACKAGE, f"{PACKAGE}._processes._worker", f"{PACKAGE}._ray._host"}


def test_processes_and_ray_mode_are_registered_but_imported_on_first_use() -> None:
    code = (
        "import sys, perfkit_runtime\n"
        "from perfkit_runtime._modes import REMOTE_OPENERS\n"
        "loaded = [m for m in ('perfkit_runtime._modes.processes', 'perfkit_runtime._modes.ray',"
        " 'perfkit_runtime._processes._cluster', 'perfkit_runtime._transport', 'ray')"
        " if m in sys.modules]\n"
        "print(sorted(REMOTE_OPENERS), loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['processes', 'ray'] []"
