"""Twitch's stream.online / stream.offline delivered late or out of order, through the webhook
and the bot's handlers: a delivery never makes the channel's state older than it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from core.features.watchtime.tables import watch_streams
from tests.fakes.twitch_eventsub import SECRET, EventSubSender, notification_body, rfc3339
from tests.support.delivery import deliver_all

GUILD = 111
BROADCASTER = "1337"


@pytest.fixture
def runtime(make_runtime, migrated_database_url):
    runtime = make_runtime(DATABASE_URL=migrated_database_url, TWITCH_EVENTSUB_SECRET=SECRET)
    runtime.guilds.set_twitch_channel(GUILD, "cooler_user", BROADCASTER)
    return runtime


@pytest.fixture
def twitch(runtime) -> EventSubSender:
    return EventSubSender.flask(runtime.create_web_app().test_client(), lambda: datetime.now(UTC))


def is_live(runtime) -> bool | None:
    with runtime.engine.connect() as conn:
        return conn.execute(
            sa.select(watch_streams.c.is_live).where(
                (watch_streams.c.guild_id == GUILD)
                & (watch_streams.c.broadcaster_user_id == BROADCASTER)
            )
        ).scalar()


def online(twitch, stream_id: str, started_at: datetime, sent_at: datetime):
    body = notification_body("stream.online", BROADCASTER, id=stream_id)
    body["event"]["started_at"] = rfc3339(started_at)
    return send(twitch, "stream.online", body, sent_at)


def offline(twitch, sent_at: datetime):
    return send(twitch, "stream.offline", notification_body("stream.offline", BROADCASTER), sent_at)


def send(twitch, subscription_type, body, sent_at):
    status, answer = twitch.send(
        json.dumps(body).encode(), subscription_type=subscription_type, sent_at=sent_at
    )
    assert (status, answer["status"]) == (200, "queued")


def test_a_late_offline_of_the_previous_stream_leaves_the_new_stream_live(twitch, runtime):
    now = datetime.now(UTC)
    online(twitch, "1", started_at=now - timedelta(minutes=8), sent_at=now - timedelta(minutes=8))
    deliver_all(runtime)
    # The first stream ended 4 minutes ago (no offline yet), the second started 2 minutes ago;
    # Twitch delivers the second's online before the first's offline.
    online(twitch, "2", started_at=now - timedelta(minutes=2), sent_at=now - timedelta(minutes=2))
    deliver_all(runtime)
    offline(twitch, sent_at=now - timedelta(minutes=4))
    deliver_all(runtime)
    assert is_live(runtime) is True


def test_a_late_online_of_an_ended_stream_leaves_it_offline(twitch, runtime):
    now = datetime.now(UTC)
    offline(twitch, sent_at=now - timedelta(minutes=1))
    deliver_all(runtime)
    online(twitch, "1", started_at=now - timedelta(minutes=5), sent_at=now - timedelta(minutes=5))
    deliver_all(runtime)
    assert is_live(runtime) is False


def test_an_offline_sent_after_the_start_ends_the_stream(twitch, runtime):
    now = datetime.now(UTC)
    online(twitch, "1", started_at=now - timedelta(minutes=5), sent_at=now - timedelta(minutes=5))
    deliver_all(runtime)
    offline(twitch, sent_at=now - timedelta(minutes=1))
    deliver_all(runtime)
    assert is_live(runtime) is False
