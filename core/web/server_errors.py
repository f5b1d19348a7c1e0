"""Why a server could not take its address, in the words of the operator who set it."""

from __future__ import annotations

import errno
import socket

_CANNOT_LISTEN = {
    errno.EADDRINUSE: "Cannot listen on {host}:{port}: another program uses that port "
    "({reason}). Stop it, or set {setting} to a free port.",
    errno.EACCES: "Cannot listen on {host}:{port}: that port needs more rights than this user "
    "has ({reason}). Set {setting} above 1023, with a reverse proxy in front.",
    errno.EADDRNOTAVAIL: "Cannot listen on HOST {host}: it is not an address of this machine "
    "({reason}). Set HOST to one of its addresses (127.0.0.1: this machine only).",
}


def cannot_listen(exc: OSError, host: str, port: int | None, setting: str) -> str | None:
    """The one line for binding ``host``:``port`` failing with ``exc``, naming ``setting`` (what
    picks the port: ``PORT``, ``--port``); None for an error that is not about the address."""
    if isinstance(exc, socket.gaierror):
        return (
            f"Cannot listen on HOST {host!r}: it is not an address of this machine "
            "(127.0.0.1: this machine only; 0.0.0.0: every address)."
        )
    words = _CANNOT_LISTEN.get(exc.errno or 0)
    if words is None:
        return None
    return words.format(host=host, port=port, setting=setting, reason=exc.strerror)
