"""The heist in a guild that keeps its points in StreamElements, against the loopback fake
StreamElements: a join holds the stake (the SE balance minus open holds must cover it, our
ledger is not touched), resolution and cancel settle through the outbox with one points call per
participant for the net amount (the streamelements worker makes them), and no retry or restart
pays twice."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.events import Platform, Viewer
from core.features.chat_commands.replies import ChatReplier
from core.features.heist.chat import HeistChat
from core.features.heist.rules import HeistRefused, HeistRules
from core.features.heist.service import HeistService
from core.features.linking.repository import AccountLink, save_link
from core.features.points.chat import PointsChat
from core.features.points.se_logins import NO_TWITCH_LINKED
from core.features.points.se_wallet import LEDGER, STREAMELEMENTS, SeWallet
from core.features.points.service import NotEnoughPoints, PointsRefused
from core.features.points.tables import points_ledger
from core.platforms.streamelements.api import StreamElementsPoints
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.heist.conftest import GUILD, T0, TWITCH_BROADCASTER, Draws, chat_message
from tests.features.points.se_support import die_while_paying, payments, payments_worker
from tests.support.viewers import chatted_in
from tests.support.waiting import no_sleep

WIN, LOSE = 0.0, 0.999


@pytest.fixture
def se():
    with FakeStreamElements() as fake:
        fake.points.update(viewer1=1000, viewer2=1000, viewer3=150)
        yield fake


@pytest.fixture
async def wallet(engine, clock, se):
    async with StreamElementsPoints(base_url=se.base_url, sleep=no_sleep) as client:
        wallet = SeWallet(engine, clock, TokenCipher(TEST_FERNET_KEY), client)
        wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
        yield wallet


@pytest.fixture
def chat(chat):
    """StreamElements keeps points by Twitch login, so these viewers speak in Twitch chat."""
    chat.platform = Platform.TWITCH
    return chat


@pytest.fixture
def service(engine, clock, points, tiers, draws, wallet) -> HeistService:
    return HeistService(
        engine, clock, points, HeistRules(), sub_tiers=tiers, draw=draws, wallet=wallet
    )


@pytest.fixture
def heist_chat(service, sender, announcer) -> HeistChat:
    return HeistChat(service, ChatReplier(lambda platform: sender), announcer)


def outbox(engine) -> list[tuple[str, int, str]]:
    return payments(engine)


def heist_ledger_rows(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(points_ledger).where(points_ledger.c.source == "heist")).all()


async def test_a_join_holds_the_stake_on_streamelements_and_never_touches_the_ledger(
    chat, se, wallet, engine
):
    answer = await chat.say("!join 200 low", "1")
    assert answer.startswith("A heist is being planned! You are in with 200 points (low risk)")
    assert await chat.say("!join all", "3") == (
        "You are in with 150 points (medium risk): 2 in the crew, 120 s left to join."
    )
    assert wallet.open_holds(GUILD, "viewer1") == 200
    assert wallet.open_holds(GUILD, "viewer3") == 150
    assert se.points == {"viewer1": 1000, "viewer2": 1000, "viewer3": 150}  # held, not taken
    assert se.puts == []
    assert heist_ledger_rows(engine) == []


async def test_a_stake_above_the_balance_less_open_holds_is_refused_and_holds_nothing(
    chat, se, wallet, service
):
    wallet_hold = await wallet.hold(GUILD, "viewer3", 100, source="other-game", source_ref="g1")
    assert wallet_hold == 50
    assert await chat.say("!join 100", "3") == (
        "You have only 50 points; a stake of 100 needs more."
    )
    assert wallet.open_holds(GUILD, "viewer3") == 100  # only the other game's
    assert service.status(GUILD, Platform.KICK) is None  # the refused join opened nothing


async def test_when_streamelements_cannot_say_the_balance_the_join_is_refused(chat, se, wallet):
    se.fail_next("500", "500", "500")  # the first try and both retries
    wrong = await chat.say("!join lots", "2")  # answered without asking StreamElements
    assert wrong is not None
    assert "StreamElements" not in wrong
    assert se.failures == ["500", "500", "500"]
    answer = await chat.say("!join 200", "1")
    assert answer is not None
    assert answer.startswith("StreamElements did not answer")
    assert wallet.open_holds(GUILD, "viewer1") == 0


async def test_resolution_pays_each_participant_the_net_once(
    chat, heist_chat, se, wallet, engine, clock, draws
):
    await chat.say("!join 200 low", "1")  # wins: 300 back, +100 net
    await chat.say("!join 400 high", "2")  # loses: -400
    clock.advance(120)
    draws.push(WIN, LOSE)
    [result] = await heist_chat.resolve_due()

    assert [(m.username, m.won, m.payout) for m in result.crew] == [
        ("viewer1", True, 300),
        ("viewer2", False, 0),
    ]
    assert se.puts == []  # queued with the result: the worker pays
    assert await payments_worker(wallet).run_once() == 2
    assert se.puts == [("viewer1", 100), ("viewer2", -400)]
    assert se.points == {"viewer1": 1100, "viewer2": 600, "viewer3": 150}
    assert outbox(engine) == [("viewer1", 100, "done"), ("viewer2", -400, "done")]
    assert (wallet.open_holds(GUILD, "viewer1"), wallet.open_holds(GUILD, "viewer2")) == (0, 0)
    assert heist_ledger_rows(engine) == []

    assert await heist_chat.resolve_due() == []  # nothing left to resolve, nothing resent
    assert await payments_worker(wallet).run_once() == 0
    assert len(se.puts) == 2


async def test_going_back_to_the_ledger_mid_heist_is_refused_so_no_winner_goes_unpaid(
    chat, heist_chat, se, wallet, engine, clock, draws
):
    """Back on the ledger, StreamElements payments are refused: a heist that held its stakes
    there and resolved after the switch paid its winners nothing."""
    await chat.say("!join 200 low", "1")
    with pytest.raises(PointsRefused, match="stakes held on StreamElements"):
        wallet.use_ledger(GUILD)
    assert wallet.backend_of(GUILD) == STREAMELEMENTS
    clock.advance(120)
    draws.push(WIN)
    await heist_chat.resolve_due()
    assert await payments_worker(wallet).run_once() == 1
    assert outbox(engine) == [("viewer1", 100, "done")]
    wallet.use_ledger(GUILD)  # nothing held any more
    assert wallet.backend_of(GUILD) == LEDGER


async def test_a_join_whose_balance_was_read_before_the_switch_to_the_ledger_holds_nothing(
    service, se, wallet, engine
):
    """The balance is read from StreamElements before the join's transaction; a switch to the
    ledger in between left a stake held on StreamElements that no payment could settle."""
    se_stake = await service.se_stake(GUILD, Platform.TWITCH, "1", "viewer1")
    wallet.use_ledger(GUILD)
    with pytest.raises(HeistRefused, match="StreamKeeper's ledger again"):
        service.join(GUILD, Platform.TWITCH, "b", "1", "viewer1", "200 low", se=se_stake)
    assert wallet.open_holds(GUILD, "viewer1") == 0
    assert service.status(GUILD, Platform.TWITCH) is None


async def test_another_streamelements_channel_mid_heist_is_refused_a_new_jwt_is_not(
    chat, wallet, se
):
    """The heist's payments go to the channel set when they are made: one changed mid-heist
    took a loser's stake from (or paid a winner into) another channel's balances."""
    await chat.say("!join 200 low", "1")
    with pytest.raises(PointsRefused, match="stakes held on StreamElements"):
        wallet.use_streamelements(GUILD, "b" * 24, JWT)
    assert wallet.account_of(GUILD).channel_id == CHANNEL_ID
    wallet.use_streamelements(GUILD, CHANNEL_ID, "a.new.jwt-pasted-by-the-streamer")
    assert wallet.account_of(GUILD).jwt == "a.new.jwt-pasted-by-the-streamer"


async def test_cancel_releases_every_hold_and_pays_nothing(chat, se, wallet, engine):
    await chat.say("!join 200", "1")
    await chat.say("!join 300", "2")
    cancel = chat_message("!heist cancel", "9", badges=("moderator",), platform=Platform.TWITCH)
    await chat.router.handle(GUILD, cancel)
    await chat.router.flush()
    assert chat.sender.sent[-1].text == (
        "The heist is called off. Every stake went back: 500 points to 2 viewers."
    )
    assert (wallet.open_holds(GUILD, "viewer1"), wallet.open_holds(GUILD, "viewer2")) == (0, 0)
    assert outbox(engine) == []
    assert await payments_worker(wallet).run_once() == 0
    assert se.puts == []


async def test_a_restart_after_the_outbox_rows_pays_each_once(
    chat, service, se, wallet, engine, clock, draws, points, tiers
):
    await chat.say("!join 200 low", "1")
    await chat.say("!join 200 low", "2")
    clock.advance(120)
    draws.push(WIN, WIN)
    service.resolve_due()  # recorded; the process dies before any call goes out
    assert outbox(engine) == [("viewer1", 100, "pending"), ("viewer2", 100, "pending")]
    assert se.puts == []

    # The restarted bot: a new service and wallet on the same database.
    again = HeistService(engine, clock, points, HeistRules(), sub_tiers=tiers,
                         draw=Draws(), wallet=SeWallet(engine, clock, wallet.cipher,
                                                       wallet.client))  # fmt: skip
    assert again.resolve_due() == []  # already resolved: no second settlement
    worker = payments_worker(again.wallet)
    assert await worker.run_once() == 2
    assert await worker.run_once() == 0
    assert se.puts == [("viewer1", 100), ("viewer2", 100)]


async def test_a_crash_during_the_call_never_pays_twice(
    chat, service, se, wallet, engine, clock, draws
):
    await chat.say("!join 200 low", "1")
    clock.advance(120)
    draws.push(WIN)
    service.resolve_due()
    die_while_paying(engine, clock())  # claimed for its call, then the process died
    clock.advance(timedelta(minutes=10))
    assert await payments_worker(wallet).run_once() == 1
    assert outbox(engine) == [("viewer1", 100, "uncertain")]  # for a person to check
    assert se.puts == []


async def test_a_failed_payment_is_sent_after_a_backoff(
    chat, heist_chat, se, wallet, engine, clock, draws
):
    await chat.say("!join 200 low", "1")
    clock.advance(120)
    draws.push(LOSE)
    se.fail_next("429", "429", "429")  # not applied: the first try and both retries
    await heist_chat.resolve_due()
    worker = payments_worker(wallet)
    assert await worker.run_once() == 1
    assert outbox(engine) == [("viewer1", -200, "pending")]
    assert se.puts == []

    clock.advance(timedelta(seconds=6))
    assert await worker.run_once() == 1
    assert se.puts == [("viewer1", -200)]
    assert se.points["viewer1"] == 800


async def test_a_twitch_viewer_is_held_and_paid_by_login_not_display_name(
    chat, heist_chat, se, wallet, clock, draws
):
    se.points["kappa_fan"] = 500
    event = chat_message("!join 200 low", "77", platform=Platform.TWITCH, username="カッパ")
    await chat.router.handle(GUILD, dataclasses.replace(event, login="kappa_fan"))
    await chat.router.flush()
    assert wallet.open_holds(GUILD, "kappa_fan") == 200
    clock.advance(120)
    draws.push(WIN)
    await heist_chat.resolve_due()
    await payments_worker(wallet).run_once()
    assert se.puts == [("kappa_fan", 100)]


async def test_points_in_chat_shows_the_streamelements_balance_less_holds(chat, points, wallet, se):
    await chat.say("!join 200", "1")
    points_chat = PointsChat(points, wallet)
    chat.router.add(points_chat.commands()[0])
    assert await chat.say("!points", "1") == (
        "You have 800 points on StreamElements (200 held for a heist)."
    )
    assert await chat.say("!points viewer2", "1") == "viewer2 has 1,000 points on StreamElements."


async def test_an_admin_removal_waiting_for_streamelements_is_not_called_held_for_a_heist(
    chat, points, wallet, se
):
    """An admin's !pointsremove queued while StreamElements is slow is said as waiting to be
    taken away, not "held for a heist" (no heist is under way); a stake is said apart."""
    await wallet.queue_change(GUILD, "viewer1", -100, ref="admin:1", actor_id=1, reason="")
    chat.router.add(PointsChat(points, wallet).commands()[0])
    assert await chat.say("!points", "1") == (
        "You have 900 points on StreamElements (100 waiting to be taken away)."
    )
    await chat.say("!join 200", "1")
    assert await chat.say("!points viewer1", "2") == (
        "viewer1 has 700 points on StreamElements (200 held for a heist, 100 waiting to be "
        "taken away)."
    )


async def test_a_lost_stake_not_paid_yet_cannot_be_staked_or_removed_again(
    chat, heist_chat, points, se, wallet, engine, clock, draws
):
    """Between a heist's end and the worker's call, StreamElements still counts the lost
    stake: the viewer's other chat (Twitch, the same login) and an admin's removal must not
    spend it a second time, and the balance in chat says it waits to be taken away."""
    await lose_all_of_viewer3(chat, heist_chat, clock, draws, engine)

    answer = await chat.say("!join all", "3", platform=Platform.TWITCH)
    assert answer == "You have no points to stake yet."
    with pytest.raises(NotEnoughPoints, match="only 0 points free"):
        await wallet.queue_change(GUILD, "viewer3", -100, ref="admin:1", actor_id=1, reason="")
    chat.router.add(PointsChat(points, wallet).commands()[0])
    assert await chat.say("!points", "3") == (
        "You have 0 points on StreamElements (150 waiting to be taken away)."
    )

    while await payments_worker(wallet).run_once():
        pass
    assert se.points["viewer3"] == 0  # was -150 when the loss was staked again
    assert outbox(engine) == [("viewer3", -150, "done")]
    assert await chat.say("!points", "3") == "You have 0 points on StreamElements."


def link_kick_to_twitch(engine, member: int, kick_id: str, twitch_id: str, login: str) -> None:
    """A Discord member who linked Kick account ``kick_id`` and Twitch account ``login``."""
    with engine.begin() as conn:
        for platform, user_id, name in (
            (Platform.KICK, kick_id, f"kick_{kick_id}"),
            (Platform.TWITCH, twitch_id, login),
        ):
            save_link(conn, AccountLink(platform, user_id, member, name, T0), GUILD)


async def lose_all_of_viewer3(chat, heist_chat, clock, draws, engine) -> None:
    """viewer3, linked on Kick and Twitch, stakes all 150 in the Kick chat's heist and loses:
    -150 waits for the worker."""
    link_kick_to_twitch(engine, 3003, "k3", "3", "viewer3")
    await chat.say("!join all", "k3", platform=Platform.KICK)
    clock.advance(120)
    draws.push(LOSE)
    await heist_chat.resolve_due()
    assert outbox(engine) == [("viewer3", -150, "pending")]


async def test_a_loss_paid_between_the_balance_read_and_the_join_is_not_staked_again(
    chat, heist_chat, service, se, wallet, engine, clock, draws
):
    """viewer3's Twitch !join asks StreamElements first (150: the loss is not taken yet); the
    worker then takes the 150 (the payment no longer waits); the join's transaction must not
    hold 150 against the 150 it read."""
    await lose_all_of_viewer3(chat, heist_chat, clock, draws, engine)
    stake = await service.se_stake(
        GUILD, Platform.TWITCH, "3", "viewer3"
    )  # what HeistChat.join asks first
    assert stake is not None
    assert stake.balance == 150
    while await payments_worker(wallet).run_once():  # another process's worker, meanwhile
        pass
    assert (se.points["viewer3"], outbox(engine)) == (0, [("viewer3", -150, "done")])

    with pytest.raises(HeistRefused, match="no points to stake"):
        service.join(GUILD, Platform.TWITCH, TWITCH_BROADCASTER, "3", "viewer3", "all", se=stake)
    with pytest.raises(HeistRefused, match="You have only 0 points; a stake of 100 needs more"):
        service.join(GUILD, Platform.TWITCH, TWITCH_BROADCASTER, "3", "viewer3", "100", se=stake)
    assert wallet.open_holds(GUILD, "viewer3") == 0
    clock.advance(1)  # a balance read after the payment: the viewer has 0, and nothing is held
    assert await chat.say("!join all", "3", platform=Platform.TWITCH) == (
        "You have no points to stake yet."
    )


async def test_an_admin_removal_is_refused_for_a_loss_paid_while_the_balance_was_read(
    chat, heist_chat, se, wallet, engine, clock, draws, monkeypatch
):
    """The same for !pointsremove: StreamElements says 150, the worker takes the lost 150
    before the removal is checked; the removal must not be queued against the 150 read."""
    await lose_all_of_viewer3(chat, heist_chat, clock, draws, engine)
    ask = wallet.client.balance

    async def balance_then_the_loss_is_paid(*args: object) -> int | None:
        said = await ask(*args)
        while await payments_worker(wallet).run_once():
            pass
        return said

    monkeypatch.setattr(wallet.client, "balance", balance_then_the_loss_is_paid)
    with pytest.raises(NotEnoughPoints, match="viewer3 has only 0 points free"):
        await wallet.queue_change(GUILD, "viewer3", -100, ref="admin:1", actor_id=1, reason="")
    assert outbox(engine) == [("viewer3", -150, "done")]


async def test_a_kick_viewer_named_like_a_twitch_viewer_cannot_spend_their_points(
    chat, points, se, wallet, engine, clock
):
    """StreamElements keeps points by Twitch login. A Kick account called viewer1 is not
    Twitch's viewer1: it stakes nothing of theirs, and is told to link its Twitch account."""
    chat.router.add(PointsChat(points, wallet).commands()[0])
    with engine.begin() as conn:
        chatted_in(conn, GUILD, Platform.KICK, [Viewer("k1", "viewer1")], clock.now)
    answer = await chat.say("!join 1000", "k1", platform=Platform.KICK, username="viewer1")
    assert answer == NO_TWITCH_LINKED
    assert await chat.say("!points", "k1", platform=Platform.KICK, username="viewer1") == (
        NO_TWITCH_LINKED
    )
    assert await chat.say("!points viewer1", "k2", platform=Platform.KICK) == (
        "StreamElements knows viewers by their Twitch account, and viewer1 on Kick has none "
        "linked here."
    )
    assert await chat.say("!points nobody_here", "k2", platform=Platform.KICK) == (
        "No one called nobody_here has chatted here yet."
    )
    assert (wallet.open_holds(GUILD, "viewer1"), se.reads) == (0, [])


async def test_a_kick_viewer_stakes_the_points_of_the_twitch_account_linked_with_it(
    chat, points, se, wallet, engine, clock
):
    chat.router.add(PointsChat(points, wallet).commands()[0])
    link_kick_to_twitch(engine, 2002, "k2", "2", "viewer2")
    with engine.begin() as conn:
        chatted_in(conn, GUILD, Platform.KICK, [Viewer("k2", "viewer1")], clock.now)
    answer = await chat.say("!join 300", "k2", platform=Platform.KICK, username="viewer1")
    assert answer is not None
    assert answer.startswith("A heist is being planned! You are in with 300")
    assert (wallet.open_holds(GUILD, "viewer2"), wallet.open_holds(GUILD, "viewer1")) == (300, 0)
    assert await chat.say("!points", "k2", platform=Platform.KICK, username="viewer1") == (
        "You have 700 points on StreamElements (300 held for a heist)."
    )
    assert await chat.say("!points viewer1", "k9", platform=Platform.KICK) == (
        "viewer2 has 700 points on StreamElements (300 held for a heist)."
    )
