"""The admin side: the reward, grants by hand, the list and the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.chat_commands.notices import ChatNotices
from core.features.chat_commands.queued import SAY, QueuedChat, service_of
from core.features.vip import reward_deletion
from core.features.vip.ports import PendingRedemption, Refusal, TwitchRefused
from core.features.vip.service import VipRefused
from core.outbox import store
from core.outbox.worker import OutboxWorker
from tests.features.chat_commands.doubles import RecordingSender
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import (
    BROADCASTER,
    GUILD,
    T0,
    make_helix_calls,
    outbox_states,
)

ADMIN = 900


async def test_setup_creates_one_reward_and_adopts_it_the_second_time(vip: Vip) -> None:
    again = await vip.service.setup(GUILD, ADMIN, "vip for a DAY", 800, 12)

    assert again.is_adopted
    assert list(vip.twitch.rewards) == [vip.reward_id]
    assert vip.twitch.rewards[vip.reward_id].cost == 800
    settings = await vip.service.settings(GUILD)
    assert (settings.reward_id, settings.reward_cost, settings.duration_hours) == (
        vip.reward_id,
        800,
        12,
    )


@pytest.mark.parametrize(
    ("title", "cost", "hours", "problem"),
    [("", 5, 1, "title"), ("x" * 46, 5, 1, "title"), ("VIP", 0, 1, "cost"), ("VIP", 5, 0, "Hours")],
)
async def test_setup_refuses_bad_values(vip: Vip, title, cost, hours, problem) -> None:
    with pytest.raises(VipRefused, match=problem):
        await vip.service.setup(GUILD, ADMIN, title, cost, hours)


@pytest.mark.parametrize("typed", ["+5", "\u0665\u0660\u0660", "\uff15", "5k", "5.0"])
async def test_reward_cost_and_hours_take_ascii_digits_only(vip: Vip, typed: str) -> None:
    for what in ("cost", "hours"):
        with pytest.raises(VipRefused, match="Give a whole number like 500"):
            await vip.service.change_reward(GUILD, what, typed)
    assert vip.twitch.rewards[vip.reward_id].cost != 5
    assert "5,000 points" in await vip.service.change_reward(GUILD, "cost", "5,000")


async def test_setup_in_a_guild_without_a_twitch_channel_is_refused(vip: Vip) -> None:
    with pytest.raises(VipRefused, match="no Twitch channel"):
        await vip.service.setup(999, ADMIN, "VIP", 5, 1)


async def test_reward_changes(vip: Vip, engine: Engine) -> None:
    assert "250 points" in await vip.service.change_reward(GUILD, "cost", "250")
    assert "paused" in await vip.service.change_reward(GUILD, "pause")
    assert vip.twitch.rewards[vip.reward_id].is_paused
    await vip.service.change_reward(GUILD, "hours", "6")
    assert (await vip.service.settings(GUILD)).duration_hours == 6
    with pytest.raises(VipRefused, match="whole number"):
        await vip.service.change_reward(GUILD, "cost", "lots")
    vip.twitch.pending = [PendingRedemption("waiting", "42", "viewer42", T0)]
    said = await vip.service.change_reward(GUILD, "delete")
    assert said == (
        "The VIP reward is deleted: no redemption of it grants VIP from now on, and it goes "
        "from Twitch in a moment (redemptions still waiting there are refunded first). The "
        "VIPs it granted still expire."
    )
    assert (await vip.service.settings(GUILD)).reward_id is None
    assert await vip.service.rules.list(GUILD) == []  # its rule went with it
    assert vip.reward_id in vip.twitch.rewards  # the admin waited for no call to Twitch
    await make_helix_calls(vip.service)
    assert vip.twitch.statuses == {"waiting": "CANCELED"}  # not spent for nothing
    assert vip.twitch.rewards == {}
    assert outbox_states(engine, reward_deletion.KIND) == [
        ("done", "deleted; 1 waiting redemption(s) refunded")
    ]


async def test_grant_extend_revoke_by_hand_are_audited_with_the_admin(vip: Vip) -> None:
    vip.twitch.users["carol"] = "77"

    grant = await vip.service.manual.grant(GUILD, ADMIN, "@Carol", 5)
    extended = await vip.service.manual.extend(GUILD, ADMIN, "carol", 2)
    await vip.service.manual.revoke(GUILD, ADMIN, "carol")

    assert grant.expires_at == T0 + timedelta(hours=5)
    assert extended.expires_at == T0 + timedelta(hours=7)
    assert vip.twitch.vips == set()
    log = list(reversed(await vip.service.log(GUILD, "carol")))
    assert [(e.action, e.actor_kind, e.actor_id) for e in log] == [
        ("granted", "discord", str(ADMIN)),
        ("extended", "discord", str(ADMIN)),
        ("removed", "discord", str(ADMIN)),
    ]
    assert log[2].reason == "revoked by a Discord admin"  # who is the entry's actor, by name
    assert (log[1].previous_expires_at, log[1].new_expires_at) == (
        T0 + timedelta(hours=5),
        T0 + timedelta(hours=7),
    )


async def test_grant_refusals_are_friendly(vip: Vip) -> None:
    vip.twitch.users["mod"] = "5"
    vip.twitch.moderators.add("5")
    with pytest.raises(VipRefused, match="no user called"):
        await vip.service.manual.grant(GUILD, ADMIN, "nobody", 5)
    with pytest.raises(TwitchRefused, match="moderator"):
        await vip.service.manual.grant(GUILD, ADMIN, "mod", 5)
    with pytest.raises(VipRefused, match="not a VIP StreamKeeper knows"):
        await vip.service.manual.revoke(GUILD, ADMIN, "mod")


async def test_an_outside_vip_cannot_be_extended(vip: Vip) -> None:
    vip.twitch.vips.add("8")
    vip.twitch.users["eight"] = "8"
    await vip.service.setup(GUILD, ADMIN, "VIP for a day", 500, 24)

    with pytest.raises(VipRefused, match="outside StreamKeeper"):
        await vip.service.manual.extend(GUILD, ADMIN, "eight", 5)


async def test_not_connected_is_a_polite_refusal(vip: Vip) -> None:
    vip.twitch.is_connected = False
    with pytest.raises(TwitchRefused, match="Twitch is not connected"):
        await vip.service.setup(GUILD, ADMIN, "VIP", 5, 1)


async def test_pausing_and_resuming_the_reward_is_said_in_twitch_chat_once_each(
    vip: Vip, engine
) -> None:
    twitch_chat = RecordingSender()
    vip.service.chat_notices = ChatNotices(engine, vip.clock, lambda p: True, lambda: [])
    await vip.service.change_reward(GUILD, "pause")
    vip.clock.advance(5)
    await vip.service.change_reward(GUILD, "pause")  # already paused: nothing to say
    vip.clock.advance(5)
    await vip.service.change_reward(GUILD, "resume")
    vip.clock.advance(5)
    await vip.service.change_reward(GUILD, "cost", "300")  # not a pause or a resume

    queued = QueuedChat(engine, vip.clock, lambda _: twitch_chat)
    worker = OutboxWorker(
        engine, service_of(Platform.TWITCH), {SAY: queued.kind(Platform.TWITCH)}, vip.clock
    )
    await worker.run_once()

    assert twitch_chat.texts == [
        "VIP redemptions are paused for now: VIP for a day cannot be redeemed.",
        "VIP redemptions are back on: redeem VIP for a day for a while as VIP.",
    ]
    assert {line.broadcaster_user_id for line in twitch_chat.sent} == {BROADCASTER}


async def test_with_chat_notices_off_a_pause_is_not_said(vip: Vip, engine) -> None:
    vip.service.chat_notices = ChatNotices(engine, vip.clock, lambda p: True, lambda: [])
    await vip.service.update_settings(GUILD, is_chat_notices=False)
    await vip.service.change_reward(GUILD, "pause")
    with engine.connect() as conn:
        assert store.of_guild(conn, GUILD) == []


async def test_a_second_rule_for_a_reward_is_refused_before_its_cost_changes(vip: Vip) -> None:
    """Adding a rule by the title of a reward a rule already uses is refused, and the reward
    keeps its cost on Twitch (the refused rule used to set it, while the rule and the VIP page
    went on saying the old one)."""
    from core.features.vip.rules import RuleAsked

    vip.service.rules.granted_scopes = lambda guild_id: ()
    asked = RuleAsked(Platform.TWITCH, "reward", 48, title="vip FOR a day", cost=900)

    with pytest.raises(VipRefused, match="is already for the reward 'VIP for a day'"):
        await vip.service.rules.add(GUILD, asked)

    assert vip.twitch.rewards[vip.reward_id].cost == 500
    [rule] = await vip.service.rules.list(GUILD)
    assert (rule.reward_cost, rule.hours) == (500, 24)
    assert (await vip.service.settings(GUILD)).reward_cost == 500


async def test_setup_run_again_gives_the_new_hours_and_cost_to_redemptions(vip: Vip) -> None:
    """`!vip setup` again on the same reward (to change its hours): it said "for 12 hour(s)",
    but redemptions kept giving the first setup's 24, and `!vip rules` kept its old cost."""
    from tests.features.vip.doubles import redemption

    await vip.service.setup(GUILD, ADMIN, "vip for a DAY", 800, 12)
    await vip.service.redemptions.handle(GUILD, redemption("51", vip.reward_id))

    [grant] = await vip.service.list_vips(GUILD)
    assert grant.expires_at == T0 + timedelta(hours=12)
    [rule] = await vip.service.rules.list(GUILD)
    assert (rule.reward_id, rule.reward_title, rule.reward_cost, rule.hours) == (
        vip.reward_id,
        "VIP for a day",
        800,
        12,
    )


async def test_granting_by_hand_to_a_vip_given_outside_says_what_to_do(vip: Vip) -> None:
    """An outside VIP (tracked, or first found by this grant) is refused in words that lead
    somewhere: the grant used to say "!vip extend adds time", which refuses outside VIPs, or
    Twitch's bare "already VIP" for one given by hand while StreamKeeper was not watching."""
    vip.twitch.users.update({"eight": "8", "nine": "9"})
    vip.twitch.vips.add("8")
    await vip.service.setup(GUILD, ADMIN, "VIP for a day", 500, 24)  # tracks 8 as outside
    vip.twitch.vips.add("9")  # given by hand since

    for login in ("eight", "nine"):
        with pytest.raises(VipRefused) as refused:
            await vip.service.manual.grant(GUILD, ADMIN, login, 5)
        assert str(refused.value) == (
            f"{login} is a VIP given outside StreamKeeper, never removed by it: "
            "!vip revoke removes that VIP, then a grant gives it for a while."
        )
    listed = {g.platform_user_id: g.source for g in await vip.service.list_vips(GUILD)}
    assert listed == {"8": "outside", "9": "outside"}


async def test_revoking_a_vip_whose_twitch_account_is_gone_closes_it(vip: Vip) -> None:
    """An outside VIP (no end, never removed by expiry) whose account was deleted since: Remove
    VIP answers 404 "unknown user", and `!vip revoke` used to pass that on and keep them on
    the VIP list for good. No VIP is left on Twitch, so the revoke closes it."""
    vip.twitch.users["eight"] = "8"
    vip.twitch.vips.add("8")
    await vip.service.setup(GUILD, ADMIN, "VIP for a day", 500, 24)  # tracks 8 as outside

    async def remove_unknown_user(guild_id: int, broadcaster_id: str, user_id: str) -> None:
        raise TwitchRefused(Refusal.NOT_FOUND, "Twitch said no: The ID in user_id was not found")

    vip.twitch.remove_vip = remove_unknown_user  # type: ignore[method-assign]

    gone = await vip.service.manual.revoke(GUILD, ADMIN, "eight")

    assert gone.platform_user_id == "8"
    assert await vip.service.list_vips(GUILD) == []
    [last] = await vip.service.log(GUILD, limit=1)
    assert (last.action, last.reason) == ("removed", "revoked by a Discord admin")
