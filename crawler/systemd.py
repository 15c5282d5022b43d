"""The systemd notification protocol (``Type=notify``, ``WatchdogSec=``).

A datagram to the socket named by ``$NOTIFY_SOCKET``: ``READY=1`` once the daemon serves,
``STOPPING=1`` when it stops, ``WATCHDOG=1`` as a keep-alive and ``STATUS=…`` for
``systemctl status``. Written here rather than taken from a package: the protocol is one
``sendto`` call, and outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import os
import socket

__all__ = ["notify", "watchdog_interval"]


def notify(*states: str) -> bool:
    """Send ``states`` (``"READY=1"``, ``"STATUS=…"``) to systemd; False outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(states).encode(), address)
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between keep-alives systemd expects (half its ``WatchdogSec``), if any."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000 / 2
