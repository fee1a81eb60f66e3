"""One writer per output: an exclusive flock on DIR/.rsd_ray.lock, held by the job's process until it exits.

Why flock and not a pid file: the kernel drops the lock when the holder's
descriptor closes, and that happens on every way out, SIGKILL and OOM kill
included, so a killed job never leaves a stale lock and its rerun (resume)
takes the lock at once. Nothing has to guess whether a recorded pid is alive,
or on which host. The file itself stays behind; only the lock on it matters.

Limits. flock is advisory: it stops rsd-ray jobs, not other programs. Across
hosts it is only as good as the filesystem: on Linux NFS clients flock is
emulated with NFS byte-range locks, coherent across hosts only while the lock
service works (NFSv4, or v3 with lockd); a `nolock` or `local_lock=flock`
mount, and some FUSE filesystems, lock per host only, so two hosts writing one
output there are not stopped. The sink's exclusive part names still keep every
committed row (sink.py), but the rows may then be solved twice.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

LOCK_NAME = ".rsd_ray.lock"

# lock file -> its open descriptor; never closed: the lock lives exactly as long as this process
_held: dict[Path, int] = {}


class OutputBusy(Exception):
    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder  # "pid N on HOST", or "" when the holder had not written it yet


def hold(folder: Path) -> None:
    """Take folder's lock for the rest of this process's life (again: a no-op), or raise OutputBusy."""
    path = (folder / LOCK_NAME).resolve()
    if path in _held:  # one process running two jobs into one output in turn (tests, notebooks)
        return
    # O_CLOEXEC (os.open's default): a child process must not inherit, and so keep, the lock
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
        os.close(fd)
        raise OutputBusy(holder) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    _held[path] = fd
