"""One daemon per archive: an advisory lock held for the life of the process.

``newswatch run`` takes an exclusive ``flock`` on ``<archive>.lock`` beside the archive and
keeps the file open until it exits; the kernel releases the lock however the process ends
(a ``kill -9`` leaves no stale lock, unlike a PID file). The file also says who holds it
(PID, host, since when), for the refusal message and ``newswatch status``.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.clock import utc_now

__all__ = ["AlreadyRunning", "DaemonLock", "lock_path", "read_holder"]


class AlreadyRunning(Exception):
    """Another daemon holds the archive's lock."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path = path
        self.holder = holder
        pid = holder.get("pid", "?")
        since = holder.get("since", "?")
        super().__init__(
            f"another newswatch daemon (PID {pid}, since {since}) is running on this archive "
            f"(lock {path})"
        )


def lock_path(archive: str | Path) -> Path:
    archive = Path(archive)
    return archive.with_name(archive.name + ".lock")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class DaemonLock:
    path: Path
    fd: int | None = None

    @classmethod
    def acquire(cls, archive: str | Path, *, role: str = "daemon") -> DaemonLock:
        """Take the lock or raise :class:`AlreadyRunning`."""
        path = lock_path(archive)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(path, _read(path)) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "role": role,
            "since": utc_now(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def read_holder(archive: str | Path) -> dict[str, Any] | None:
    """Who holds the archive's daemon lock now (None: no daemon runs on it)."""
    path = lock_path(archive)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read(path) or {"pid": None}
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
