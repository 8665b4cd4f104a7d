"""The README's commands install the system packages a session needs, or stop with one line.

A fresh Debian machine lacks chromium (the report's browser test) and valgrind (perfkit-bench's
instructions channel). These tests hide commands from PATH (a folder of links to everything on
PATH but them) and run the real nox session: without apt-get it must stop at once with the
command to run; with apt-get it must run `apt-get update` once, then `apt-get install -y`, and
go on. The apt-get here is a recording stand-in that links the real chromium into the folder:
the install itself is Debian's business, proven by a fresh clone (docs/ci.md).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]

REPORT_SESSION = "tests(package='report')"


def _path_without(folder: Path, hidden: set[str]) -> str:
    """A PATH of one folder linking every command on the current PATH except ``hidden``."""
    folder.mkdir()
    for entry in os.environ["PATH"].split(os.pathsep):
        directory = Path(entry)
        if not directory.is_dir():
            continue
        for command in directory.iterdir():
            link = folder / command.name
            if command.name in hidden or link.exists() or link.is_symlink():
                continue  # the first on PATH wins, as for the shell
            if command.is_file() and os.access(command, os.X_OK):
                link.symlink_to(command)
    return str(folder)


def test_without_chromium_and_apt_get_the_session_stops_with_one_line(
    run: Run, tmp_path: Path, environment: dict[str, str]
) -> None:
    env = environment
    env["PATH"] = _path_without(tmp_path / "bin", {"chromium", "apt-get"})
    done = run("nox", "-s", REPORT_SESSION, "--", "--co", "-q", env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert "chromium not found and this system has no apt-get" in last
    assert "install chromium" in last
    assert "pytest" not in done.stdout + done.stderr.replace(last, "")  # stopped at once


@pytest.mark.skipif(os.geteuid() != 0, reason="installing system packages needs root")
def test_without_chromium_the_session_installs_it_and_goes_on(
    run: Run, tmp_path: Path, environment: dict[str, str]
) -> None:
    folder = tmp_path / "bin"
    env = environment
    env["PATH"] = _path_without(folder, {"chromium", "apt-get"})
    real_chromium = "/usr/bin/chromium"
    calls = tmp_path / "apt-get.log"
    fake = folder / "apt-get"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        f'if [ "$1" = install ]; then ln -s {real_chromium} {folder}/chromium; fi\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    done = run("nox", "-s", REPORT_SESSION, "--", "--co", "-q", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert calls.read_text(encoding="utf-8").splitlines() == [
        "update -qq",
        "install -y -qq chromium",
    ]
    assert "installing Debian's chromium" in done.stderr
    assert "test_browser.py" in done.stdout  # pytest ran after the install
