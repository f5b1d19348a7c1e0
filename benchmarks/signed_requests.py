"""``make bench``: Kick webhook requests signed ahead of time (in worker processes)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "kick" / "chat.message.sent.json"
BROADCASTER_ID = "123456789"
GUILD_ID = 987654321098765432
STREAM = "sk:events"
HOST = "127.0.0.1"
APP = "core.wsgi:create_app()"


# --- signed requests -----------------------------------------------------------------------

_signing_key: Any = None


def _init_signer(private_pem: bytes) -> None:
    global _signing_key  # one key per signing process
    _signing_key = serialization.load_pem_private_key(private_pem, password=None)


def _sign_chunk(job: tuple[str, int, int, str]) -> list[bytes]:
    from core.platforms.kick.signing import new_message_id, signed_headers

    prefix, start, stop, created_at = job
    template = json.loads(FIXTURE.read_text())
    template["broadcaster"]["user_id"] = int(BROADCASTER_ID)
    template["created_at"] = created_at
    requests = []
    for i in range(start, stop):
        viewer = 100_000 + i % 5_000
        payload = dict(
            template,
            message_id=f"{prefix}-{i:06d}",
            sender=dict(template["sender"], user_id=viewer, username=f"viewer_{viewer}"),
        )
        body = json.dumps(payload).encode()
        headers = signed_headers(
            _signing_key, body, event_type="chat.message.sent", message_id=new_message_id()
        )
        head = (
            "POST /webhooks/kick HTTP/1.1\r\n"
            f"Host: {HOST}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            + "\r\n"
        )
        requests.append(head.encode() + body)
    return requests


def sign_requests(private_pem: bytes, count: int, *, prefix: str = "bench") -> list[bytes]:
    """``count`` distinct signed chat webhooks as complete HTTP/1.1 requests, on every core."""
    created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    processes = os.cpu_count() or 1
    step = max(1, -(-count // (processes * 4)))
    jobs = [(prefix, i, min(i + step, count), created_at) for i in range(0, count, step)]
    with ProcessPoolExecutor(processes, initializer=_init_signer, initargs=(private_pem,)) as pool:
        return [request for part in pool.map(_sign_chunk, jobs) for request in part]


def split_request(request: bytes) -> tuple[dict[str, str], bytes]:
    """Headers and body of one of the requests built above (for in-process calls)."""
    head, body = request.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")[1:]
    return dict(line.split(": ", 1) for line in lines), body
