"""The event log page: webhooks received and refused by reason, the Kick webhooks arriving for
this server, its recent events by type and its dead events with Retry (once, recorded with the
dashboard user); nothing of another server's, another server's URL 403, no CSRF token 403."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from core.storage.tables import bus_events
from tests.bus import make_event
from tests.web.dashboard.conftest import ADMIN, GUILD, OTHER_GUILD, post

PAGE = f"/dashboard/{GUILD}/events/"


def _queue(site):  # type: ignore[no-untyped-def]
    """Events of this guild's channel and of the other guild's; one of each set aside."""
    rt = site.runtime
    rt.guilds.set_kick_channel(GUILD, "mine", "1001")
    rt.guilds.set_kick_channel(OTHER_GUILD, "theirs", "1002")
    mine, mine_dead, theirs_dead = (
        dataclasses.replace(make_event(content), broadcaster_user_id=broadcaster)
        for content, broadcaster in (("mine", "1001"), ("mine dead", "1001"), ("theirs", "1002"))
    )
    for event in (mine, mine_dead, theirs_dead):
        assert rt.bus.publish(event)
    with rt.engine.begin() as conn:  # as the bus sets an event aside after its last attempt
        conn.execute(
            sa.update(bus_events)
            .where(bus_events.c.event_key.in_([mine_dead.key, theirs_dead.key]))
            .values(dead_at=rt.clock(), attempts=5, last_error="RuntimeError: boom")
        )
    return mine, mine_dead, theirs_dead


def _row(site, key: str):  # type: ignore[no-untyped-def]
    with site.runtime.engine.connect() as conn:
        return conn.execute(sa.select(bus_events).where(bus_events.c.event_key == key)).one()


def test_page_shows_this_guilds_events_dead_ones_and_webhooks(site):
    _mine, mine_dead, _theirs_dead = _queue(site)
    site.runtime.metrics.webhooks_rejected.inc(platform="kick", reason="bad_signature")
    site.runtime.metrics.webhooks_received.inc(platform="kick", outcome="queued")
    site.runtime.webhook_arrivals.record("1001", "chat.message.sent")
    site.runtime.webhook_arrivals.record("1002", "channel.followed")
    page = site.client().get(PAGE)
    assert page.status_code == 200
    assert page.text.count('name="ref"') == 1  # one dead event: ours
    assert f'value="{_row(site, mine_dead.key).id}"' in page.text
    assert "Handling failed (RuntimeError)" in page.text  # its kind, not its text
    assert "boom" not in page.text
    assert "Chat (2)" in page.text  # ours only, by type, in words
    assert "refused: bad signature" in page.text  # in words, not the code's label
    assert "received: queued" in page.text
    arrivals = page.text.split('id="arrivals"')[1].split("</table>")[0]
    assert '<td data-label="Channel">mine</td>' in arrivals  # the channel by name, not id
    assert '<td data-label="What">Chat messages</td>' in arrivals  # the type in words
    assert "1001" not in arrivals
    assert "chat.message.sent" not in page.text
    assert "Follows" not in arrivals  # the other guild's channel
    filtered = site.client().get(PAGE, query_string={"kind": "chat_message_sent"})
    assert filtered.status_code == 200
    recent = filtered.text.split('id="recent"')[1].split("</table>")[0]
    assert recent.count("<tr class=") == 2
    assert recent.count(">dead<") == 1
    assert site.client().get(PAGE, query_string={"kind": "nonsense"}).status_code == 400


def test_the_activity_feed_says_what_happened_with_the_raw_events_a_click_away(site):
    _queue(site)
    page = site.client().get(PAGE).text
    feed = page.split('id="feed"')[1].split("</ol>")[0]
    assert '<span class="said">alice: mine</span>' in feed  # who said what, newest first
    assert feed.index("alice: mine dead") < feed.index("alice: mine<")
    assert "theirs" not in feed  # the other guild's
    assert "dead" in feed  # the one set aside says so
    raw = page.split('<details class="raw">')[1]
    assert "<td>Chat <span" in raw  # each event's type in words, not the code's name
    assert "chat_message_sent" not in raw


def test_retry_queues_a_dead_event_once_and_records_who(site):
    _mine, mine_dead, theirs_dead = _queue(site)
    client = site.client()
    ref = str(_row(site, mine_dead.key).id)
    assert post(client, PAGE + "retry", ref=ref).status_code == 302
    row = _row(site, mine_dead.key)
    assert (row.dead_at, row.attempts, row.acked_at) == (None, 0, None)
    assert f"re-queued by {ADMIN}" in row.last_error
    assert "The event is queued again." in client.get(PAGE).text
    again = post(client, PAGE + "retry", ref=ref, follow_redirects=True)
    assert "not waiting for a retry" in again.text
    assert _row(site, mine_dead.key).last_error == row.last_error  # nothing changed
    # Another guild's dead event through this guild's page: refused, untouched.
    their_ref = str(_row(site, theirs_dead.key).id)
    post(client, PAGE + "retry", ref=their_ref)
    assert _row(site, theirs_dead.key).dead_at is not None
    for junk in ("", "abc", "9" * 40, "-1"):
        assert post(client, PAGE + "retry", ref=junk).status_code == 302


def test_a_failures_text_and_who_requeued_it_are_not_shown(site):
    """One event of a channel is handled for every server following it, and its failure text
    may be another server's handler's (its SQL, the database's address): the log shows what
    kind of failure it was, and a re-queued event does not name the admin who re-queued it."""
    rt = site.runtime
    rt.guilds.set_kick_channel(GUILD, "shared", "1001")
    rt.guilds.set_kick_channel(OTHER_GUILD, "shared", "1001")
    dead, requeued = (
        dataclasses.replace(make_event(content), broadcaster_user_id="1001")
        for content in ("dead", "requeued")
    )
    for event in (dead, requeued):
        assert rt.bus.publish(event)
    failure = (
        'OperationalError(\'connection to server at "10.9.8.7", port 5432 failed: password '
        'authentication failed for user "streamkeeper"\')'
    )
    with rt.engine.begin() as conn:
        b = bus_events.c
        conn.execute(sa.update(bus_events).where(b.event_key == dead.key)
                     .values(dead_at=rt.clock(), attempts=5, last_error=failure))  # fmt: skip
        conn.execute(sa.update(bus_events).where(b.event_key == requeued.key)
                     .values(last_error=f"re-queued by 4242 at 2026 after: {failure}"))  # fmt: skip
    page = site.client().get(PAGE)
    assert page.status_code == 200
    dead_rows = page.text.split('id="dead"')[1].split("</table>")[0]
    assert "Handling failed (OperationalError); the bot&#39;s log has the details." in dead_rows
    for secret in ("10.9.8.7", "streamkeeper", "password", "4242"):
        assert secret not in page.text


def test_another_guild_is_403_and_csrf_is_required(site):
    _mine, _mine_dead, theirs_dead = _queue(site)
    client = site.client()
    other = f"/dashboard/{OTHER_GUILD}/events/"
    their_ref = str(_row(site, theirs_dead.key).id)
    assert client.get(other).status_code == 403
    assert post(client, other + "retry", ref=their_ref).status_code == 403
    assert client.post(PAGE + "retry", data={"ref": their_ref}).status_code == 403
    assert _row(site, theirs_dead.key).dead_at is not None


def test_the_kick_arrivals_read_are_this_guilds_channel_alone(site):
    """The arrivals of every broadcaster of the deployment were read, and each one's servers
    looked up, at every view of one server's event log: now only its own channel's rows."""
    rt = site.runtime
    rt.guilds.set_kick_channel(GUILD, "mine", "1001")
    rt.guilds.set_kick_channel(OTHER_GUILD, "theirs", "1002")
    rt.webhook_arrivals.record("1001", "chat.message.sent")
    for broadcaster in ("1002", *(str(5000 + n) for n in range(30))):
        rt.webhook_arrivals.record(broadcaster, "channel.followed")
    client = site.client()
    client.get(f"/dashboard/{GUILD}/")  # the permission check's own reads, out of the way
    read: list[tuple[str, object]] = []

    def note(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        read.append((statement, parameters))

    sa.event.listen(rt.engine, "before_cursor_execute", note)
    try:
        page = client.get(PAGE)
    finally:
        sa.event.remove(rt.engine, "before_cursor_execute", note)

    assert page.status_code == 200
    arrivals = page.text.split('id="arrivals"')[1].split("</table>")[0]
    assert '<td data-label="What">Chat messages</td>' in arrivals
    assert "Follows" not in arrivals
    of_arrivals = [params for statement, params in read if "webhook_arrivals" in statement]
    assert of_arrivals, "the page reads the arrivals"
    assert all("1001" in str(params) for params in of_arrivals), of_arrivals
    assert len(read) < 30, f"{len(read)} statements for one page"


def test_an_empty_log_says_what_to_do_next(site):
    """A server that follows no channel yet: the log says where to connect one, instead of
    "No events for this server yet" and "None"."""
    page = site.client().get(PAGE)

    assert page.status_code == 200
    feed = page.text.split('id="recent-title"')[1].split("</section>")[0]
    assert "Kick or Twitch channel" in feed
    assert f'href="/dashboard/{GUILD}/connections/"' in feed
    arrivals = page.text.split("Kick webhooks arriving")[1].split("<h3>")[0]
    assert '<p class="muted">None.</p>' not in arrivals
    assert f'href="/dashboard/{GUILD}/connections/"' in arrivals


def test_a_type_with_no_events_is_not_called_an_empty_log(site):
    """Follows asked for, and only chat among the latest events: it says there are no follows
    (with the way back to all of them), not that the server has no events."""
    _queue(site)
    page = site.client().get(PAGE, query_string={"kind": "followed"})

    assert page.status_code == 200
    feed = page.text.split('id="recent-title"')[1].split("</section>")[0]
    assert "No events for this server yet" not in feed
    assert "No follows among this server's latest events." in feed
    assert "Chat (2)" in feed  # the kinds there are, to pick from
    arrivals = page.text.split("Kick webhooks arriving")[1].split("<h3>")[0]
    assert "mine" in arrivals  # nothing arrived from the channel: named, and what to do
    assert "Sync Kick" in arrivals


def test_link_events_name_the_member_the_bot_knows(site):
    """A link read "A member linked their Kick account ana" although the bot knew the member."""
    from core.events import AccountLinked, AccountLinkFailed, AccountUnlinked, Platform, Viewer
    from core.features.directory.repository import Member

    rt = site.runtime
    rt.directory.record_members(GUILD, [Member(500, "Kick Fan <3")])
    ana = Viewer("9", "ana")
    at = rt.clock()
    common = {"platform": Platform.KICK, "occurred_at": at, "guild_id": GUILD}
    for event in (
        AccountLinked(**common, event_id="l1", discord_user_id=500, viewer=ana),
        AccountUnlinked(**common, event_id="l2", discord_user_id=500, actor_id=500, viewer=ana),
        AccountLinkFailed(**common, event_id="l3", discord_user_id=500, reason="declined"),
        AccountLinked(**common, event_id="l4", discord_user_id=501, viewer=ana),
    ):
        assert rt.bus.publish(event)

    feed = site.client().get(PAGE).text.split('id="feed"')[1].split("</ol>")[0]

    assert "Kick Fan &lt;3 linked their Kick account ana" in feed
    assert "Kick Fan &lt;3&#39;s Kick account ana was unlinked" in feed
    assert "Kick Fan &lt;3&#39;s link did not work: declined on the platform" in feed
    assert "A member linked their Kick account ana" in feed  # 501: not in the directory


def test_the_retry_buttons_label_says_its_time_is_utc(site):
    """A screen reader heard "queued 07:58:53", a UTC time read as the listener's own."""
    _mine, mine_dead, _theirs_dead = _queue(site)
    queued = _row(site, mine_dead.key).published_at.strftime("%H:%M:%S")
    page = site.client().get(PAGE).text
    assert f'aria-label="Retry the Chat event queued {queued} UTC">Retry</button>' in page


def test_more_dead_events_than_shown_are_not_counted_as_the_shown_ones(site):
    """A broken handler can set aside hundreds of events: the heading does not claim 50 when
    there are more, and says only the newest are listed."""
    rt = site.runtime
    rt.guilds.set_kick_channel(GUILD, "mine", "1001")
    events = [
        dataclasses.replace(
            make_event(f"message {n}", event_id=f"m-{n}"), broadcaster_user_id="1001"
        )
        for n in range(55)
    ]
    for event in events:
        assert rt.bus.publish(event)
    with rt.engine.begin() as conn:
        conn.execute(
            sa.update(bus_events).values(dead_at=rt.clock(), attempts=5, last_error="boom")
        )
    page = site.client().get(PAGE)
    assert page.status_code == 200
    heading = page.text.split('id="dead-title">')[1].split("</h2>")[0]
    assert heading != "Dead events (50)"
    assert "more than 50" in heading
    assert "newest 50 are listed" in page.text.split('id="dead-title">')[1].split("</section>")[0]


def test_dead_events_heading_counts_a_few_exactly(site):
    _queue(site)
    page = site.client().get(PAGE)
    assert 'id="dead-title">Dead events (1)</h2>' in page.text


def test_the_activity_says_one_bit_one_kick_and_one_viewer_in_the_singular(site):
    """A cheer of 1 bit read "cheered 1 bits"; a gift of one KICK, a raid of one viewer and a
    1-point reward the same way."""
    from datetime import UTC, datetime

    from core.events import Cheered, KicksGifted, Platform, Raided, RewardRedeemed, Viewer

    rt = site.runtime
    rt.guilds.set_kick_channel(GUILD, "mine", "1001")
    rt.guilds.set_twitch_channel(GUILD, "mine_tw", "2001")
    at = datetime(2026, 11, 28, 12, tzinfo=UTC)
    kick = {"platform": Platform.KICK, "broadcaster_user_id": "1001", "occurred_at": at}
    twitch = {"platform": Platform.TWITCH, "broadcaster_user_id": "2001", "occurred_at": at}
    for event in (
        Cheered(event_id="c1", viewer=Viewer("5", "bitsy"), bits=1, **twitch),
        Raided(event_id="r1", raider=Viewer("6", "smallfry"), viewers=1, **twitch),
        KicksGifted(event_id="k1", viewer=Viewer("7", "kicker"), amount=1, **kick),
        RewardRedeemed(
            event_id="p1", viewer=Viewer("8", "cheap"), reward_title="Hi", cost=1, **twitch
        ),
    ):
        assert rt.bus.publish(event)
    page = site.client().get(PAGE)
    assert page.status_code == 200
    feed = page.text.split('id="feed"')[1].split("</ol>")[0]
    assert "bitsy cheered 1 bit<" in feed
    assert "smallfry raided with 1 viewer<" in feed
    assert "kicker sent 1 KICK<" in feed
    assert "cheap redeemed Hi (1 point)<" in feed
