"""Run a command with ptrace blocked, as a container without CAP_SYS_PTRACE does.

``python noptrace.py COMMAND ARGS...`` installs a seccomp filter that makes ``ptrace``,
``process_vm_readv`` and ``process_vm_writev`` fail with EPERM (Docker's default profile denies
them to a container without the capability), then executes COMMAND; its children inherit the
filter. The kernel refuses py-spy for real: nothing is simulated inside perfkit-profile.
x86-64 Linux only (the system call numbers are that architecture's).
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1
# x86-64 system call numbers: ptrace, process_vm_readv, process_vm_writev.
DENIED = (101, 310, 311)
# Classic BPF opcodes: load a word at an absolute offset, jump if equal, return.
LD_W_ABS, JEQ_K, RET_K = 0x20, 0x15, 0x06


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def main(argv: list[str]) -> None:
    program = [_insn(LD_W_ABS, 0)]  # seccomp_data.nr: the system call number
    for index, number in enumerate(DENIED):
        program.append(_insn(JEQ_K, number, jt=len(DENIED) - index))
    program += [_insn(RET_K, SECCOMP_RET_ALLOW), _insn(RET_K, SECCOMP_RET_ERRNO | EPERM)]
    code = ctypes.create_string_buffer(b"".join(program))
    fprog = SockFprog(len(program), ctypes.addressof(code))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
