"""The two sides' environments and suite folders, made alike: the same distributions at the same
versions, except the measured packages, which come from each side's revision; the same files on
disk; paths of the same length.

Why alike to the file: instruction counts repeat exactly within one environment, but a head
measured in nox's own environment and a base in one made here differed by +1.2 % and +4.6 % on
unchanged code. Measured here (identical code, ``perfkit-bench instructions``): nox's environment
also holds perfkit-report and its ~100 dependencies, and ``__pycache__`` folders appear in an
environment's package folders only where some process imported a module without
PYTHONDONTWRITEBYTECODE (this machine exports it; workers get a stripped environment; pip compiles
at install and uv does not). The import system caches the listing of every folder it searched, so
those caches, and with them the heap the counted loop starts from, differed between the sides;
removing one ``__pycache__`` folder (perfkit_runtime's) on one side moved ``tell.sync`` by
+0.33 %. Built by one recipe and byte-compiled in full, the two environments counted the same to
the last instruction on every benchmark tried; paths of different content but equal length
(``head-env`` / ``base-env``) did not matter.

So each side gets ``work_dir/<side>-env``, made here for the head too (the composition root's
environment only runs the tools), and ``work_dir/<side>-suites``, a copy of that revision's suite
folder; both are byte-compiled with ``compileall`` after every install. The environments are
made with uv when it is on PATH, else with venv and pip, and in both cases:

- with dependencies (an install without them left the base without ``rich`` under plain pip,
  so it could not even list its benchmarks);
- constrained to the versions the head has (``pip install -c``, ``uv pip install -c``), so a
  newer release published between the two installs, or a different resolver, cannot make the
  sides differ in anything but the measured code;
- reinstalling the packages built from folders (the measured ones and this checkout's harness):
  their version numbers do not change when their code does.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from perfkit_bench._exceptions import GateError
from perfkit_bench._regression._options import InstallerChoice, Workspace
from perfkit_bench._regression._tools import log, run_tool

__all__ = [
    "Distribution",
    "Installer",
    "build_base_environment",
    "build_environment",
    "copy_suites",
    "distributions",
    "find_installer",
]

# Installer tooling, never measured and present in one kind of environment only (uv makes
# environments without pip).
_TOOLING = frozenset({"pip", "setuptools", "wheel"})

# Run in a side's interpreter: every installed distribution, and whether it came from a direct
# URL (a local folder: its version says nothing about its code).
_LIST_DISTRIBUTIONS = """
import importlib.metadata, json
found = []
for dist in importlib.metadata.distributions():
    direct = dist.read_text("direct_url.json")
    found.append([dist.metadata["Name"], dist.version, direct is not None])
print(json.dumps(found))
"""


@dataclass(frozen=True)
class Installer:
    """How environments are made: ``uv venv`` + ``uv pip``, or ``python -m venv`` + pip."""

    kind: Literal["uv", "pip"]
    uv: str | None = None

    def create(self, env_dir: Path, python: Path) -> list[str]:
        if self.uv is not None:
            return [self.uv, "venv", "--quiet", "--python", str(python), str(env_dir)]
        return [str(python), "-m", "venv", str(env_dir)]

    def install(self, python: Path, reinstall: Sequence[str]) -> list[str]:
        if self.uv is not None:
            again = [arg for name in reinstall for arg in ("--reinstall-package", name)]
            return [self.uv, "pip", "install", "--quiet", "--python", str(python), *again]
        # pip rebuilds and reinstalls a requirement given as a folder on every install.
        return [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]


def find_installer(choice: InstallerChoice, path: str | None = None) -> Installer:
    """uv if ``choice`` allows it and it is on ``path`` (default: PATH), else pip."""
    uv = shutil.which("uv", path=path) if choice != "pip" else None
    if uv is not None:
        return Installer("uv", uv)
    if choice == "uv":
        raise GateError("--installer uv: uv is not on PATH; install it or pass --installer pip")
    return Installer("pip")


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    direct: bool

    @property
    def key(self) -> str:
        """The normalised name (PEP 503)."""
        return re.sub(r"[-_.]+", "-", self.name).lower()


def distributions(python: Path) -> list[Distribution]:
    """What the environment of ``python`` holds."""
    done = subprocess.run(
        [str(python), "-c", _LIST_DISTRIBUTIONS], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise GateError(f"{python} cannot list its distributions: {done.stderr.strip()[-300:]}")
    return [Distribution(str(n), str(v), bool(d)) for n, v, d in json.loads(done.stdout)]


def build_base_environment(
    workspace: Workspace, worktree: Path, installer: Installer, *, profile: bool = False
) -> Path:
    """Create (or update) ``work_dir/base-env`` for the base revision in ``worktree``; its
    python. :class:`GateError` when the base predates the suites or does not install."""
    return build_environment(workspace, "base", worktree, installer, profile=profile)


def build_environment(
    workspace: Workspace,
    side: Literal["head", "base"],
    checkout: Path,
    installer: Installer,
    *,
    profile: bool = False,
) -> Path:
    """Create (or update) ``work_dir/<side>-env`` with the measured packages of the revision in
    ``checkout`` and everything else as in the head's tool environment, byte-compiled in full;
    its python. :class:`GateError` when the revision predates the suites or does not install."""
    measured = [_split_extras(spec) for spec in workspace.measured]
    needed = [*(Path(path) for path, _ in measured), workspace.suites]
    missing = [str(path) for path in needed if not (checkout / path).is_dir()]
    if missing:
        raise GateError(
            f"the {side} revision has no {' or '.join(missing)}: it predates the benchmark "
            "suites; pass a newer --base"
        )
    env_dir = (workspace.work_dir / f"{side}-env").resolve()
    python = env_dir / "bin" / "python"
    _create(env_dir, python, installer, workspace.head_python)
    shared = [*workspace.install, *(workspace.profile_install if profile else ())]
    specs = [f"{checkout / path}{extras}" for path, extras in measured]
    specs += [_shared_spec(workspace.repo, spec) for spec in shared]
    folders = [checkout / path for path, _ in measured]
    folders += [workspace.repo / _split_extras(s)[0] for s in shared if _is_folder(workspace, s)]
    constraints = _write_constraints(workspace, env_dir)
    command = installer.install(python, [_project_name(folder) for folder in folders])
    command += ["--constraint", str(constraints), *_index_options(workspace)]
    log(f"installing the {side} side into {env_dir} ({installer.kind})")
    if run_tool(f"the {side} installation", [*command, *specs], cwd=workspace.repo) != 0:
        raise GateError(
            f"the {side} revision ({checkout.name}) failed to build or install (see above); "
            "fix it or pass another --base"
        )
    _compile(python, env_dir / "lib")
    return python


def copy_suites(
    workspace: Workspace, side: Literal["head", "base"], checkout: Path, python: Path
) -> Path:
    """``work_dir/<side>-suites``: a fresh, byte-compiled copy of the revision's suite folder
    (its ``tests`` and bytecode left out), at a path as long as the other side's."""
    target = (workspace.work_dir / f"{side}-suites").resolve()
    shutil.rmtree(target, ignore_errors=True)
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
    shutil.copytree(checkout / workspace.suites, target, ignore=ignored)
    _compile(python, target)
    return target


def _compile(python: Path, folder: Path) -> None:
    """Every module under ``folder`` byte-compiled (``compileall``), so the folders hold the
    same ``__pycache__`` entries on both sides whatever imported what before. A file that does
    not compile (some distributions ship templates or test data named ``*.py``) fails the same
    way on both sides, so its exit status 1 is not an error here. Forced (``-f``): a module
    reinstalled with new code of the same size keeps its old ``.pyc`` otherwise, as the wheel's
    2-second timestamps can give it the old source's mtime, and Python would then run old code."""
    command = [str(python), "-m", "compileall", "-f", "-qq", "-j", "0", str(folder)]
    run_tool("compileall", command)


def _create(env_dir: Path, python: Path, installer: Installer, head_python: Path) -> None:
    """A fresh environment unless one made by the same installer from the same interpreter is
    there (a uv environment has no pip; another Python needs other wheels)."""
    marker = env_dir / "perfkit-made-by"
    made_by = f"{installer.kind} {_python_version(head_python)}"
    if python.exists() and marker.exists() and marker.read_text(encoding="utf-8") == made_by:
        return
    shutil.rmtree(env_dir, ignore_errors=True)
    if run_tool("the base environment", installer.create(env_dir, head_python)) != 0:
        raise GateError(f"cannot create the base environment {env_dir} (see above)")
    marker.write_text(made_by, encoding="utf-8")


def _write_constraints(workspace: Workspace, env_dir: Path) -> Path:
    """The head's versions of every distribution installed from an index, as constraints."""
    pins = sorted(
        f"{dist.name}=={dist.version}"
        for dist in distributions(workspace.head_python)
        if not dist.direct and dist.key not in _TOOLING
    )
    path = env_dir / "head-constraints.txt"
    path.write_text("".join(f"{pin}\n" for pin in pins), encoding="utf-8")
    return path


def _index_options(workspace: Workspace) -> list[str]:
    options = [arg for link in workspace.find_links for arg in ("--find-links", link)]
    return [*options, "--no-index"] if workspace.no_index else options


def _python_version(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise GateError(f"the head's interpreter {python} does not run; pass --head-python")
    return done.stdout.strip()


def _split_extras(spec: str) -> tuple[str, str]:
    """``packages/runtime[fast]`` -> (``packages/runtime``, ``[fast]``)."""
    path, bracket, extras = spec.partition("[")
    return path, f"{bracket}{extras}"


def _is_folder(workspace: Workspace, spec: str) -> bool:
    return (workspace.repo / _split_extras(spec)[0]).is_dir()


def _shared_spec(repo: Path, spec: str) -> str:
    """A folder of this checkout as an absolute path (with its extras); a requirement as is."""
    path, extras = _split_extras(spec)
    return f"{(repo / path).resolve()}{extras}" if (repo / path).is_dir() else spec


def _project_name(folder: Path) -> str:
    try:
        with open(folder / "pyproject.toml", "rb") as file:
            return str(tomllib.load(file)["project"]["name"])
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise GateError(
            f"{folder}: no pyproject.toml with a [project] name ({exc}); pass package folders"
        ) from None
