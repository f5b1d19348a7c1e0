"""``/metrics`` with ``METRICS_TOKEN``: a scrape must bring the bearer token; without the
setting it answers anyone (as before, documented in docs/operations.md, "Metrics")."""

from __future__ import annotations

import pytest

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def guarded(make_runtime):
    return make_runtime(METRICS_TOKEN=TOKEN).create_web_app().test_client()


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
     "Bearer \u00fc\u00ef", f"bearer  {TOKEN[:-1]}"],
)  # fmt: skip
def test_a_scrape_without_the_token_is_refused(guarded, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = guarded.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"streamkeeper_" not in response.data
    assert TOKEN.encode() not in response.data


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_a_scrape_with_the_token_gets_the_metrics(guarded, scheme):
    response = guarded.get("/metrics", headers={"Authorization": f"{scheme} {TOKEN}"})
    assert response.status_code == 200
    assert b"streamkeeper_webhooks_received_total" in response.data


def test_without_the_setting_metrics_answer_anyone(make_runtime):
    client = make_runtime().create_web_app().test_client()
    assert client.get("/metrics").status_code == 200


def test_the_token_stays_out_of_the_settings_repr(make_runtime):
    runtime = make_runtime(METRICS_TOKEN=TOKEN)
    assert TOKEN not in repr(runtime.settings)
