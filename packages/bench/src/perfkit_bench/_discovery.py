"""Finding suite files, importing them, and collecting the benchmarks they declare.

A suite is a ``*.py`` file; it is imported as a top-level module named after the file (so
``benchmarks/routing.py`` is module ``routing`` and its ids start with ``routing.``), with its
folder on ``sys.path`` so suites can import helper modules next to them. Files whose name starts
with ``_`` are helpers, not suites, and are skipped.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from perfkit_bench._exceptions import DeclarationError, DiscoveryError, one_line
from perfkit_bench._registry import collecting
from perfkit_bench._spec import NAME_PATTERN, BenchmarkSpec

__all__ = ["DEFAULT_PATH", "discover", "discover_suites", "load_suite", "resolve", "suite_files"]

DEFAULT_PATH = Path("benchmarks")

# Marks modules this package imported as suites, so importing a suite of the same name again
# (another folder, a test's tmp_path) replaces it, while a clash with a real module is an error.
_SUITE_MARK = "__perfkit_suite__"


def suite_files(paths: Iterable[str | Path]) -> list[Path]:
    """The suite files under ``paths`` (folders are scanned, files are taken as they are)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.glob("*.py") if p.is_file() and not p.name.startswith("_"))
            )
        elif path.is_file() and path.suffix == ".py":
            files.append(path)
        elif path.exists():
            raise DiscoveryError(f"suite path {str(path)!r} is not a folder or a .py file")
        else:
            raise DiscoveryError(
                f"suite path {str(path)!r} does not exist: pass the folder holding your suite "
                f"files (default {DEFAULT_PATH}/)"
            )
    return files


def load_suite(path: str | Path) -> list[BenchmarkSpec]:
    """Import one suite file as module ``<file stem>`` and return the benchmarks it declares."""
    path = Path(path).resolve()
    name = path.stem
    if not NAME_PATTERN.fullmatch(name):
        raise DiscoveryError(
            f"suite file {path}: rename it to lowercase letters, digits and underscores "
            "(the file name is the suite name and the first part of every id)"
        )
    previous = sys.modules.get(name)
    if previous is not None and not getattr(previous, _SUITE_MARK, False):
        raise DiscoveryError(
            f"suite file {path} would shadow the already imported module {name!r}: rename the file"
        )
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)

    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise DiscoveryError(f"suite file {path} cannot be imported")
    module = importlib.util.module_from_spec(module_spec)
    setattr(module, _SUITE_MARK, True)
    sys.modules[name] = module
    with collecting() as specs:
        try:
            module_spec.loader.exec_module(module)
        except DeclarationError as exc:
            _restore(name, previous)
            raise DeclarationError(f"{path}: {exc}") from exc
        except (Exception, SystemExit) as exc:
            _restore(name, previous)
            raise DiscoveryError(
                f"suite file {path} failed to import: {one_line(exc)} "
                "(fix it, or prefix the file name with '_' if it is not a suite)"
            ) from exc
    _check_unique(specs, {}, path)
    return specs


def discover(paths: Sequence[str | Path] | None = None) -> list[BenchmarkSpec]:
    """Import every suite under ``paths`` (default ``benchmarks/``) and return their benchmarks,
    in file order then declaration order. Duplicate ids are an error."""
    return [spec for _, specs in discover_suites(paths) for spec in specs]


def discover_suites(
    paths: Sequence[str | Path] | None = None,
) -> list[tuple[Path, list[BenchmarkSpec]]]:
    """Like :func:`discover`, keeping each suite file next to the benchmarks it declares."""
    suites: list[tuple[Path, list[BenchmarkSpec]]] = []
    origin: dict[str, Path] = {}
    by_name: dict[str, Path] = {}
    for path in suite_files(paths or [DEFAULT_PATH]):
        if path.stem in by_name and by_name[path.stem].resolve() != path.resolve():
            raise DiscoveryError(
                f"two suite files named {path.name}: {by_name[path.stem]} and {path}; "
                "a suite name must be unique, rename one"
            )
        if path.stem in by_name:
            continue  # the same file given twice
        by_name[path.stem] = path
        specs = load_suite(path)
        _check_unique(specs, origin, path)
        suites.append((path, specs))
    return suites


def resolve(spec: BenchmarkSpec) -> Callable[..., Any]:
    """The workload function behind ``spec.func`` (``"module:qualname"``); its suite must have
    been loaded (``load_suite``) or be importable."""
    module_name, _, qualname = spec.func.partition(":")
    module: ModuleType | None = sys.modules.get(module_name)
    if module is None:
        module = importlib.import_module(module_name)
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise DiscoveryError(f"{spec.func} is not callable")
    return obj  # type: ignore[no-any-return]


def _check_unique(specs: list[BenchmarkSpec], origin: dict[str, Path], path: Path) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen or (spec.id in origin and origin[spec.id] != path):
            first = origin.get(spec.id, path)
            raise DiscoveryError(
                f"duplicate benchmark id {spec.id!r} in {first} and {path}: give one a new id"
            )
        seen.add(spec.id)
        origin[spec.id] = path


def _restore(name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous
