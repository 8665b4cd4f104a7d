"""The instructions channel of a check: ``perfkit-bench instructions`` on the head (which
calibrates N), then on the base with the head's N (a different N shifts counts by up to 0.3 %).

Counts do not depend on the machine's load, so they run beside the timed slices, in a thread of
the driver, pinned to the CPUs the slices do not use (``Counting``); on a machine with one CPU
they run before them. The verdict waits for both."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

from perfkit_bench._exceptions import GateError
from perfkit_bench._regression._tools import log, run_tool

__all__ = ["Counting", "count_instructions"]


def count_instructions(
    out: Path,
    sides: dict[str, tuple[Path, Path]],
    selection: list[str],
    affinity: str | None = None,
    on_start: list[subprocess.Popen[bytes]] | None = None,
) -> list[str]:
    """``sides`` maps ``head`` and ``base`` to (python, suites). The check's options for the two
    files (``--base-instructions`` / ``--head-instructions``), or none: without valgrind, or
    when a side wrote no counts, the check has the time channel only."""
    if shutil.which("valgrind") is None:
        log("valgrind is not installed: time channel only (apt-get install valgrind)")
        return []
    files = {side: out / f"{side}-instructions.json" for side in ("head", "base")}
    pinned = ["--affinity", affinity, "--quiet"] if affinity else []
    for side in ("head", "base"):
        python, suites = sides[side]
        files[side].unlink(missing_ok=True)
        same_n = ["--iterations-from", str(files["head"])] if side == "base" else []
        command = [str(python), "-m", "perfkit_bench", "instructions", "--suites", str(suites)]
        command += [*selection, "--repeat", "1", *same_n, *pinned, "-o", str(files[side])]
        run_tool("perfkit-bench instructions", command, started=on_start)
        if not files[side].exists():
            log(f"no instruction counts for the {side} side: time channel only")
            return []
    return [
        "--base-instructions",
        str(files["base"]),
        "--head-instructions",
        str(files["head"]),
    ]


class Counting:
    """``count_instructions`` in a background thread, pinned to ``affinity``: ``start``, then
    ``finish`` for the check's options (a failure of the thread is raised there); ``stop``
    kills a count still running (an interrupted or failed check)."""

    def __init__(
        self, out: Path, sides: dict[str, tuple[Path, Path]], selection: list[str], affinity: str
    ) -> None:
        self.arguments = (out, sides, selection, affinity)
        self.started: list[subprocess.Popen[bytes]] = []
        self.options: list[str] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="instructions", daemon=True)

    def _run(self) -> None:
        try:
            self.options = count_instructions(*self.arguments, on_start=self.started)
        except BaseException as exc:  # handed to finish(), in the driver's thread
            self.error = exc

    def start(self) -> None:
        log(f"counting instructions on CPU {self.arguments[3]}, beside the timed slices")
        self.thread.start()

    def finish(self) -> list[str]:
        self.thread.join()
        if isinstance(self.error, GateError):
            raise self.error
        if self.error is not None:
            raise GateError(f"counting instructions failed: {self.error}") from self.error
        log("instruction counts done")
        return self.options

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
