"""The base side's environment, built for real with uv and with venv + pip (uv hidden from PATH),
offline: tiny packages written here (an in-tree build backend, no download) and a wheelhouse
holding two versions of each third-party dependency.

The head environment holds the older versions; the base must get exactly the head's set (the
bug this guards against: with pip the base was installed without dependencies and could not
import ``rich``), its own revision of the measured package, and this checkout's harness, rebuilt
when its code changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfkit_bench._exceptions import GateError
from perfkit_bench._regression._environment import (
    Installer,
    build_base_environment,
    build_environment,
    copy_suites,
    distributions,
    find_installer,
)
from perfkit_bench._regression._options import Workspace

pytestmark = pytest.mark.slow

# A PEP 517 backend in the package's own folder: builds a wheel of the one module named in
# package.json, so the test needs no build tool from an index.
BACKEND = """
import base64, hashlib, json, pathlib, zipfile

HERE = pathlib.Path(__file__).parent


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    meta = json.loads((HERE / "package.json").read_text())
    files = {meta["module"] + ".py": (HERE / (meta["module"] + ".py")).read_bytes()}
    return write_wheel(pathlib.Path(wheel_directory), meta["name"], meta["version"],
                       meta["requires"], files)


def write_wheel(directory, name, version, requires, files):
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n"
    metadata += "".join(f"Requires-Dist: {r}\\n" for r in requires)
    files = dict(files)
    files[f"{info}/METADATA"] = metadata.encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    )
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\\n".join(record) + "\\n").encode()
    filename = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(directory / filename, "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return filename
"""


def write_wheel(directory: Path, name: str, version: str, source: str) -> None:
    """A wheel of module ``name`` (dashes to underscores) in the wheelhouse."""
    namespace: dict[str, object] = {"__file__": str(directory / "_backend.py")}
    exec(BACKEND, namespace)
    module = name.replace("-", "_")
    writer = namespace["write_wheel"]
    assert callable(writer)
    writer(directory, name, version, [], {f"{module}.py": source.encode()})


def write_package(folder: Path, name: str, requires: list[str], source: str) -> None:
    """A package folder built by the in-tree backend."""
    folder.mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_")
    (folder / "_backend.py").write_text(BACKEND)
    (folder / f"{module}.py").write_text(source)
    (folder / "package.json").write_text(
        json.dumps({"name": name, "version": "0.1.0", "requires": requires, "module": module})
    )
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = []
            build-backend = "_backend"
            backend-path = ["."]

            [project]
            name = "{name}"
            version = "0.1.0"
            dependencies = {json.dumps(requires)}
            """
        )
    )


@dataclass(frozen=True)
class Site:
    head: Path
    base: Path
    wheels: Path
    head_python: Path
    work: Path

    def workspace(self, installer: str) -> Workspace:
        return Workspace(
            repo=self.head,
            suites=Path("benchmarks"),
            work_dir=self.work / installer,
            head_python=self.head_python,
            measured=("packages/demo",),
            install=("packages/harness", "demo-extra"),
            find_links=(str(self.wheels),),
            no_index=True,
        )


def checkout(folder: Path, revision: str) -> None:
    """A checkout: its measured package (VALUE names the revision), the harness, benchmarks/
    (a suite, a helper and tests)."""
    write_package(folder / "packages" / "demo", "demo-measured", [], f"VALUE = {revision!r}\n")
    write_package(folder / "packages" / "harness", "demo-harness", ["demo-dep"], "VERSION = 1\n")
    (folder / "benchmarks" / "tests").mkdir(parents=True, exist_ok=True)
    (folder / "benchmarks" / "demo.py").write_text("import _common\n")
    (folder / "benchmarks" / "_common.py").write_text("X = 1\n")
    (folder / "benchmarks" / "tests" / "test_demo.py").write_text("")


def python_in(env: Path) -> Path:
    return env / "bin" / "python"


def ask(python: Path, code: str) -> str:
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("environments")
    wheels = root / "wheels"
    wheels.mkdir()
    for name in ("demo-dep", "demo-extra"):
        for version in ("1.0", "2.0"):
            write_wheel(wheels, name, version, f"VERSION = {version!r}\n")
    checkout(root / "head", "head")
    checkout(root / "base", "base")
    # The head environment, as the composition root would install it, with the older versions.
    env = root / "head-env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    subprocess.run(
        [
            str(python_in(env)),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheels),
            str(root / "head" / "packages" / "demo"),
            str(root / "head" / "packages" / "harness"),
            "demo-dep==1.0",
            "demo-extra==1.0",
        ],
        check=True,
    )
    return Site(root / "head", root / "base", wheels, python_in(env), root / "work")


def tool_free_path(tmp_path: Path) -> str:
    """A PATH with git and the interpreter but no uv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("git",):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def installed(python: Path) -> set[tuple[str, str]]:
    return {(d.key, d.version) for d in distributions(python) if d.key not in {"pip", "setuptools"}}


def uv_installer() -> Installer:
    installer = find_installer("auto")
    if installer.kind != "uv":
        pytest.skip("uv is not on PATH (requirements.txt installs it with nox[uv])")
    return installer


def test_without_uv_on_path_pip_is_used(tmp_path: Path) -> None:
    assert find_installer("auto", path=tool_free_path(tmp_path)) == Installer("pip")
    assert find_installer("pip") == Installer("pip")
    with pytest.raises(GateError, match="--installer uv: uv is not on PATH"):
        find_installer("uv", path=tool_free_path(tmp_path / "again"))


@pytest.mark.parametrize("kind", ["pip", "uv"])
def test_the_base_gets_the_heads_distributions_and_its_own_measured_code(
    site: Site, kind: str, tmp_path: Path
) -> None:
    if kind == "uv":
        installer = uv_installer()
    else:
        # uv hidden from PATH: what plain `nox` (virtualenv backend, no uv) left the gate.
        installer = find_installer("auto", path=tool_free_path(tmp_path))
        assert installer.kind == "pip"
    python = build_base_environment(site.workspace(kind), site.base, installer)
    assert installed(python) == installed(site.head_python)
    assert ("demo-dep", "1.0") in installed(python)  # the harness's dependency, at the head's pin
    assert ask(python, "import demo_measured; print(demo_measured.VALUE)") == "base"
    assert ask(site.head_python, "import demo_measured; print(demo_measured.VALUE)") == "head"


@pytest.mark.parametrize("kind", ["pip", "uv"])
def test_changed_harness_code_is_reinstalled(site: Site, kind: str, tmp_path: Path) -> None:
    installer = uv_installer() if kind == "uv" else Installer("pip")
    workspace = site.workspace(f"again-{kind}")
    harness = site.head / "packages" / "harness" / "demo_harness.py"
    python = build_base_environment(workspace, site.base, installer)
    assert ask(python, "import demo_harness; print(demo_harness.VERSION)") == "1"
    original = harness.read_text()
    try:
        harness.write_text("VERSION = 2\n")  # new code, same version number
        build_base_environment(workspace, site.base, installer)
    finally:
        harness.write_text(original)
    assert ask(python, "import demo_harness; print(demo_harness.VERSION)") == "2"


def test_an_environment_of_the_other_installer_is_made_again(site: Site) -> None:
    workspace = site.workspace("switch")
    made = workspace.work_dir / "base-env" / "perfkit-made-by"
    build_base_environment(workspace, site.base, uv_installer())
    assert made.read_text().startswith("uv ")
    python = build_base_environment(workspace, site.base, Installer("pip"))
    assert made.read_text().startswith("pip ")
    assert (python.parent / "pip").exists()  # uv environments have no pip
    assert installed(python) == installed(site.head_python)


def test_a_base_without_the_suites_names_the_fix(site: Site, tmp_path: Path) -> None:
    old = tmp_path / "old"
    write_package(old / "packages" / "demo", "demo-measured", [], "VALUE = 'old'\n")
    with pytest.raises(GateError, match="the base revision has no benchmarks: it predates"):
        build_base_environment(site.workspace("old"), old, Installer("pip"))


def test_a_base_that_does_not_install_is_exit_2_material(site: Site, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    checkout(broken, "broken")
    (broken / "packages" / "demo" / "package.json").write_text("{not json")
    with pytest.raises(GateError, match=r"failed to build or install \(see above\)"):
        build_base_environment(site.workspace("broken"), broken, Installer("pip"))
    assert os.path.exists(site.work / "broken" / "base-env" / "bin" / "python")


def tree(folder: Path) -> list[str]:
    """Every path under ``folder``, relative, sorted (a folder's listing is what the import
    system caches)."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize("kind", ["pip", "uv"])
def test_both_sides_are_made_alike_to_the_file(site: Site, kind: str, tmp_path: Path) -> None:
    # The instructions channel counted +1.2 % and +4.6 % on unchanged code between a head in
    # nox's environment and a base made here: other distributions, and __pycache__ folders
    # where some process happened to import a module. Both sides are now made by one recipe
    # and byte-compiled in full, and their suite folders are byte-compiled copies.
    installer = uv_installer() if kind == "uv" else find_installer("auto", tool_free_path(tmp_path))
    workspace = site.workspace(f"alike-{kind}")
    head = build_environment(workspace, "head", site.head, installer)
    base = build_environment(workspace, "base", site.base, installer)
    assert (head.parents[1].name, base.parents[1].name) == ("head-env", "base-env")
    assert ask(head, "import demo_measured; print(demo_measured.VALUE)") == "head"
    assert ask(base, "import demo_measured; print(demo_measured.VALUE)") == "base"
    packages = [python.parents[1] / "lib" for python in (head, base)]
    assert tree(packages[0]) == tree(packages[1])
    assert any(part.endswith(".pyc") for part in tree(packages[0]))
    suites = [
        copy_suites(workspace, side, root, python)
        for side, root, python in (
            ("head", site.head, head),
            ("base", site.base, base),
        )
    ]
    assert [folder.name for folder in suites] == ["head-suites", "base-suites"]
    assert tree(suites[0]) == tree(suites[1])
    assert "tests" not in tree(suites[0])
    assert {"demo.py", "_common.py"} <= set(tree(suites[0]))
    assert any(name.startswith("__pycache__/_common.") for name in tree(suites[0]))
