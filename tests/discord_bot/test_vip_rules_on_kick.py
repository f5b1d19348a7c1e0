"""VIP rules on Kick, through signed webhooks into one real Runtime and dpytest's Discord
(the role lands on the member there): KICKs of enough, a sub and a gift of enough subs each give
the linked member the server's Kick VIP role (or lengthen it) for their rule's hours, audited
with the rule; KICKs below the bar and a repeated delivery give nothing more."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.services import BotServices
from core.events import Platform
from core.features.linking.repository import AccountLink, save_link
from core.features.vip.rules import RuleAsked
from core.platforms.kick.signing import signed_headers
from core.runtime import Runtime
from core.storage.db import transaction
from tests.conftest import FIXTURES
from tests.discord_bot.fake_roles import give_bot_a_role, make_role, role_ids
from tests.discord_bot.linking_support import deliver_published

BROADCASTER = "123456789"  # Kick's example payloads' channel
ALICE_ON_KICK = "987654321"


@pytest.fixture
def kick_runtime(make_runtime) -> Runtime:  # type: ignore[no-untyped-def]
    return make_runtime()


@pytest.fixture
def services(kick_runtime: Runtime) -> BotServices:
    return kick_runtime.bot_services()


@pytest.fixture
def gateway(kick_runtime: Runtime):  # type: ignore[no-untyped-def]
    return kick_runtime.discord


def _body(event_type: str, **changes: object) -> bytes:
    payload = json.loads((FIXTURES / "kick" / f"{event_type}.json").read_text())
    payload["created_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for path, value in changes.items():
        where = payload
        *parents, last = path.split("__")
        for parent in parents:
            where = where[parent]
        where[last] = value
    return json.dumps(payload).encode()


async def _kick_vip_role(runtime: Runtime, guild: discord.Guild, member: discord.Member):  # type: ignore[no-untyped-def]
    """The server follows the Kick channel, its Kick reward gives a role the bot can give, and
    ``member`` has linked ALICE_ON_KICK."""
    runtime.guilds.set_kick_channel(guild.id, "broadcaster_channel", BROADCASTER)
    await give_bot_a_role(guild)
    role = make_role(guild, "Kick VIP", 3)
    await runtime.vip.set_kick_reward(guild.id, "Kick VIP for a day", role.id)
    with transaction(runtime.engine) as conn:
        at = runtime.clock()
        link = AccountLink(Platform.KICK, ALICE_ON_KICK, member.id, "alice_on_kick", at)
        save_link(conn, link, guild.id)
    return role


def _webhooks(runtime: Runtime, kick_keys):  # type: ignore[no-untyped-def]
    """``deliver(event type, body, message id)``: a signed Kick webhook, handled; its status."""
    web = runtime.create_web_app().test_client()

    async def deliver(event_type: str, body: bytes, message_id: str | None = None) -> str:
        headers = signed_headers(kick_keys[0], body, event_type=event_type, message_id=message_id)
        answer = web.post("/webhooks/kick", data=body, headers=headers)
        assert answer.status_code == 200, answer.json
        await deliver_published(runtime)
        return str(answer.json["status"])

    return deliver


async def test_kicks_from_a_member_holding_the_role_by_hand_leave_it_theirs(
    guild_a: discord.Guild,
    alice: discord.Member,
    kick_runtime: Runtime,
    kick_keys,  # type: ignore[no-untyped-def]
) -> None:
    """A moderator gave Alice the Kick VIP role for good; her KICKs reach a rule: the role is
    not made temporary (it would be taken at the rule's end), she is an outside VIP."""
    runtime = kick_runtime
    role = await _kick_vip_role(runtime, guild_a, alice)
    await dpytest.add_role(alice, role)
    await runtime.vip.rules.add(guild_a.id, RuleAsked(Platform.KICK, "kicks", 12, at_least=100))
    deliver = _webhooks(runtime, kick_keys)

    assert await deliver("kicks.gifted", _body("kicks.gifted", gift__amount=100)) == "queued"

    assert role_ids(alice) == {role.id}
    [grant] = await runtime.vip.list_vips(guild_a.id)
    assert (grant.source, grant.expires_at, grant.discord_user_id) == ("outside", None, alice.id)
    [refused, seen] = await runtime.vip.log(guild_a.id)
    assert (seen.action, refused.action) == ("seen", "refused")


async def test_each_kick_rule_gives_the_role_for_its_hours_once(
    guild_a: discord.Guild,
    alice: discord.Member,
    kick_runtime: Runtime,
    kick_keys,  # type: ignore[no-untyped-def]
) -> None:
    runtime = kick_runtime
    role = await _kick_vip_role(runtime, guild_a, alice)
    rules = runtime.vip.rules
    kicks = await rules.add(guild_a.id, RuleAsked(Platform.KICK, "kicks", 12, at_least=100))
    sub = await rules.add(guild_a.id, RuleAsked(Platform.KICK, "sub", 24, tier=1))
    gift = await rules.add(guild_a.id, RuleAsked(Platform.KICK, "gift", 48, at_least=5))
    deliver = _webhooks(runtime, kick_keys)

    async def expiry() -> datetime | None:
        [grant] = await runtime.vip.list_vips(guild_a.id)
        assert (grant.discord_user_id, grant.role_id) == (alice.id, role.id)
        return grant.expires_at

    # 99 KICKs are below the bar; 100 give the role for 12 hours, once however often delivered.
    assert await deliver("kicks.gifted", _body("kicks.gifted", gift__amount=99)) == "queued"
    assert role_ids(alice) == set()
    hundred = _body("kicks.gifted", gift__amount=100)
    at = runtime.clock()
    assert await deliver("kicks.gifted", hundred, "kicks-1") == "queued"
    assert await deliver("kicks.gifted", hundred, "kicks-1") == "duplicate"
    assert role_ids(alice) == {role.id}
    first = await expiry()
    assert first is not None
    assert abs(first - (at + timedelta(hours=12))) < timedelta(minutes=1)

    # A sub (Kick has one tier) adds 24 hours; a gift of 5 subs adds 48.
    await deliver("channel.subscription.new", _body("channel.subscription.new"))
    giftees = [
        {"is_anonymous": False, "user_id": 700 + n, "username": f"giftee{n}"} for n in range(5)
    ]
    await deliver(
        "channel.subscription.gifts", _body("channel.subscription.gifts", giftees=giftees)
    )
    assert await expiry() == first + timedelta(hours=24 + 48)

    log = await runtime.vip.log(guild_a.id, limit=10)
    assert [(e.action, e.rule_id) for e in reversed(log)] == [
        ("granted", kicks.id),
        ("extended", sub.id),
        ("extended", gift.id),
    ]
    assert log[0].reason == f"rule {gift.id}: a gift of at least 5 subs"
