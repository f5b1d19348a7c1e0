"""Tests reach nothing but this machine: a connection, a name look-up or a listening socket
beyond loopback fails as the system would fail it (no route, no such name, not an address of
this machine), and the test that tried fails too, naming the address (``tests/conftest.py``
installs the guard for every test). A test whose subject is such an address (a HOST that is
not this machine's) is marked ``beyond_loopback``: refused all the same, but not failed.

The Python processes a test starts (the CLI, the bot, gunicorn, the demo) run under the same
guard (:func:`children_too`): each is started with ``loopback_child/`` on its PYTHONPATH, whose
``sitecustomize`` installs it there and writes what it refused to a file of the test's, which
fails the test as in this process. Not seen: sockets opened by C libraries (libpq, pointed at
the throwaway servers on 127.0.0.1), processes started outside a test (session and module
fixtures) or by ``multiprocessing``, and programs that are not Python.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOCAL_NAMES = {"localhost", "localhost.localdomain"}
# A partner's address for a runtime whose test does not fake that partner: the discard port of
# this machine, where nothing answers (a call fails at once, as with the partner down).
NOBODY = "http://127.0.0.1:9"

reached: list[str] = []  # every address beyond loopback a test tried, in order
# Where a refusal is told: ``reached`` here; a file of the test's in a process it started.
report: Callable[[str], None] = reached.append

# What a test's Python processes are started with: the directory whose ``sitecustomize``
# guards them, and the variable naming the file where they write what they refused.
CHILD_SITE = Path(__file__).resolve().parent / "loopback_child"
REPORT_TO = "STREAMKEEPER_TEST_BEYOND_LOOPBACK"

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_bind = socket.socket.bind
_getaddrinfo = socket.getaddrinfo
_popen_init = subprocess.Popen.__init__


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
    report(f"{what} {host!r}")
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
        report(f"look up {name!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"tests reach only loopback, not {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


@contextmanager
def loopback_only() -> Iterator[None]:
    """Refuse every address beyond loopback while inside."""
    _guard()
    try:
        yield
    finally:
        socket.socket.connect = _connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
        socket.socket.bind = _bind  # type: ignore[method-assign]
        socket.getaddrinfo = _getaddrinfo


def _guard() -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.bind = _guarded_bind  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo


def install_for_good(report_to: str) -> None:
    """Guard this whole process (one a test started), writing each refusal to ``report_to``
    as a line naming the process."""
    global report
    command = " ".join(sys.argv)[:120]

    def to_file(line: str) -> None:
        with open(report_to, "a", encoding="utf-8") as file:
            file.write(f"{line} (in process {os.getpid()}: {command})\n")

    report = to_file
    _guard()


def child_env(env: Mapping[str, str] | None, report_to: str) -> dict[str, str]:
    """``env`` (None: this process's) for a process a test starts: guarded, reporting to
    ``report_to``."""
    env = dict(os.environ if env is None else env)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(CHILD_SITE), *([path] if path else [])])
    env[REPORT_TO] = report_to
    return env


@contextmanager
def children_too(report_to: str) -> Iterator[None]:
    """Every process started while inside (``subprocess``, and asyncio's, which is built on
    it) runs guarded when it is Python, writing what it refused to ``report_to``."""

    def guarded_init(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        kwargs["env"] = child_env(kwargs.get("env"), report_to)
        _popen_init(self, *args, **kwargs)

    around = subprocess.Popen.__init__  # another's, when inside one: this one's file wins
    subprocess.Popen.__init__ = guarded_init  # type: ignore[method-assign]
    try:
        yield
    finally:
        subprocess.Popen.__init__ = around  # type: ignore[method-assign]


def refused_in_children(report_to: str) -> list[str]:
    """What the processes started with ``report_to`` refused, read once (the file goes)."""
    try:
        with open(report_to, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except FileNotFoundError:
        return []
    os.remove(report_to)
    return lines
