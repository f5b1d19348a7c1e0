"""Tests reach nothing but this machine: a connection, a name look-up or a listening socket
beyond loopback fails as the system would fail it (no route, no such name, not an address of
this machine), and the test that tried fails too, naming the address (``tests/conftest.py``
installs the guard for every test). A test whose subject is such an address (a HOST that is
not this machine's) is marked ``beyond_loopback``: refused all the same, but not failed.

Only this process is guarded: the processes a test starts (the CLI, the bot, servers) are
given loopback addresses by the tests themselves. Sockets opened by C libraries (libpq) are
not seen; they are pointed at the throwaway servers on 127.0.0.1.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOCAL_NAMES = {"localhost", "localhost.localdomain"}
# A partner's address for a runtime whose test does not fake that partner: the discard port of
# this machine, where nothing answers (a call fails at once, as with the partner down).
NOBODY = "http://127.0.0.1:9"

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


def _refused(what: str, host: Any, code: int = errno.ENETUNREACH) -> OSError:
    reached.append(f"{what} {host!r}")
    return OSError(code, f"{os.strerror(code)} (tests reach only loopback, not {host!r})")


def _is_address(host: Any) -> bool:
    """A numeric address, which a look-up answers without asking the network."""
    try:
        ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    return True


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
        where = address[0] or "every interface"
        raise _refused("listen on", where, errno.EADDRNOTAVAIL)
    return _bind(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not is_loopback(host) and not _is_address(host):
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        reached.append(f"look up {name!r}")
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
