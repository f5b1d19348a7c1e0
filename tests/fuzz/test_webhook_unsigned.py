"""Fuzz: Kick webhook deliveries from anyone: arbitrary headers and bytes, no valid signature.

Property: always refused with 400, 401 or 413 (never 2xx, never 5xx), and nothing stored.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.platforms.kick.webhook import (
    MESSAGE_ID_HEADER,
    SIGNATURE_HEADER,
    SUBSCRIPTION_ID_HEADER,
    TIMESTAMP_HEADER,
    TYPE_HEADER,
    VERSION_HEADER,
)
from tests.fuzz.conftest import record
from tests.fuzz.strategies import header_text
from tests.fuzz.test_webhook_signed import counts

KICK_HEADERS = [
    MESSAGE_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TYPE_HEADER,
    VERSION_HEADER,
    SUBSCRIPTION_ID_HEADER,
]
header_names = st.one_of(
    st.sampled_from(KICK_HEADERS),
    st.sampled_from([name.lower() for name in KICK_HEADERS]),
    st.text(
        st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
        min_size=1,
        max_size=30,
    ),
)
bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.just(b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'),
)


@pytest.fixture
def runtime(make_runtime):
    runtime = make_runtime(LOG_LEVEL="CRITICAL")
    runtime.guilds.set_kick_channel(111, "broadcaster_channel", "123456789")
    return runtime


def test_unsigned_deliveries_are_refused_and_leave_nothing(runtime):
    target = "webhook-unsigned"
    client = runtime.create_web_app().test_client()

    @given(st.dictionaries(header_names, header_text, max_size=8), bodies)
    def check(headers: dict[str, str], body: bytes) -> None:
        try:
            response = client.post("/webhooks/kick", data=body, headers=headers)
        except Exception:
            record(target, "error")
            raise
        outcome = f"refused {response.status_code}"
        ok = response.status_code in (400, 401, 413) and counts(runtime.engine) == (0, 0)
        record(target, outcome if ok else "error")
        assert ok, (outcome, response.json)

    check()
