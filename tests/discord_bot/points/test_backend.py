"""!points backend: the StreamElements JWT is taken, stored encrypted, never echoed, and the
message that carried it is deleted."""

from __future__ import annotations

import discord.ext.test as dpytest
import pytest
import sqlalchemy as sa

from core.discord_bot.services import BotServices
from core.features.points.se_holds import hold_in
from core.features.points.se_payments import queue_payment
from core.features.points.se_wallet import SeWallet
from core.features.points.service import PointsService
from core.features.points.tables import points_settings
from core.outbox import store
from core.platforms.streamelements.api import StreamElementsPoints
from core.security.secrets import TokenCipher
from core.storage.tables import outbox
from tests.conftest import TEST_FERNET_KEY
from tests.discord_bot.fake_discord import say
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements


@pytest.fixture
def se():
    with FakeStreamElements() as fake:
        yield fake


@pytest.fixture
def wallet(sqlite_engine, clock, se) -> SeWallet:
    client = StreamElementsPoints(base_url=se.base_url)
    return SeWallet(sqlite_engine, clock, TokenCipher(TEST_FERNET_KEY), client)


@pytest.fixture
def services(watchtime, guilds, health_report, sqlite_engine, clock, wallet) -> BotServices:
    return BotServices(
        watchtime=watchtime,
        guilds=guilds,
        health=lambda: health_report,
        points=PointsService(sqlite_engine, clock),
        points_wallet=wallet,
    )


async def test_streamelements_then_back_to_the_ledger(manager, guild_a, wallet, sqlite_engine):
    deleted = []
    original = dpytest.backend.delete_message

    def record(*args, **kwargs):
        deleted.append(args)
        return original(*args, **kwargs)

    dpytest.backend.delete_message = record
    try:
        [reply] = await say(f"!points backend streamelements {CHANNEL_ID} {JWT}", manager)
    finally:
        dpytest.backend.delete_message = original
    assert reply.content.startswith(
        f"Bets are now held here and settled on StreamElements channel `{CHANNEL_ID}`."
    )
    assert JWT not in reply.content
    assert deleted, "the message holding the JWT was not deleted"
    assert wallet.backend_of(guild_a.id) == "streamelements"
    with sqlite_engine.connect() as conn:
        assert JWT not in conn.execute(sa.select(points_settings.c.se_jwt)).scalar_one()

    [shown] = await say("!points backend", manager)
    assert shown.content.startswith("Balances are kept in StreamElements.")
    [back] = await say("!points backend ledger", manager)
    assert back.content.startswith("Balances are kept in StreamKeeper's own ledger again")
    assert wallet.account_of(guild_a.id) is None


async def test_a_new_jwt_says_the_payments_given_up_on_it_sends_again(
    manager, guild_a, wallet, sqlite_engine, clock
):
    command = f"!points backend streamelements {CHANNEL_ID} {JWT}"
    await say(command, manager)
    with sqlite_engine.begin() as conn:  # a heist payout StreamElements never took
        queue_payment(conn, guild_a.id, "ann", 50, "heist", "h1:ann:pay", clock())
        conn.execute(sa.update(outbox).values(state=store.FAILED))
    [reply] = await say(command, manager)
    assert (
        " 1 payment StreamElements could not take before (the old JWT was refused, or it could "
        "not be reached) will be made now." in reply.content
    )
    [again] = await say(command, manager)
    assert "will be made now" not in again.content


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("!points backend paypal", "`!points backend streamelements <channel id> <JWT>`"),
        ("!points backend streamelements", "`!points backend streamelements <channel id> <JWT>`"),
        (f"!points backend streamelements {CHANNEL_ID}", "`!points backend streamelements"),
        (f"!points backend streamelements nothex {JWT}", "A StreamElements channel id is the 24"),
        (f"!points backend streamelements {CHANNEL_ID} short", "That does not look like a"),
    ],
)
async def test_wrong_backend_arguments_get_a_friendly_reply(
    manager, guild_a, wallet, command, answer
):
    [reply] = await say(command, manager)
    assert reply.content.startswith(answer), reply.content
    assert JWT not in reply.content
    assert wallet.backend_of(guild_a.id) == "ledger"


async def test_a_jwt_of_another_channel_is_refused_at_once(manager, guild_a, wallet):
    """A JWT and the channel id of another StreamElements account were taken: every balance
    and payment was then refused ("refused the JWT") for hours."""
    other = "a" * 24
    [reply] = await say(f"!points backend streamelements {other} {JWT}", manager)
    assert reply.content.startswith(
        f"That JWT is StreamElements channel {CHANNEL_ID}'s, not {other}'s; nothing was "
        "changed. Copy both from the same account (Account > Channels)."
    )
    [refused] = await say(
        f"!points backend streamelements {CHANNEL_ID} not.this.channels.jwt-at-all", manager
    )
    assert refused.content.startswith(
        "StreamElements refused that JWT (wrong, expired or for another channel); nothing was "
        "changed."
    )
    assert wallet.backend_of(guild_a.id) == "ledger"


async def test_members_without_manage_server_cannot_change_the_backend(alice, guild_a, wallet):
    [reply] = await say(f"!points backend streamelements {CHANNEL_ID} {JWT}", alice)
    assert "Manage Server" in reply.content
    assert wallet.backend_of(guild_a.id) == "ledger"


async def test_back_to_the_ledger_is_refused_while_a_heist_holds_stakes(
    manager, guild_a, wallet, sqlite_engine, clock
):
    wallet.use_streamelements(guild_a.id, CHANNEL_ID, JWT)
    with sqlite_engine.begin() as conn:
        hold_in(conn, guild_a.id, "viewer1", 200, 1000, "heist", "7:kick:1:stake", clock())
    [refused] = await say("!points backend ledger", manager)
    assert refused.content == (
        "A heist has stakes held on StreamElements; switch to the ledger once it is over "
        "(or call it off with !heist cancel)."
    )
    assert wallet.backend_of(guild_a.id) == "streamelements"


async def test_back_to_the_ledger_says_the_payments_still_made_on_streamelements(
    manager, guild_a, wallet, sqlite_engine, clock
):
    """The reply said only "the JWT is forgotten"; the heist's waiting payout was then refused,
    and nobody was told."""
    wallet.use_streamelements(guild_a.id, CHANNEL_ID, JWT)
    with sqlite_engine.begin() as conn:  # a heist's payout the worker has not made yet
        queue_payment(conn, guild_a.id, "ann", 50, "heist", "h1:ann:pay", clock())
    [back] = await say("!points backend ledger", manager)
    assert back.content == (
        "Balances are kept in StreamKeeper's own ledger again. 1 payment already owed on "
        "StreamElements (a heist's or an admin's) is still made there; the JWT is forgotten "
        "once it is."
    )
    assert wallet.backend_of(guild_a.id) == "ledger"
    assert wallet.payments_account_of(guild_a.id).channel_id == CHANNEL_ID

    [status] = await say("!points backend", manager)
    assert status.content.splitlines()[:2] == [
        "Balances are kept in StreamKeeper's own ledger.",
        "1 payment already owed on StreamElements (a heist's or an admin's) is still to be made "
        "there.",
    ]


async def test_back_to_the_ledger_says_a_payment_in_doubt_keeps_the_jwt(
    manager, guild_a, wallet, sqlite_engine, clock
):
    """It said "the JWT is forgotten", though it is kept while a payment is in doubt (an
    admin's "pay again" is made with it)."""
    wallet.use_streamelements(guild_a.id, CHANNEL_ID, JWT)
    with sqlite_engine.begin() as conn:  # a heist's payout StreamElements answered 500 to
        queue_payment(conn, guild_a.id, "ann", 50, "heist", "h1:ann:pay", clock())
        conn.execute(sa.update(outbox).values(state=store.UNCERTAIN))
    [back] = await say("!points backend ledger", manager)
    assert back.content == (
        "Balances are kept in StreamKeeper's own ledger again. 1 payment on StreamElements is "
        "in doubt: settle it with !payments (sent again there if it did not land); the JWT is "
        "forgotten once it is settled."
    )
    assert wallet.payments_account_of(guild_a.id).channel_id == CHANNEL_ID
