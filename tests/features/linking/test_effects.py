"""What follows a link attempt, with a recording fake of the Discord port: the member is told,
the linked role follows, watchtime roles are synced, the link log records it; each once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events import AccountLinked, AccountLinkFailed, Platform, Viewer
from core.features.linking.effects import LinkEffects
from core.features.linking.ports import LinkNotice, RoleChange
from core.features.linking.service import DECLINED, LINKED, REFUSED, UNLINKED, LinkingService

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
GUILD, ALICE, ADMIN, ROLE, LOG = 111, 1, 3, 800, 900


class Unavailable(Exception):
    """Stands in for the Discord side's "not connected yet", which the bus retries."""


class RecordingDiscord:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.unavailable_for_logs = 0

    async def tell_member(self, notice: LinkNotice) -> bool:
        self.calls.append(("tell", notice.discord_user_id, notice.outcome, notice.reason))
        return True

    async def set_linked_role(
        self, guild_id: int, discord_user_id: int, role_id: int, *, present: bool
    ) -> RoleChange:
        self.calls.append(("role", guild_id, discord_user_id, role_id, present))
        return RoleChange(role_id, True)

    async def post_log(self, channel_id: int, notice: LinkNotice, role: RoleChange | None) -> None:
        if self.unavailable_for_logs:
            self.unavailable_for_logs -= 1
            raise Unavailable("not connected")
        self.calls.append(("log", channel_id, notice.guild_id, notice.outcome, role))


class RecordingRoleSync:
    def __init__(self, discord: RecordingDiscord) -> None:
        self.discord = discord

    async def sync_member(self, guild_id: int, discord_user_id: int) -> None:
        self.discord.calls.append(("sync", guild_id, discord_user_id))


@pytest.fixture
def linking(sqlite_engine) -> LinkingService:  # type: ignore[no-untyped-def]
    return LinkingService(sqlite_engine, lambda: T0, link_secret="s")


@pytest.fixture
def discord() -> RecordingDiscord:
    return RecordingDiscord()


@pytest.fixture
def effects(linking: LinkingService, discord: RecordingDiscord) -> LinkEffects:
    return LinkEffects(linking, discord, role_sync=RecordingRoleSync(discord))


def linked(event_id: str = "e1") -> AccountLinked:
    return AccountLinked(
        platform=Platform.KICK,
        event_id=event_id,
        occurred_at=T0,
        guild_id=GUILD,
        discord_user_id=ALICE,
        viewer=Viewer("501", "al"),
    )


async def test_a_link_tells_the_member_gives_the_role_syncs_and_logs(
    linking: LinkingService, effects: LinkEffects, discord: RecordingDiscord
) -> None:
    linking.set_linked_role(GUILD, ROLE)
    linking.set_log_channel(GUILD, LOG)

    await effects.account_linked(GUILD, linked())

    assert discord.calls == [
        ("tell", ALICE, LINKED, None),
        ("role", GUILD, ALICE, ROLE, True),
        ("sync", GUILD, ALICE),
        ("log", LOG, GUILD, LINKED, RoleChange(ROLE, True)),
    ]


async def test_without_a_role_or_a_log_the_member_is_still_told_and_synced(
    effects: LinkEffects, discord: RecordingDiscord
) -> None:
    await effects.account_linked(GUILD, linked())

    assert discord.calls == [("tell", ALICE, LINKED, None), ("sync", GUILD, ALICE)]


async def test_a_redelivered_event_repeats_only_what_did_not_happen(
    linking: LinkingService, effects: LinkEffects, discord: RecordingDiscord
) -> None:
    linking.set_linked_role(GUILD, ROLE)
    linking.set_log_channel(GUILD, LOG)
    discord.unavailable_for_logs = 1

    with pytest.raises(Unavailable):
        await effects.account_linked(GUILD, linked())
    discord.calls.clear()
    await effects.account_linked(GUILD, linked())
    await effects.account_linked(GUILD, linked())

    logs = [call for call in discord.calls if call[0] != "sync"]
    assert logs == [("log", LOG, GUILD, LINKED, None)]


async def test_a_failed_link_tells_the_member_and_logs_without_touching_roles(
    linking: LinkingService, effects: LinkEffects, discord: RecordingDiscord
) -> None:
    linking.set_linked_role(GUILD, ROLE)
    linking.set_log_channel(GUILD, LOG)
    failed = AccountLinkFailed(
        platform=Platform.KICK,
        event_id="f1",
        occurred_at=T0,
        guild_id=GUILD,
        discord_user_id=ALICE,
        reason=DECLINED,
    )

    await effects.link_failed(GUILD, failed)

    assert discord.calls == [
        ("tell", ALICE, REFUSED, DECLINED),
        ("log", LOG, GUILD, REFUSED, None),
    ]


async def test_an_unlink_from_the_dashboard_takes_the_role_syncs_and_logs_once(
    linking: LinkingService, effects: LinkEffects, discord: RecordingDiscord
) -> None:
    from core.events import AccountUnlinked

    linking.link(guild_id=GUILD, discord_user_id=ALICE, platform=Platform.KICK,
                 platform_user_id="501", username="al")  # fmt: skip
    linking.set_linked_role(GUILD, ROLE)
    linking.set_log_channel(GUILD, LOG)
    assert linking.unlink(GUILD, ALICE, actor_id=ALICE) is not None  # what /me does first
    event = AccountUnlinked(platform=Platform.KICK, event_id="u1", occurred_at=T0,
                            guild_id=GUILD, discord_user_id=ALICE, actor_id=ALICE,
                            viewer=Viewer("501", "al"))  # fmt: skip

    discord.unavailable_for_logs = 1
    with pytest.raises(Unavailable):
        await effects.account_unlinked(GUILD, event)
    await effects.account_unlinked(GUILD, event)  # the bus delivers it again

    assert discord.calls == [
        ("role", GUILD, ALICE, ROLE, False),
        ("sync", GUILD, ALICE),
        ("sync", GUILD, ALICE),  # a sync is harmless twice
        ("log", LOG, GUILD, UNLINKED, None),  # the role step ran in the first delivery
    ]


async def test_an_unlink_from_the_dashboard_keeps_the_role_while_another_link_remains(
    linking: LinkingService, effects: LinkEffects, discord: RecordingDiscord
) -> None:
    from core.events import AccountUnlinked

    linking.link(guild_id=GUILD, discord_user_id=ALICE, platform=Platform.TWITCH,
                 platform_user_id="777", username="al_tw")  # fmt: skip
    linking.set_linked_role(GUILD, ROLE)
    event = AccountUnlinked(platform=Platform.KICK, event_id="u2", occurred_at=T0,
                            guild_id=GUILD, discord_user_id=ALICE, actor_id=ALICE,
                            viewer=Viewer("501", "al"))  # fmt: skip
    await effects.account_unlinked(GUILD, event)
    assert discord.calls == [("sync", GUILD, ALICE)]
