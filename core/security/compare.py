"""Comparing a secret a request brought with the one we keep, in constant time, whatever the
request's text holds (``hmac.compare_digest`` refuses ``str`` beyond ASCII with a TypeError,
and ``str.encode`` a lone surrogate with a UnicodeEncodeError: both were 500s)."""

from __future__ import annotations

import hmac


def same_secret(kept: str, given: object) -> bool:
    """Whether ``given`` is the non-empty text ``kept``."""
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(kept.encode(), given.encode("utf-8", "surrogatepass"))
