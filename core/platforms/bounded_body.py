"""A partner's answer body held to a size as it arrives: read raw (never through httpx's
decoders, which inflate a whole network chunk at once) and inflated here when gzip, so that
neither what came over the network nor what it inflates to passes the limit. A few KB of gzip
can inflate to gigabytes; this reader stops one byte past the limit.

The one compression it reads is gzip: a request read with it asks for that alone
(:data:`ACCEPT`).
"""

from __future__ import annotations

import zlib

ACCEPT = {"Accept-Encoding": "gzip"}
SAID_MAX = 40  # characters of a partner's own encoding name quoted in a refusal


class TooLarge(Exception):
    """The body, or what it inflates to, runs past the limit."""


class Unreadable(Exception):
    """The body cannot be read: a compression not asked for, or broken or cut-short gzip. Its
    words complete "the answer is ..."."""


class BoundedBody:
    """Feed it the raw chunks (:meth:`add`), then take the body (:meth:`read`)."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        encoding = (content_encoding or "").strip().lower()
        if encoding in ("", "identity"):
            self._inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # a gzip header and trailer
        else:
            raise Unreadable(f"compressed as {encoding[:SAID_MAX]!r}")
        self.limit = limit
        self._raw = 0
        self._body = bytearray()

    def add(self, chunk: bytes) -> None:
        self._raw += len(chunk)
        if self._raw > self.limit:
            raise TooLarge
        if self._inflater is None:
            self._body += chunk
        else:
            try:
                # One byte past the limit at most: reaching it is enough to refuse.
                self._body += self._inflater.decompress(chunk, self.limit + 1 - len(self._body))
            except zlib.error as exc:
                raise Unreadable("broken gzip") from exc
        if len(self._body) > self.limit:
            raise TooLarge

    def read(self) -> bytes:
        if self._inflater is not None and not self._inflater.eof:
            raise Unreadable("gzip cut short")
        return bytes(self._body)
