"""discover(): which files are suites, how they are imported, and the errors that name the fix."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from perfkit_bench import DeclarationError, DiscoveryError, discover
from perfkit_bench._discovery import discover_suites, load_suite

WriteSuite = Callable[..., Path]

ONE = """
from perfkit_bench import benchmark

@benchmark("{suite}.{scenario}")
def f(loops):
    return 1.0
"""


def suite(name: str, scenario: str = "x") -> str:
    return ONE.format(suite=name, scenario=scenario)


def test_imports_every_suite_file_in_order(write_suite: WriteSuite, tmp_path: Path) -> None:
    write_suite("beta", suite("beta"))
    write_suite("alpha", suite("alpha"))
    write_suite("_helper", "raise RuntimeError('helpers are not imported')\n")
    (tmp_path / "benchmarks" / "notes.txt").write_text("not python")
    assert [s.id for s in discover([tmp_path / "benchmarks"])] == ["alpha.x", "beta.x"]


def test_default_folder_is_benchmarks(
    write_suite: WriteSuite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_suite("alpha", suite("alpha"))
    monkeypatch.chdir(tmp_path)
    assert [s.id for s in discover()] == ["alpha.x"]


def test_accepts_single_files(write_suite: WriteSuite) -> None:
    path = write_suite("alpha", suite("alpha"))
    write_suite("beta", suite("beta"))
    assert [s.id for s in discover([path])] == ["alpha.x"]


def test_suite_can_import_a_helper_next_to_it(write_suite: WriteSuite) -> None:
    write_suite("_shared", "N = 5\n")
    path = write_suite(
        "alpha",
        "from _shared import N\n"
        "from perfkit_bench import benchmark\n"
        "@benchmark('alpha.x', params={'n': N})\n"
        "def f(loops):\n    return 1.0\n",
    )
    [spec] = discover([path.parent])
    assert spec.params == {"n": 5}
    assert sys.modules["alpha"].__file__ == str(path.resolve())


def test_same_suite_name_can_be_loaded_again_from_another_folder(write_suite: WriteSuite) -> None:
    first = write_suite("alpha", suite("alpha", "one"), folder="a")
    second = write_suite("alpha", suite("alpha", "two"), folder="b")
    assert [s.id for s in load_suite(first)] == ["alpha.one"]
    assert [s.id for s in load_suite(second)] == ["alpha.two"]


def test_missing_path_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DiscoveryError, match="does not exist: pass the folder"):
        discover([tmp_path / "nope"])


def test_import_failure_names_the_file_and_the_exception(write_suite: WriteSuite) -> None:
    path = write_suite("broken", "import no_such_module_here\n")
    with pytest.raises(DiscoveryError) as info:
        discover([path.parent])
    message = str(info.value)
    assert str(path) in message
    assert "ModuleNotFoundError: No module named 'no_such_module_here'" in message
    assert "broken" not in sys.modules


def test_syntax_error_and_sys_exit_are_import_failures(write_suite: WriteSuite) -> None:
    bad = write_suite("bad_syntax", "def (:\n")
    with pytest.raises(DiscoveryError, match="SyntaxError"):
        load_suite(bad)
    exits = write_suite("exits", "import sys\nsys.exit(3)\n")
    with pytest.raises(DiscoveryError, match="SystemExit: 3"):
        load_suite(exits)


def test_declaration_errors_name_the_file(write_suite: WriteSuite) -> None:
    path = write_suite("alpha", suite("beta"))
    with pytest.raises(DeclarationError, match=str(path)):
        discover([path])


def test_duplicate_ids_across_files(write_suite: WriteSuite, tmp_path: Path) -> None:
    write_suite("alpha", suite("alpha"))
    write_suite("alpha", suite("alpha"), folder="other")
    with pytest.raises(DiscoveryError, match=r"two suite files named alpha\.py"):
        discover([tmp_path / "benchmarks", tmp_path / "other"])


def test_duplicate_ids_in_one_file(write_suite: WriteSuite) -> None:
    path = write_suite(
        "alpha",
        "from perfkit_bench import benchmark\n"
        "@benchmark('alpha.x')\ndef f(loops):\n    return 1.0\n"
        "@benchmark('alpha.x')\ndef g(loops):\n    return 1.0\n",
    )
    with pytest.raises(
        DiscoveryError, match=r"duplicate benchmark id 'alpha\.x'.*give one a new id"
    ):
        discover([path])


def test_duplicate_grid_ids(write_suite: WriteSuite) -> None:
    path = write_suite(
        "alpha",
        "from perfkit_bench import benchmark\n"
        "@benchmark('alpha.x.{n}', params_grid={'n': [1, 1]})\n"
        "def f(loops, *, n):\n    return 1.0\n",
    )
    with pytest.raises(DiscoveryError, match=r"duplicate benchmark id 'alpha\.x\.1'"):
        discover([path])


def test_refuses_to_shadow_an_imported_module(write_suite: WriteSuite) -> None:
    path = write_suite("json", "")
    with pytest.raises(DiscoveryError, match="would shadow the already imported module 'json'"):
        discover([path])


def test_file_names_must_be_suite_names(write_suite: WriteSuite) -> None:
    path = write_suite("MySuite", suite("mysuite"))
    with pytest.raises(DiscoveryError, match="rename it to lowercase"):
        discover([path])


def test_discover_suites_keeps_files(write_suite: WriteSuite, tmp_path: Path) -> None:
    alpha = write_suite("alpha", suite("alpha"))
    found = discover_suites([tmp_path / "benchmarks"])
    assert [(path, [s.id for s in specs]) for path, specs in found] == [(alpha, ["alpha.x"])]
