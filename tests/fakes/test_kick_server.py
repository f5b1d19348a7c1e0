"""The fake Kick keeps to Kick's documented shapes, from plain sync code too."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from core.platforms.http import tls_context
from core.platforms.kick.webhook import load_public_key, verify_delivery
from tests.fakes.kick_server import CLIENT_ID, CLIENT_SECRET, FakeKick


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick(redirect_uris=["http://localhost/cb"]) as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A plain HTTP server that records each POST's headers and body and answers 204."""
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/kick", received
    server.shutdown()
    server.server_close()
    thread.join()


def test_webhook_is_signed_with_the_key_the_fake_publishes(
    kick: FakeKick, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = receiver
    app_token = kick.issue_app_token()
    created = httpx.post(
        f"{kick.url}/public/v1/events/subscriptions",
        json={
            "broadcaster_user_id": 1001,
            "events": [{"name": "channel.followed", "version": 1}],
            "method": "webhook",
        },
        headers={"Authorization": f"Bearer {app_token}"},
        verify=tls_context(),
    ).json()
    public_pem = httpx.get(f"{kick.url}/public/v1/public-key", verify=tls_context()).json()["data"][
        "public_key"
    ]
    payload = {"broadcaster": {"user_id": 1001}, "follower": {"user_id": 2002}}

    response = kick.send_webhook(url, "channel.followed", payload, message_id="01MSG")

    assert response.status_code == 204
    ((headers, body),) = received
    kick_headers, parsed = verify_delivery(
        headers,
        body,
        public_key=load_public_key(public_pem),
        now=datetime.now(UTC),
        max_age_seconds=60,
    )
    assert parsed == payload
    assert (kick_headers.message_id, kick_headers.event_type) == ("01MSG", "channel.followed")
    assert kick_headers.subscription_id == created["data"][0]["subscription_id"]


def test_token_endpoint_wants_a_form_body(kick: FakeKick) -> None:
    response = httpx.post(
        f"{kick.url}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        verify=tls_context(),
    )

    assert (response.status_code, response.json()) == (400, {"error": "Invalid request"})


def test_revoke_with_the_token_in_the_body_is_refused(kick: FakeKick) -> None:
    token = kick.issue_user_token()

    response = httpx.post(
        f"{kick.url}/oauth/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        verify=tls_context(),
    )

    assert response.status_code == 400
    assert kick.is_token_active(token)


def test_authorize_refuses_an_unregistered_redirect_uri_without_redirecting(
    kick: FakeKick,
) -> None:
    response = httpx.get(
        f"{kick.url}/oauth/authorize",
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "redirect_uri": "http://evil.example/cb",
            "scope": "user:read",
            "state": "s",
            "code_challenge": "c",
            "code_challenge_method": "S256",
        },
        verify=tls_context(),
    )

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_channels_refuse_slug_and_broadcaster_id_together(kick: FakeKick) -> None:
    response = httpx.get(
        f"{kick.url}/public/v1/channels",
        params={"slug": "streamer", "broadcaster_user_id": "1001"},
        headers={"Authorization": f"Bearer {kick.issue_app_token()}"},
        verify=tls_context(),
    )

    assert response.status_code == 400
    assert set(response.json()) == {"data", "message"}


def test_requests_are_logged_with_the_kind_of_token(kick: FakeKick) -> None:
    user_token = kick.issue_user_token(scopes=["user:read"])

    httpx.get(
        f"{kick.url}/public/v1/users",
        headers={"Authorization": f"Bearer {user_token}"},
        verify=tls_context(),
    )
    httpx.get(
        f"{kick.url}/public/v1/users",
        headers={"Authorization": "Bearer nonsense"},
        verify=tls_context(),
    )
    httpx.get(f"{kick.url}/public/v1/public-key", verify=tls_context())

    assert [(r.method, r.path, r.auth, r.status) for r in kick.requests] == [
        ("GET", "/public/v1/users", "user", 200),
        ("GET", "/public/v1/users", "invalid", 401),
        ("GET", "/public/v1/public-key", "none", 200),
    ]
    assert kick.requests[0].query == {}


def test_a_hung_chat_post_is_acted_on_when_the_hang_ends_even_if_the_client_gave_up(
    kick: FakeKick,
) -> None:
    token = kick.issue_user_token()
    # Held until the test releases it (the 600 s only bound a broken run): no race with the
    # machine's speed between the hang, the client giving up and the next post.
    hang = kick.hang_next("/public/v1/chat", 600, method="POST")

    with _posting(kick, token, {"type": "bot", "content": "lost?"}):
        assert hang.held.wait(30)  # Kick holds it; the client gives up (closes) here
    waited = httpx.post(
        f"{kick.url}/public/v1/chat",
        json={"type": "bot", "content": "slow"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        verify=tls_context(),
    )

    assert waited.status_code == 200  # the next post is not held
    assert [m.content for m in kick.chat_messages] == ["slow"]  # the first still hangs
    hang.release()
    deadline = time.monotonic() + 30  # only bounds a broken run
    while len(kick.chat_messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [m.content for m in kick.chat_messages] == ["slow", "lost?"]


@contextmanager
def _posting(kick: FakeKick, token: str, body: dict[str, str]) -> Iterator[None]:
    """A chat post sent on a socket of its own, which is closed when the block ends (the
    client gave up) without reading any answer."""
    raw = json.dumps(body).encode()
    head = (
        f"POST /public/v1/chat HTTP/1.1\r\nHost: {urlsplit(kick.url).netloc}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(raw)}\r\n\r\n"
    )
    address = urlsplit(kick.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head.encode() + raw)
        yield
