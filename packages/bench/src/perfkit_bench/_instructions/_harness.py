"""The processes of the instructions channel: the harness every one of them shares, and running
them ``--jobs`` at a time, each bounded by a timeout, its process group killed when it ends."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from perfkit_bench._plumbing import (
    KEPT_ENVIRON,
    Failure,
    kill_group,
    last_line,
    pythonpath,
    start_process,
)

__all__ = ["HASH_SEED", "Count", "Harness", "parse_instructions", "run_all"]

# Any fixed value will do; 0 is also what PYTHONHASHSEED=0 documents as "randomization off".
HASH_SEED = 0
# How often the parent looks at its running count processes: they last seconds each.
_POLL_SECONDS = 0.02

# Cachegrind's summary line: "==123== I   refs:      34,904,779" (valgrind 3.19; newer versions
# print "I refs:"). Lines start with the pid of the process that wrote them: a forked child
# writes its own summary to the same log, and only the counted process's line is wanted.
_I_REFS = re.compile(r"^==(\d+)==\s+I\s+refs:\s+([\d,]+)\s*$", re.MULTILINE)
_PID = re.compile(r"^==(\d+)==", re.MULTILINE)


@dataclass(frozen=True)
class Count:
    """One process's outcome: its instruction count, or why there is none."""

    instructions: int | None
    seconds: float
    error: Failure | None = None


@dataclass(frozen=True)
class Harness:
    """What every process of one ``instructions`` command shares, so that the harness it pays
    is the same in every count, whatever other processes do to the checkout meanwhile.

    - ``cwd``: an empty folder that stays empty. ``python -m`` puts the working directory first
      on sys.path, and the import system lists the folders it searches: files appearing there
      (the counts' own logs, results/, an editor's swap file) would change the count.
    - ``pycache``: ``PYTHONPYCACHEPREFIX``, a private bytecode cache. The native run of each
      benchmark fills it; counts only read it (``PYTHONDONTWRITEBYTECODE=1``). Without it, a
      count reads whatever ``__pycache__`` holds at that moment, and a module without a current
      .pyc is compiled in every count that imports it (in a checkout that others were editing,
      the harness of two repeats of one benchmark differed by 12.7 M instructions before this).
    """

    cwd: Path
    pycache: Path

    @classmethod
    def create(cls, tmp: Path) -> Harness:
        harness = cls(cwd=tmp / "cwd", pycache=tmp / "pycache")
        harness.cwd.mkdir()
        harness.pycache.mkdir()
        return harness

    def environ(self, suite_path: Path, *, write_bytecode: bool) -> dict[str, str]:
        env = {name: os.environ[name] for name in KEPT_ENVIRON if name in os.environ}
        # Absolute entries: the processes run in ``cwd``, not in this process's directory.
        current = env.get("PYTHONPATH", "").split(os.pathsep)
        absolute = os.pathsep.join(os.path.abspath(entry) for entry in current if entry)
        env["PYTHONPATH"] = pythonpath(suite_path, absolute)
        env["PYTHONHASHSEED"] = str(HASH_SEED)
        env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        if not write_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env


def parse_instructions(log: str) -> int | None:
    """The ``I refs`` count of the first process in a valgrind log (None: no summary)."""
    first = _PID.search(log)
    if first is None:
        return None
    for match in _I_REFS.finditer(log):
        if match.group(1) == first.group(1):
            return int(match.group(2).replace(",", ""))
    return None


def run_all(
    commands: dict[str, list[str]],
    env: dict[str, str],
    cwd: Path,
    workdir: Path,
    jobs: int,
    timeout: float,
    *,
    valgrind_logs: bool = False,
) -> dict[str, Count]:
    """Run ``commands`` (name -> argv) in ``cwd``, ``jobs`` at a time, each within ``timeout``
    seconds.

    Each process leads a new session and its process group is killed when it ends, times out,
    or the parent unwinds (SIGTERM, Ctrl-C), as in ``run``. Its stdout and stderr go to
    ``workdir/<name>.out`` and ``.err``. The first failure stops the rest: the other counts of
    the benchmark are of no use without it.
    """
    pending = list(commands.items())
    running: dict[str, tuple[subprocess.Popen[bytes], float]] = {}
    results: dict[str, Count] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                name, cmd = pending.pop(0)
                running[name] = (start_process(cmd, env, workdir / name, cwd), time.monotonic())
            time.sleep(_POLL_SECONDS)
            for name, (proc, began) in list(running.items()):
                code = proc.poll()
                elapsed = time.monotonic() - began
                if code is None and elapsed < timeout:
                    continue
                kill_group(proc)
                del running[name]
                result = _outcome(name, code, elapsed, timeout, workdir, valgrind_logs)
                results[name] = result
                if result.error is not None:
                    return results
    finally:
        for proc, _ in running.values():
            kill_group(proc)
    return results


def _outcome(
    name: str, code: int | None, elapsed: float, timeout: float, workdir: Path, logs: bool
) -> Count:
    if code is None:
        error = f"no result after {timeout:g} s; killed its process ({name})"
        return Count(None, elapsed, Failure("", "timeout", error))
    instructions = None
    log = workdir / f"{name}.valgrind"
    if logs and log.exists():
        instructions = parse_instructions(log.read_text(encoding="utf-8", errors="replace"))
    if code == 0 and (instructions is not None or not logs):
        return Count(instructions, elapsed)
    # The worker prints its error as the last line of stderr; valgrind writes its own trouble
    # (a crash of the interpreter, a signal) to the log.
    text = last_line(workdir / f"{name}.err")
    if not text and logs and log.exists():
        text = _valgrind_trouble(log.read_text(encoding="utf-8", errors="replace"))
    if code == 0:
        text = text or "valgrind printed no instruction count"
    where = f"{name} under valgrind" if logs else "native run"
    error = f"{text or 'the process wrote no error'} ({where}, exit code {code})"
    return Count(None, elapsed, Failure("", "error", error))


def _valgrind_trouble(log: str) -> str:
    """The line of a valgrind log that says why the process ended, without the ``==pid==``."""
    lines = [_PID.sub("", line).strip() for line in log.splitlines()]
    for line in lines:
        if line.startswith(("Process terminating", "valgrind:")):
            return line
    words = [line for line in lines if line]
    return words[-1] if words else ""
