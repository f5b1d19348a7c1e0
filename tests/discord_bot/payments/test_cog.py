"""!payments doubtful and !payments settle on dpytest's Discord, with the service on a real
(SQLite) database: Manage Server only, the list in words, one settlement per call (the second
names who settled it), another server's call never found, and a friendly reply to a wrong
argument."""

from __future__ import annotations

import pytest

from core.discord_bot.services import BotServices
from core.features.payments.service import PaymentDoubts
from core.features.points.se_payments import queue_payment
from core.outbox import store
from core.storage.tables import outbox
from tests.discord_bot.fake_discord import say


@pytest.fixture
def doubts(sqlite_engine, clock) -> PaymentDoubts:
    return PaymentDoubts(sqlite_engine, clock)


@pytest.fixture
def services(watchtime, guilds, health_report, doubts) -> BotServices:
    return BotServices(
        watchtime=watchtime, guilds=guilds, health=lambda: health_report, payment_doubts=doubts
    )


def in_doubt(engine, clock, guild_id: int, login: str, amount: int, ref: str) -> int:
    """A heist payment the streamelements worker made and heard 500 for."""
    now = clock()
    with engine.begin() as conn:
        queue_payment(conn, guild_id, login, amount, "heist", f"{ref}:kick:1:payout", now)
        [call] = store.claim(conn, "streamelements", "w", now, now, 1)
        store.finish(conn, call.id, "w", store.UNCERTAIN, "may or may not be applied", now)
    return call.id


async def test_only_managers_see_the_list(alice, manager, guild_a, sqlite_engine, clock):
    [refused] = await say("!payments doubtful", alice)
    assert refused.content == "You need the Manage Server permission to use !payments doubtful."
    [empty] = await say("!payments doubtful", manager)
    assert empty.content.startswith("No payments in doubt here")
    call_id = in_doubt(sqlite_engine, clock, guild_a.id, "viewer_1", -400, "7")
    [listed] = await say("!payments", manager)
    lines = listed.content.splitlines()
    assert lines[0].startswith("**1 payment(s) in doubt**")
    assert lines[1].startswith(f"- \\#{call_id} viewer\\_1 -400 (heist #7 payout), ")
    assert lines[1].endswith(": may or may not be applied")


async def test_a_payment_is_settled_once_and_the_second_admin_is_told_by_whom(
    manager, guild_a, sqlite_engine, clock
):
    call_id = in_doubt(sqlite_engine, clock, guild_a.id, "viewer_1", 100, "7")
    [done] = await say(f"!payments settle {call_id} again not on SE", manager)
    assert (
        done.content
        == f"Call #{call_id} (viewer\\_1 +100) is queued again; it is sent once, as a new call."
    )
    [twice] = await say(f"!payments settle #{call_id} paid", manager)
    assert twice.content.startswith(
        f"Call #{call_id} was settled already: sent again by an admin in Discord"
    )
    assert twice.content.endswith(": not on SE.")
    with sqlite_engine.connect() as conn:
        again = conn.execute(outbox.select().where(outbox.c.state == "pending")).all()
    assert len(again) == 1
    [listed] = await say("!payments doubtful", manager)
    assert listed.content.startswith("No payments in doubt here")


async def test_another_servers_call_is_neither_listed_nor_settled(
    manager, guild_a, guild_b, sqlite_engine, clock
):
    elsewhere = in_doubt(sqlite_engine, clock, guild_b.id, "viewer_9", 50, "8")
    [listed] = await say("!payments doubtful", manager)
    assert listed.content.startswith("No payments in doubt here")
    [refused] = await say(f"!payments settle {elsewhere} paid", manager)
    assert refused.content == f"There is no call #{elsewhere} in this server."


@pytest.mark.parametrize(
    "args", ["", "twelve paid", "12", "12 maybe", f"{'9' * 30} paid", f"{'9' * 19} paid", "0 paid"]
)
async def test_a_wrong_argument_gets_a_friendly_reply(manager, args):
    [reply] = await say(f"!payments settle {args}", manager)
    assert reply.content.startswith(("Usage: !payments settle", "Say paid"))


async def test_help_shows_settles_own_usage_line(manager) -> None:
    [settle] = await say("!help payments settle", manager)
    assert "!payments settle <call #> paid|again [reason]" in settle.content
    assert "(optional)" not in settle.content  # its arguments are read by hand
