"""Kick rotates its webhook key: the bot's timed job fetches the new one from Kick (a fake on
127.0.0.1) and the web receiver accepts deliveries signed with it, embedded (one process on
SQLite) and split (a bot and a web runtime sharing PostgreSQL and Redis). The stored key is read
only when no key the receiver holds verifies a delivery, at most once a minute per process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from core.platforms.kick.signing import generate_key_pair, signed_headers
from core.runtime import Runtime
from tests.conftest import FIXTURES, migrated_postgres_url
from tests.fakes.kick_server import FakeKick
from tests.support.clock import Clock
from tests.support.waiting import eventually

GUILD = 111
BROADCASTER = "123456789"  # the broadcaster in Kick's example payloads
JOB = "fetching Kick's webhook key"
BODY = (FIXTURES / "kick" / "chat.message.sent.json").read_bytes()


@dataclass
class Deployment:
    bot: Runtime  # runs the scheduler's jobs
    web: Runtime  # takes the webhooks (the same runtime when embedded)
    clock: Clock
    client: Any

    def post(self, private_key: Any, body: bytes = BODY) -> Any:
        headers = signed_headers(
            private_key, body, event_type="chat.message.sent", timestamp=self.clock()
        )
        return self.client.post("/webhooks/kick", data=body, headers=headers)

    async def run_key_job(self) -> None:
        """The bot's key job, as its scheduler runs it: at start, then every few hours."""
        stop = asyncio.Event()
        job = asyncio.create_task(self.bot.scheduler.loops[JOB](stop))
        try:
            await eventually(lambda: self.bot.kick_public_key.stored() is not None)
        finally:
            stop.set()
            await job


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick() as fake:
        yield fake


@pytest.fixture(params=["embedded", "split"])
def deployment(request, make_runtime, kick) -> Iterator[Deployment]:
    clock = Clock()
    # No KICK_WEBHOOK_PUBLIC_KEY: the bundled key, and Kick's as fetched.
    settings = {"KICK_WEBHOOK_PUBLIC_KEY": "", "KICK_API_BASE_URL": kick.url}
    redis_client = None
    if request.param == "split":
        import redis

        url = request.getfixturevalue("redis_url").rsplit("/", 1)[0] + "/9"
        redis_client = redis.Redis.from_url(url)
        redis_client.flushdb()
        settings |= {"DATABASE_URL": migrated_postgres_url(request), "REDIS_URL": url}
        bot, web = make_runtime(clock=clock, **settings), make_runtime(clock=clock, **settings)
    else:
        bot = web = make_runtime(clock=clock, **settings)
    web.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    yield Deployment(bot, web, clock, web.create_web_app().test_client())
    if redis_client is not None:
        redis_client.flushdb()
        redis_client.close()


@contextmanager
def key_reads(runtime: Runtime) -> Iterator[list[str]]:
    """The statements ``runtime`` sends that read the stored Kick key, while the block runs."""
    reads: list[str] = []

    def note(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "kick_public_keys" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    sa.event.listen(runtime.engine, "before_cursor_execute", note)
    try:
        yield reads
    finally:
        sa.event.remove(runtime.engine, "before_cursor_execute", note)


async def test_a_delivery_signed_with_kicks_new_key_is_accepted_once_the_key_job_ran(
    deployment, kick
):
    new_private, new_pem = generate_key_pair()
    kick.rotate_key(new_private, new_pem)

    refused = deployment.post(new_private)
    await deployment.run_key_job()
    deployment.clock.advance(61)  # the receiver looked the key up at the refusal: a minute on
    accepted = deployment.post(new_private)

    assert (refused.status_code, refused.json["detail"]) == (401, "signature does not match")
    assert (accepted.status_code, accepted.json["status"]) == (200, "queued")
    assert deployment.bot.kick_public_key.stored().pem == new_pem
    [line] = [c for c in deployment.web.health().checks if c.name == "kick key"]
    assert "Kick's key fetched at" in line.detail
    # Once held, the new key costs no database read, however many deliveries it signs.
    with key_reads(deployment.web) as reads:
        for _ in range(20):
            assert deployment.post(new_private).status_code == 200
    assert reads == []


async def test_a_flood_of_forged_deliveries_reads_the_stored_key_once_a_minute(deployment, kick):
    new_private, new_pem = generate_key_pair()
    kick.rotate_key(new_private, new_pem)
    await deployment.run_key_job()
    forger, _ = generate_key_pair()

    with key_reads(deployment.web) as reads:
        first = [deployment.post(forger).status_code for _ in range(50)]
        deployment.clock.advance(30)
        within_the_minute = [deployment.post(forger).status_code for _ in range(10)]
        assert len(reads) == 1
        deployment.clock.advance(31)
        after_it = deployment.post(forger).status_code
        assert len(reads) == 2

    assert set(first + within_the_minute) == {after_it} == {401}
    # The read the flood caused took the new key in: Kick's own deliveries pass.
    assert deployment.post(new_private).status_code == 200


async def test_kick_rotating_its_key_costs_minutes_of_deliveries_not_hours(deployment, kick):
    """The refused delivery asks the bot for Kick's key again: the job's next run (every
    minute) fetches it, long before its 6-hour fetch would."""
    await deployment.run_key_job()
    deployment.clock.advance(minutes=10)
    new_private, new_pem = generate_key_pair()
    kick.rotate_key(new_private, new_pem)
    fetches = len(kick.requests_to("/public/v1/public-key"))

    refused = deployment.post(new_private)
    await deployment.bot.kick_public_key.refresh_if_due()
    deployment.clock.advance(61)
    accepted = deployment.post(new_private)

    assert (refused.status_code, accepted.status_code) == (401, 200)
    assert len(kick.requests_to("/public/v1/public-key")) == fetches + 1
    assert deployment.bot.kick_public_key.stored().pem == new_pem


async def test_until_the_job_runs_a_delivery_signed_with_a_new_key_is_refused(deployment, kick):
    new_private, new_pem = generate_key_pair()
    kick.rotate_key(new_private, new_pem)

    deployment.clock.advance(3600)
    assert deployment.post(new_private).status_code == 401


def test_with_the_operators_key_nothing_is_fetched_or_looked_up(make_runtime, kick, kick_keys):
    runtime = make_runtime(KICK_API_BASE_URL=kick.url)  # KICK_WEBHOOK_PUBLIC_KEY: kick_keys
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    client = runtime.create_web_app().test_client()
    forger, _ = generate_key_pair()

    with key_reads(runtime) as reads:
        statuses = set()
        for private_key in (forger, kick.private_key, kick_keys[0]):
            headers = signed_headers(private_key, BODY, event_type="chat.message.sent")
            statuses.add(client.post("/webhooks/kick", data=BODY, headers=headers).status_code)

    assert statuses == {401, 200}
    assert reads == []
    assert JOB not in runtime.scheduler.loops
    [line] = [c for c in runtime.health().checks if c.name == "kick key"]
    assert "KICK_WEBHOOK_PUBLIC_KEY" in line.detail


def test_kicks_published_key_set_by_hand_is_still_fetched(make_runtime, kick):
    """An operator who pasted Kick's published key into KICK_WEBHOOK_PUBLIC_KEY meant Kick's
    key: it is kept up to date as the bundled one is."""
    published = (FIXTURES / "kick" / "kick-public-key.pem").read_text()
    runtime = make_runtime(KICK_API_BASE_URL=kick.url, KICK_WEBHOOK_PUBLIC_KEY=published)

    assert JOB in runtime.scheduler.loops
    assert runtime.kick_public_key.fetches
