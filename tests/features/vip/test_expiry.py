"""Expiry: the job removes what is due (catching up), retries what waits, leaves outside VIPs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.events import Platform, Viewer, VipAdded, VipRemoved
from core.features.vip import repository, texts
from core.features.vip.ports import Refusal, TwitchBusy, TwitchRefused
from core.features.vip.repository import REDEMPTION, Grant
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import (
    BROADCASTER,
    GUILD,
    T0,
    expire,
    make_discord_calls,
    make_helix_calls,
    redemption,
)

MINUTE = timedelta(minutes=1)


def vip_event(kind, viewer_id: str, name: str, at=T0):  # type: ignore[no-untyped-def]
    return kind(
        platform=Platform.TWITCH,
        event_id=f"{kind.kind}-{viewer_id}-{name}-{at.isoformat()}",
        broadcaster_user_id=BROADCASTER,
        occurred_at=at,
        viewer=Viewer(viewer_id, name),
    )


async def test_expired_vips_are_removed_after_downtime_others_stay(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id, username="One"))
    vip.clock.advance(hours=10)
    await vip.service.redemptions.handle(GUILD, redemption("2", vip.reward_id, username="Two"))
    vip.clock.advance(hours=20)  # One is 6 h past expiry (as if the bot was down), Two is not

    run = await expire(vip.service)

    assert (run.removed, run.postponed) == (1, 0)
    assert vip.twitch.vips == {"2"}
    assert [g.username for g in await vip.service.list_vips(GUILD)] == ["Two"]
    [last] = await vip.service.log(GUILD, limit=1)
    assert (last.action, last.username, last.actor_kind, last.reason) == (
        "removed",
        "One",
        "system",
        "expired",
    )
    await make_discord_calls(vip.service)
    assert "One is no longer a VIP" in vip.notices.posts[-1][2]
    assert (await expire(vip.service)).removed == 0


async def test_a_vip_removed_by_hand_before_expiry_is_not_an_error(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id))
    vip.twitch.vips.discard("1")  # a moderator typed /unvip
    vip.clock.advance(hours=25)

    run = await expire(vip.service)

    assert run.removed == 1
    assert await vip.service.list_vips(GUILD) == []


async def test_a_transient_failure_is_retried_at_the_next_run(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id))
    vip.clock.advance(hours=25)
    vip.twitch.busy.append(TwitchBusy("Twitch did not answer"))

    first = await expire(vip.service)
    [grant] = await vip.service.list_vips(GUILD)
    vip.clock.advance(seconds=60)  # the job's next run
    second = await expire(vip.service)

    assert (first.removed, first.postponed) == (0, 1)
    assert grant.last_error == "Twitch did not answer"
    assert second.removed == 1
    assert vip.twitch.vips == set()


async def test_not_connected_waits_without_losing_the_grant(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id))
    await vip.service.redemptions.handle(GUILD, redemption("2", vip.reward_id))
    vip.clock.advance(hours=25)
    vip.twitch.is_connected = False

    run = await expire(vip.service)

    assert (run.removed, run.postponed) == (0, 2)
    assert len(await vip.service.list_vips(GUILD)) == 2


async def test_an_expired_vip_whose_twitch_account_is_gone_is_closed_not_retried_for_ever(
    vip: Vip,
) -> None:
    """The viewer deleted their Twitch account (or it was suspended) during their VIP time:
    Remove VIP answers 404 "unknown user". No VIP is left to remove, so the grant closes,
    logged in words, instead of failing every minute and showing a code."""
    await vip.service.redemptions.handle(GUILD, redemption("9", vip.reward_id, username="Gone"))
    calls: list[str] = []

    async def remove_unknown_user(guild_id: int, broadcaster_id: str, user_id: str) -> None:
        calls.append(user_id)
        raise TwitchRefused(Refusal.NOT_FOUND, "Twitch said no: The ID in user_id was not found")

    vip.twitch.remove_vip = remove_unknown_user  # type: ignore[method-assign]
    vip.clock.advance(hours=25)
    first = await expire(vip.service)
    vip.clock.advance(minutes=1)
    await expire(vip.service)

    open_grants = await vip.service.list_vips(GUILD)
    assert open_grants == [], (
        f"the grant stays open for ever; the VIP list shows: {open_grants[0].last_error!r}"
    )
    assert (first.removed, calls) == (1, ["9"])
    [last] = await vip.service.log(GUILD, limit=1)
    assert (last.action, last.reason) == (
        "removed",
        "expired (the Twitch account no longer exists)",
    )


@pytest.mark.parametrize(
    ("refusal", "words"),
    [
        (Refusal.UNAUTHORIZED, "StreamKeeper may not remove VIPs until the streamer connects"),
        (Refusal.FORBIDDEN, "Twitch does not let StreamKeeper change VIPs in this channel"),
        (Refusal.INVALID, "Twitch refused the request"),
    ],
)
async def test_a_removal_twitch_refuses_is_shown_in_words_of_removing(
    vip: Vip, refusal: Refusal, words: str
) -> None:
    """The VIP list shows why an expired VIP is still there in words, never Twitch's code, and
    a connection that needs the streamer again is worded for removing, not adding."""
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id))

    async def refused(guild_id: int, broadcaster_id: str, user_id: str) -> None:
        raise TwitchRefused(refusal, "Twitch said no")

    vip.twitch.remove_vip = refused  # type: ignore[method-assign]
    vip.clock.advance(hours=25)
    run = await expire(vip.service)

    [grant] = await vip.service.list_vips(GUILD)
    assert (run.removed, run.postponed) == (0, 1)
    error = grant.last_error or ""
    assert error.startswith(words), error
    assert "add VIPs" not in error


async def test_outside_vips_are_tracked_shown_and_never_removed(vip: Vip) -> None:
    await vip.service.expiry.handle_vip_added(GUILD, vip_event(VipAdded, "7", "Seven"))
    await vip.service.expiry.handle_vip_added(GUILD, vip_event(VipAdded, "7", "Seven"))
    vip.twitch.vips.add("7")
    vip.clock.advance(days=400)

    await expire(vip.service)

    [grant] = await vip.service.list_vips(GUILD)
    assert (grant.username, grant.source, grant.expires_at) == ("Seven", "outside", None)
    assert vip.twitch.vips == {"7"}
    assert vip.twitch.changes == []


async def test_vips_found_at_setup_are_outside_vips(vip: Vip) -> None:
    vip.twitch.vips.add("8")
    vip.twitch.users["eight"] = "8"

    result = await vip.service.setup(GUILD, 900, "VIP for a day", 500, 24)

    assert result.is_adopted
    assert result.outside_vips == 1
    assert [g.source for g in await vip.service.list_vips(GUILD)] == ["outside"]


async def test_our_own_vip_add_echo_does_not_become_an_outside_vip(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id, username="One"))
    await vip.service.expiry.handle_vip_added(GUILD, vip_event(VipAdded, "1", "One"))

    [grant] = await vip.service.list_vips(GUILD)
    assert grant.source == "redemption"


async def test_a_vip_removed_on_twitch_closes_the_grant(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id, username="One"))
    vip.twitch.vips.discard("1")

    await vip.service.expiry.handle_vip_removed(GUILD, vip_event(VipRemoved, "1", "One"))
    await vip.service.expiry.handle_vip_removed(GUILD, vip_event(VipRemoved, "1", "One"))

    assert await vip.service.list_vips(GUILD) == []
    [last] = await vip.service.log(GUILD, limit=1)
    assert (last.action, last.reason) == ("removed", "removed outside StreamKeeper")
    assert [e.action for e in await vip.service.log(GUILD)].count("removed") == 1


async def test_a_late_removal_sent_before_the_grant_leaves_it(vip: Vip) -> None:
    """One's earlier VIP was removed (Twitch's channel.vip.remove sent at T0) and they redeem
    again a minute later; the removal arrives after: the new grant stays, to be removed when
    it expires."""
    vip.clock.advance(minutes=1)
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id, username="One"))

    await vip.service.expiry.handle_vip_removed(GUILD, vip_event(VipRemoved, "1", "One"))

    [grant] = await vip.service.list_vips(GUILD)
    assert (grant.username, grant.source) == ("One", "redemption")
    vip.clock.advance(days=2)
    assert (await expire(vip.service)).removed == 1


async def test_a_hand_given_vip_removed_before_its_add_arrived_is_not_kept(vip: Vip) -> None:
    """The streamer made Seven VIP by hand (channel.vip.add sent at T0) and took it back a
    minute later; Twitch delivered the removal first. The list shows no VIP nobody removes; a
    later VIP by hand is tracked again."""
    vip.clock.advance(minutes=5)
    expiry = vip.service.expiry
    await expiry.handle_vip_removed(GUILD, vip_event(VipRemoved, "7", "Seven", T0 + MINUTE))
    await expiry.handle_vip_added(GUILD, vip_event(VipAdded, "7", "Seven", T0))

    assert await vip.service.list_vips(GUILD) == []

    await expiry.handle_vip_added(GUILD, vip_event(VipAdded, "7", "Seven", T0 + 3 * MINUTE))
    [grant] = await vip.service.list_vips(GUILD)
    assert (grant.username, grant.source) == ("Seven", "outside")


async def test_our_vip_add_told_after_the_grant_ended_is_no_outside_vip(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id, username="One"))
    vip.clock.advance(hours=25)
    assert (await expire(vip.service)).removed == 1

    # the channel.vip.add our own grant caused, delivered only now
    await vip.service.expiry.handle_vip_added(GUILD, vip_event(VipAdded, "1", "One", T0))

    assert await vip.service.list_vips(GUILD) == []


async def test_auto_removal_off_leaves_expired_vips(vip: Vip) -> None:
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id))
    await vip.service.update_settings(GUILD, is_auto_removal=False)
    vip.clock.advance(hours=25)

    assert (await expire(vip.service)).removed == 0
    assert vip.twitch.vips == {"1"}


async def test_expired_grants_of_a_guild_with_auto_removal_off_do_not_starve_others(
    vip: Vip,
) -> None:
    """A guild that turned automatic removal off keeps 500 expired grants (a whole batch of
    ``due_grants``); another guild's one expired VIP is still queued for removal."""
    await vip.service.update_settings(GUILD, is_auto_removal=False)
    other = GUILD + 1
    with vip.service.effects.engine.begin() as conn:
        for n in range(500):
            repository.add_grant(
                conn,
                Grant(0, GUILD, Platform.TWITCH, BROADCASTER, f"u{n}", f"user{n}", REDEMPTION,
                      T0 - timedelta(days=3), T0 - timedelta(days=2)),
            )  # fmt: skip
        repository.add_grant(
            conn,
            Grant(0, other, Platform.TWITCH, "999", "v1", "other_viewer", REDEMPTION,
                  T0 - timedelta(days=1), T0 - timedelta(hours=1)),
        )  # fmt: skip

    run = await vip.service.expiry.expire_due()

    assert run.queued == 1, "the other guild's expired VIP was never queued for removal"


async def test_two_removals_of_one_grant_at_once_tell_it_once(vip: Vip) -> None:
    """Two workers making the same expiry call side by side (two processes): both reach
    Twitch, one closes the grant, and only that one says the VIP time is over."""
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id, username="One"))
    [grant] = await vip.service.list_vips(GUILD)
    vip.clock.advance(hours=25)
    both_there = asyncio.Event()
    arrived = []
    remove = vip.twitch.remove_vip

    async def side_by_side(*args: object) -> None:
        arrived.append(args)
        if len(arrived) == 2:
            both_there.set()
        await both_there.wait()
        await remove(*args)  # type: ignore[arg-type]

    vip.twitch.remove_vip = side_by_side  # type: ignore[method-assign]

    outcomes = await asyncio.gather(
        vip.service.expiry.remove_expired(GUILD, grant.id),
        vip.service.expiry.remove_expired(GUILD, grant.id),
    )

    assert [type(o).__name__ for o in outcomes] == ["Done", "Done"]
    await make_discord_calls(vip.service)
    told = [post for post in vip.notices.posts if "One is no longer a VIP" in post[2]]
    assert len(told) == 1
    assert len([line for line in vip.twitch.chat if "One is no longer a VIP" in line]) == 1
    removed = [e for e in await vip.service.log(GUILD) if e.action == "removed"]
    assert len(removed) == 1


async def test_time_redeemed_just_after_expiry_is_kept_not_removed_with_the_old_grant(
    vip: Vip,
) -> None:
    """The viewer redeems again in the minute after their grant ran out, before the expiry
    job came: the redemption's call is made first (the guild's order) and extends the grant,
    so the removal queued after it finds a grant that runs for another day and keeps it."""
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id, username="Ana"))
    vip.clock.advance(hours=24, seconds=20)
    again = redemption("1", vip.reward_id, redemption_id="again", username="Ana", at=vip.clock())
    await vip.service.queued.handle(GUILD, again)
    await vip.service.expiry.expire_due()
    await make_helix_calls(vip.service)
    await make_discord_calls(vip.service)

    assert vip.twitch.vips == {"1"}
    [grant] = await vip.service.list_vips(GUILD)
    assert grant.expires_at == vip.clock() + timedelta(hours=24)
    assert [e.action for e in reversed(await vip.service.log(GUILD))] == ["granted", "extended"]
    assert not [post for post in vip.notices.posts if "no longer a VIP" in post[2]]


@pytest.mark.parametrize("by", ["redemption", "admin"])
async def test_time_added_while_the_removal_call_is_made_gives_the_vip_back(
    vip: Vip, by: str
) -> None:
    """The grant ran out and its removal is on its way to Twitch (a slow answer, or Twitch's
    pace for removals waited out) when the viewer redeems again or an admin extends it: the
    grant runs on, so the VIP the call took away is given back and nobody is told it ended."""
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id, username="One"))
    vip.clock.advance(hours=25)
    await vip.service.expiry.expire_due()
    remove = vip.twitch.remove_vip

    async def extended_meanwhile(*args: object) -> None:
        if by == "admin":
            await vip.service.manual.extend(GUILD, 900, "One", 24)
        else:
            again = redemption("1", vip.reward_id, redemption_id="again", at=vip.clock())
            await vip.service.redemptions.handle(GUILD, again)
        await remove(*args)  # type: ignore[arg-type]

    vip.twitch.remove_vip = extended_meanwhile  # type: ignore[method-assign]
    await make_helix_calls(vip.service)
    await make_discord_calls(vip.service)

    assert vip.twitch.vips == {"1"}
    [grant] = await vip.service.list_vips(GUILD)
    assert grant.expires_at == vip.clock() + timedelta(hours=24)
    assert [e.action for e in reversed(await vip.service.log(GUILD))] == ["granted", "extended"]
    assert not [post for post in vip.notices.posts if "no longer a VIP" in post[2]]


async def test_a_hand_given_vip_taken_back_seconds_later_is_not_kept(vip: Vip) -> None:
    """The streamer made Seven VIP by hand (sent at T0) and took it back a second later; the
    add reached us five seconds late. The removal was sent after the add, so it closes it."""
    vip.clock.advance(seconds=5)
    expiry = vip.service.expiry
    await expiry.handle_vip_added(GUILD, vip_event(VipAdded, "7", "Seven", T0))
    [grant] = await vip.service.list_vips(GUILD)
    assert grant.source == "outside"
    await expiry.handle_vip_removed(
        GUILD, vip_event(VipRemoved, "7", "Seven", T0 + timedelta(seconds=1))
    )

    assert await vip.service.list_vips(GUILD) == []


async def test_a_vip_given_back_while_twitch_fails_is_given_back_when_it_answers(
    vip: Vip,
) -> None:
    """As above, but Twitch fails the Add VIP that gives the VIP back (a 5xx): the viewer paid
    for the time, so it is tried again until Twitch answers, not left off for the whole of it."""
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id, username="One"))
    vip.clock.advance(hours=25)
    await vip.service.expiry.expire_due()
    remove = vip.twitch.remove_vip

    async def extended_meanwhile(*args: object) -> None:
        again = redemption("1", vip.reward_id, redemption_id="again", at=vip.clock())
        await vip.service.redemptions.handle(GUILD, again)
        await remove(*args)  # type: ignore[arg-type]
        vip.twitch.busy.append(TwitchBusy("503 from Helix"))  # the give-back's Add VIP

    vip.twitch.remove_vip = extended_meanwhile  # type: ignore[method-assign]
    await make_helix_calls(vip.service)
    assert vip.twitch.vips == set()
    [grant] = await vip.service.list_vips(GUILD)
    assert (grant.last_error or "").startswith("extended while it was being removed")

    vip.clock.advance(minutes=1)  # the worker tries again
    await make_helix_calls(vip.service)

    assert vip.twitch.vips == {"1"}
    [grant] = await vip.service.list_vips(GUILD)
    assert grant.last_error is None
    assert grant.expires_at == vip.clock() - timedelta(minutes=1) + timedelta(hours=24)


async def test_a_removal_twitch_keeps_refusing_is_tried_less_and_less_often(vip: Vip) -> None:
    """Twitch refuses the removal (403) until the streamer fixes the permission: it is tried
    after 1, 2, 4 ... minutes, at most every 30, not every minute for ever (1,440 refused calls
    a day); time added meanwhile starts the count afresh."""
    await vip.service.redemptions.handle(GUILD, redemption("1", vip.reward_id))
    vip.clock.advance(hours=25)
    tries = []
    for minute in range(70):
        vip.twitch.busy.append(TwitchRefused(Refusal.FORBIDDEN, "403"))
        if (await expire(vip.service)).postponed:
            tries.append(minute)
        vip.twitch.busy.clear()
        vip.clock.advance(seconds=60)
    assert tries == [0, 1, 3, 7, 15, 31, 61]
    [grant] = await vip.service.list_vips(GUILD)
    assert texts.removal_note(grant) == (
        "not removed yet: Twitch does not let StreamKeeper change VIPs in this channel (tried "
        "again in 30 min)"
    )

    vip.clock.advance(minutes=30)
    assert (await expire(vip.service)).removed == 1  # the streamer fixed it: the VIP goes
