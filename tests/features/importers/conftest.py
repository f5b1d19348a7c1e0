"""The other bot's database, built and filled afresh for each test that asks for it."""

from __future__ import annotations

import pytest

from tests.conftest import _fresh_postgres_database
from tests.features.importers import kwb_rows


@pytest.fixture
def source_url(postgres_url: str) -> str:
    """A kick-watchtime-bot database (kwb_rows.py) on the test PostgreSQL server."""
    url = _fresh_postgres_database(postgres_url)
    kwb_rows.build_schema(url)
    kwb_rows.fill(url)
    return url
