"""Tests reach nothing but this machine: a connection, a name look-up or a listening socket
beyond loopback fails as an unreachable network would, and the test that tried fails too,
naming the address (``tests/conftest.py`` installs the guard for every test).

Only this process is guarded: the processes a test starts (the CLI, the bot, servers) are
given loopback addresses by the tests themselves. Sockets opened by C libraries (libpq) are
not seen; they are pointed at the throwaway servers on 127.0.0.1.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOCAL_NAMES = {"localhost", "localhost.localdomain"}

reached: list[str] = []  # every address beyond loopback a test tried, in order

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_bind = socket.socket.bind
_getaddrinfo = socket.getaddrinfo


def is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _refused(what: str, host: Any) -> OSError:
    reached.append(f"{what} {host!r}")
    return OSError(errno.ENETUNREACH, f"tests reach only loopback, not {host!r}")


def _is_ip(sock: socket.socket) -> bool:
    return sock.family in (socket.AF_INET, socket.AF_INET6)


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if _is_ip(self) and not is_loopback(address[0]):
        raise _refused("connect to", address[0])
    return _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if _is_ip(self) and not is_loopback(address[0]):
        _refused("connect to", address[0])
        return errno.ENETUNREACH
    return _connect_ex(self, address)


def _guarded_bind(self: socket.socket, address: Any) -> None:
    if _is_ip(self) and not is_loopback(address[0]):
        raise _refused("listen on", address[0] or "every interface")
    return _bind(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not is_loopback(host):
        reached.append(f"look up {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"tests reach only loopback, not {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


@contextmanager
def loopback_only() -> Iterator[None]:
    """Refuse every address beyond loopback while inside."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.bind = _guarded_bind  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
    try:
        yield
    finally:
        socket.socket.connect = _connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
        socket.socket.bind = _bind  # type: ignore[method-assign]
        socket.getaddrinfo = _getaddrinfo
