"""The zygote: a fork server forked from the parent when the Runtime is created.

Workers must start with the parent's classes and modules, including those defined in a script's
``__main__`` that is not guarded by ``if __name__ == "__main__"`` (the README's example): only
``fork`` gives that. ``spawn`` and ``forkserver`` start a fresh interpreter that re-imports the
main script, which would run the unguarded program again, Runtime and all, in every worker.

But forking the parent later, to restart a worker that was killed, would copy a process that by
then runs threads (the runtime's hub, the user's own): a lock held by another thread at that
moment stays locked forever in the child. So the parent forks once, early, a single-threaded
zygote, and every worker, first or restarted, is forked from it: the parent's state as of
``Runtime(...)``, and never a thread.
"""

from __future__ import annotations

import os
import signal
import struct
from collections.abc import Callable

__all__ = ["Zygote"]

_INT = struct.Struct("<i")


class Zygote:
    """Parent side: ``fork_worker(index)`` returns the new worker's pid."""

    def __init__(self, body: Callable[[int, bool], None], close: tuple[int, ...] = ()) -> None:
        cmd_r, self._cmd = os.pipe()
        self._pids, pid_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the zygote process
            for fd in (self._cmd, self._pids, *close):
                os.close(fd)
            _serve(cmd_r, pid_w, body)
        os.close(cmd_r)
        os.close(pid_w)

    def fork_worker(self, index: int, restarted: bool) -> int:
        os.write(self._cmd, _INT.pack(index if not restarted else -index))
        data = os.read(self._pids, 4)
        if len(data) != 4:
            raise OSError("the zygote process is gone")
        pid: int = _INT.unpack(data)[0]
        if pid < 0:
            raise OSError(-pid, os.strerror(-pid))
        return pid

    def close(self) -> None:
        """Closing the command pipe ends the zygote; it is reaped here."""
        for fd in (self._cmd, self._pids):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _serve(
    cmd: int, pids: int, body: Callable[[int, bool], None]
) -> None:  # pragma: no cover - runs in the zygote
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
        while len(data := os.read(cmd, 4)) == 4:
            index: int = _INT.unpack(data)[0]
            try:
                pid = os.fork()
            except OSError as exc:
                os.write(pids, _INT.pack(-(exc.errno or 1)))
                continue
            if pid == 0:
                os.close(cmd)
                os.close(pids)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                body(abs(index), index < 0)  # never returns
            os.write(pids, _INT.pack(pid))
    except BaseException:
        code = 1
    finally:
        os._exit(code)
