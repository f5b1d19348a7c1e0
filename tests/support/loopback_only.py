"""Tests reach nothing but this machine: a connection, a name look-up or a listening socket
beyond loopback fails as the system would fail it (no route, no such name, not an address of
this machine), and the test that tried fails too, naming the address (``tests/conftest.py``
installs the guard for the whole session and checks it around every test). A test whose
subject is such an address (a HOST that is not this machine's) is marked ``beyond_loopback``:
refused all the same, but not failed.

Guarded too: PostgreSQL connections, whose sockets libpq opens in C (:func:`_guarded_pg`
checks their hosts before psycopg connects), and every Python process started while the guard
is on (the CLI, the bot, gunicorn, the demo, ``multiprocessing``'s children, those of session
and module fixtures): each runs with ``loopback_child/`` on its PYTHONPATH, whose
``sitecustomize`` installs the guard there and writes what it refused to a file, the test's
when a test started it (:func:`children_too`), else the session's; a process ``fork`` made
writes to the session's file too. What is refused outside any test (a session or module
fixture) fails the session's last test. Not seen: programs that are not Python.
"""

from __future__ import annotations

import errno
import importlib.abc
import importlib.util
import inspect
import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Container, Iterator, Mapping
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


class _GuardPsycopgWhenImported(importlib.abc.MetaPathFinder):
    """Guards psycopg's connects once it is imported (a process that never uses PostgreSQL
    does not pay for importing it)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "psycopg":
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_guard(module: Any) -> None:
            exec_module(module)
            _guard_pg(module)

        spec.loader.exec_module = exec_and_guard  # type: ignore[method-assign]
        return spec


def _pg_hosts(conninfo: str, params: Mapping[str, Any]) -> list[str]:
    """The hosts libpq would connect to (``hostaddr`` over ``host``, each over the PG*
    variables); empty means its default Unix socket."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    given = conninfo_to_dict(make_conninfo(conninfo, **params))
    hosts = (
        given.get("hostaddr")
        or given.get("host")
        or os.environ.get("PGHOSTADDR")
        or os.environ.get("PGHOST")
        or ""
    )
    return [host.strip() for host in str(hosts).split(",") if host.strip()]


def _check_pg(conninfo: str, params: Mapping[str, Any], options: Container[str]) -> None:
    """Refuse a connect whose hosts are not this machine's; ``options``: psycopg's own
    parameters among ``params`` (the others are libpq's)."""
    import psycopg

    given = {name: value for name, value in params.items() if name not in options}
    for host in _pg_hosts(conninfo, given):
        if not (host.startswith(("/", "@")) or is_loopback(host)):  # a socket's folder is local
            report(f"connect to {host!r}")
            raise psycopg.OperationalError(
                f"connection to server at {host!r} failed: tests reach only loopback"
            )


def _guarded_pg(connect: Callable[..., Any]) -> Callable[..., Any]:
    """psycopg's ``connect`` (sync or async), checking the hosts first."""
    options = frozenset(inspect.signature(connect).parameters)
    if inspect.iscoroutinefunction(connect):

        async def guarded(cls: Any, conninfo: str = "", **params: Any) -> Any:
            _check_pg(conninfo, params, options)
            return await connect(cls, conninfo, **params)

    else:

        def guarded(cls: Any, conninfo: str = "", **params: Any) -> Any:
            _check_pg(conninfo, params, options)
            return connect(cls, conninfo, **params)

    guarded.unguarded = connect  # type: ignore[attr-defined]
    return guarded


def _guard_pg(psycopg: Any) -> None:
    """Check the hosts of every psycopg connect, since libpq opens its sockets in C."""
    for cls in (psycopg.Connection, psycopg.AsyncConnection):
        connect = cls.__dict__["connect"].__func__
        # Guarded already by another copy of this module (a child's ``sitecustomize`` loads
        # one): this copy's guard, which reports where this process now reports, replaces it.
        cls.connect = classmethod(_guarded_pg(getattr(connect, "unguarded", connect)))
    psycopg.connect = psycopg.Connection.connect


def guard() -> None:
    """Refuse every address beyond loopback in this process from now on."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.bind = _guarded_bind  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
    if "psycopg" in sys.modules:
        _guard_pg(sys.modules["psycopg"])
    else:  # one finder, this copy's (see _guard_pg)
        sys.meta_path[:] = [
            f for f in sys.meta_path if type(f).__name__ != "_GuardPsycopgWhenImported"
        ]
        sys.meta_path.insert(0, _GuardPsycopgWhenImported())


def _to_file(report_to: str) -> Callable[[str], None]:
    def to_file(line: str) -> None:
        command = " ".join(sys.argv)[:120]
        with open(report_to, "a", encoding="utf-8") as file:
            file.write(f"{line} (in process {os.getpid()}: {command})\n")

    return to_file


def install_for_good(report_to: str) -> None:
    """Guard this whole process (one a test started), writing each refusal to ``report_to``
    as a line naming the process."""
    global report
    report = _to_file(report_to)
    guard()


def install_for_session(report_to: str) -> None:
    """Guard this process (pytest's) and every process it starts from now on: those a test
    starts write to the test's file (:func:`children_too`), the others, ``multiprocessing``'s
    spawned children among them, to ``report_to`` (through the environment they inherit), and
    a child ``fork`` made, whose ``reached`` nobody would read, to the same file as a process
    started then would."""
    global report
    report = reached.append  # pytest's own process may have been started guarded (xdist's)
    guard()
    os.environ.update(child_env(os.environ, report_to))
    os.register_at_fork(after_in_child=lambda: install_for_good(os.environ[REPORT_TO]))
    subprocess.Popen.__init__ = _started_guarded(report_to)  # type: ignore[method-assign]


def child_env(env: Mapping[str, str] | None, report_to: str) -> dict[str, str]:
    """``env`` (None: this process's) for a process a test starts: guarded, reporting to
    ``report_to``."""
    env = dict(os.environ if env is None else env)
    paths = [path for path in env.get("PYTHONPATH", "").split(os.pathsep) if path]
    env["PYTHONPATH"] = os.pathsep.join(
        [str(CHILD_SITE), *(p for p in paths if p != str(CHILD_SITE))]
    )
    env[REPORT_TO] = report_to
    return env


def _started_guarded(report_to: str) -> Callable[..., None]:
    def guarded_init(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        kwargs["env"] = child_env(kwargs.get("env"), report_to)
        _popen_init(self, *args, **kwargs)

    return guarded_init


@contextmanager
def children_too(report_to: str) -> Iterator[None]:
    """Every process started while inside (``subprocess``, and asyncio's, which is built on
    it) runs guarded when it is Python, writing what it refused to ``report_to``."""
    around = subprocess.Popen.__init__  # another's, when inside one: this one's file wins
    around_env = os.environ.get(REPORT_TO)  # what ``multiprocessing`` and ``fork`` go by
    subprocess.Popen.__init__ = _started_guarded(report_to)  # type: ignore[method-assign]
    os.environ[REPORT_TO] = report_to
    try:
        yield
    finally:
        subprocess.Popen.__init__ = around  # type: ignore[method-assign]
        if around_env is None:
            os.environ.pop(REPORT_TO, None)
        else:
            os.environ[REPORT_TO] = around_env


def refused_in_children(report_to: str) -> list[str]:
    """What the processes started with ``report_to`` refused, read once (the file goes)."""
    try:
        with open(report_to, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except FileNotFoundError:
        return []
    os.remove(report_to)
    return lines
