"""The VIP service's queued calls say what they do in the streamer's words (shown when one
does not happen, ``core/outbox/undone.py``): a redemption, a rule's grant and the catch-up
after the streamer connects Twitch again. The other features' are in
tests/outbox/test_call_summaries.py."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core.events import Cheered, Platform, Viewer
from core.features.vip.rules import RuleAsked
from core.outbox import store
from core.outbox.undone import UndoneCalls
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import BROADCASTER, GUILD, T0, make_discord_calls, redemption


def summaries(engine: Engine) -> list[str | None]:
    with engine.connect() as conn:
        return [call.summary for call in reversed(store.of_guild(conn, GUILD))]


async def test_a_redemption_names_the_viewer_and_the_reward(vip: Vip, engine: Engine):
    await vip.service.queued.handle(GUILD, redemption("2001", vip.reward_id, username="ana"))

    assert summaries(engine)[-1] == "make ana a VIP for redeeming 'VIP for a day'"


async def test_a_rules_grant_names_the_viewer_and_the_rule(vip: Vip, engine: Engine):
    vip.service.rules.granted_scopes = lambda guild_id: ("bits:read",)
    await vip.service.rules.add(GUILD, RuleAsked(Platform.TWITCH, "bits", 10, at_least=100))
    [rule] = [r for r in await vip.service.rules.list(GUILD) if r.kind == "bits"]
    cheer = Cheered(
        platform=Platform.TWITCH, event_id="c1", broadcaster_user_id=BROADCASTER,
        occurred_at=T0, viewer=Viewer("42", "bo"), bits=500,
    )  # fmt: skip

    await vip.service.rule_grants.handle(GUILD, cheer)

    assert summaries(engine)[-1] == (
        f"make bo a VIP on Twitch for a cheer of at least 100 bits (VIP rule {rule.id})"
    )


async def test_the_catch_up_after_a_reconnection_says_so(vip: Vip, engine: Engine):
    with engine.begin() as conn:
        vip.service.reconnection.queue(conn, GUILD)

    assert summaries(engine)[-1] == (
        "catch up on the VIP redemptions made while Twitch was disconnected"
    )


async def test_a_notice_discord_would_not_take_is_among_what_the_bot_could_not_do(
    vip: Vip, engine: Engine
):
    # The words the Discord side gives, naming what to do: what the moderator reads.
    refusal = "not posted: I may not post in the VIP notice channel; give me Send Messages there"
    vip.notices.refused = refusal
    await vip.service.redemptions.handle(GUILD, redemption("42", vip.reward_id, username="Al"))

    await make_discord_calls(vip.service)

    [call] = UndoneCalls(engine, vip.clock).recent(GUILD).calls
    assert (call.partner, call.what, call.answer) == (
        "Discord",
        "post in the VIP channel: Al is a VIP until 2026-03-02 12:00 UTC.",
        refusal,
    )
    assert not call.failed  # refused at once, not tried again for an hour and a half
