"""DATABASE_URL and REDIS_URL checked at start-up, parsed by the parsers that will open them
(SQLAlchemy's ``make_url``, redis-py's ``parse_url``), so a URL they would refuse is one settings
problem instead of a traceback. A problem never quotes the URL: it may hold a password.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from redis.connection import parse_url

# What core/storage/db.py opens: postgres:// and postgresql:// become psycopg 3 (the driver the
# project ships); SQLite through Python's own module.
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgres", "postgresql", "postgresql+psycopg")
REDIS_SCHEMES = ("redis", "rediss", "unix")
_PORT = "a port from 1 to 65535"


def database_url_problems(url: str | None) -> list[str]:
    """What is wrong with ``url`` as DATABASE_URL (none: nothing, or no URL)."""
    if not url:
        return []
    try:
        parsed = sa.engine.make_url(url)
    except ValueError:  # the port is not a number
        return [f"DATABASE_URL must have {_PORT} (digits) after the host"]
    except sa.exc.ArgumentError:
        return ["DATABASE_URL must be a sqlite:// or postgresql:// URL"]
    if parsed.drivername not in DATABASE_DRIVERS:
        # The driver name is word characters and "+" only: never a part of the password.
        return [f"DATABASE_URL must be a sqlite:// or postgresql:// URL, not {parsed.drivername}"]
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return [f"DATABASE_URL must have {_PORT}, got {parsed.port}"]
    if at_in_userinfo(url):
        return [f"DATABASE_URL has {AT_IN_USERINFO}"]
    return []


# An "@" of the password not written %40: the parser ends the password at the first "@" and
# takes the rest of it for the host (or the database), which the driver's errors then quote
# ("failed to resolve host 'rest-of-password@db.example'").
AT_IN_USERINFO = "an '@' in its user name or password: write it as %40"


def at_in_userinfo(url: str) -> bool:
    """Whether ``url`` has more than the one "@" that ends its user name and password."""
    return url.partition("://")[2].count("@") > 1


def redis_url_problems(url: str | None) -> list[str]:
    """What is wrong with ``url`` as REDIS_URL (none: nothing, or no URL)."""
    if not url:
        return []
    if not url.startswith(tuple(f"{scheme}://" for scheme in REDIS_SCHEMES)):
        return ["REDIS_URL must start with redis://, rediss:// or unix://"]
    try:
        port = urlsplit(url).port
    except ValueError:  # not a number, or over 65535
        return [f"REDIS_URL must have {_PORT} (digits) after the host"]
    if port == 0:
        return [f"REDIS_URL must have {_PORT}, got 0"]
    try:
        parse_url(url)
    except ValueError:
        return [
            "REDIS_URL is not a URL the Redis client reads: check its database number "
            "(redis://host:6379/0) and its ?options"
        ]
    return []
