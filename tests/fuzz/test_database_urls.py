"""Fuzz: a database URL as the operator types it, in ``DATABASE_URL`` or in ``import
kick-watchtime-bot --from``, with a password of any characters, written as they are or
percent-encoded.

Property: the URL is refused in one line that quotes nothing of the password, or it is read
with exactly the user, password, host and database typed (so no part of the password can end
up in the host or database name that the driver's errors quote).
"""

from __future__ import annotations

from urllib.parse import unquote

import sqlalchemy as sa
from hypothesis import example, given
from hypothesis import strategies as st

from core.settings_urls import database_url_problems
from core.storage.db import normalize_url
from tests.fuzz.conftest import record

# Letters, and every character that means something in a URL.
PASSWORDS = st.text(alphabet="aZ9_-.~@:/?#%[]!$&'()*+,;= ", min_size=1, max_size=16)


@given(PASSWORDS, st.sampled_from(["postgresql", "postgres", "postgresql+psycopg"]))
@example("my@secret", "postgresql")
@example("x@z/", "postgresql")
@example("a@b?c", "postgresql")
def test_a_password_is_read_whole_or_the_url_refused(password: str, scheme: str) -> None:
    marked = f"Pw{password}Qx"  # a password no refusal's words could hold by chance
    url = f"{scheme}://someone:{marked}@db.example:5432/kwb"
    problems = database_url_problems(url)
    if problems:
        assert len(problems) == 1
        assert "\n" not in problems[0]
        assert marked not in problems[0]
        assert "Pw" not in problems[0]
        assert "Qx" not in problems[0]
        record("database-url", "refused")
        return
    parsed = sa.engine.make_url(normalize_url(url))
    assert (parsed.username, parsed.host, parsed.port, parsed.database) == (
        "someone",
        "db.example",
        5432,
        "kwb",
    ), url
    assert parsed.password == unquote(marked), url
    record("database-url", "read")
