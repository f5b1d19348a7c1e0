"""What follows a link attempt goes through the outbox: the event's handler only queues, the
Discord worker makes the calls, and Discord being away delays only them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.bus.base import NotReady
from core.events import AccountUnlinked, Platform, Viewer
from core.features.linking.effects import LinkEffects
from core.features.linking.ports import RoleChange
from core.features.linking.queued import QueuedLinkEffects
from core.features.linking.service import LINKED, UNLINKED, LinkingService
from core.outbox import DISCORD
from core.outbox.undone import UndoneCalls
from core.outbox.worker import OutboxWorker
from core.storage.tables import outbox
from tests.features.linking.test_effects import (
    ADMIN,
    ALICE,
    GUILD,
    LOG,
    ROLE,
    T0,
    RecordingDiscord,
    RecordingRoleSync,
    linked,
)
from tests.support.clock import Clock


class Away(NotReady):
    """As the Discord gateway raises while the bot is not connected."""


class FlakyDiscord(RecordingDiscord):
    """Away until ``back`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.back = False

    async def tell_member(self, notice):  # type: ignore[no-untyped-def]
        if not self.back:
            raise Away("the Discord bot is not connected yet")
        return await super().tell_member(notice)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def linking(sqlite_engine, clock) -> LinkingService:  # type: ignore[no-untyped-def]
    service = LinkingService(sqlite_engine, clock, link_secret="s")
    service.set_linked_role(GUILD, ROLE)
    service.set_log_channel(GUILD, LOG)
    return service


@pytest.fixture
def discord() -> FlakyDiscord:
    return FlakyDiscord()


@pytest.fixture
def queued(sqlite_engine, clock, linking, discord) -> QueuedLinkEffects:  # type: ignore[no-untyped-def]
    effects = LinkEffects(linking, discord, role_sync=RecordingRoleSync(discord))
    return QueuedLinkEffects(sqlite_engine, clock, effects)


@pytest.fixture
def worker(sqlite_engine, clock, queued) -> OutboxWorker:  # type: ignore[no-untyped-def]
    return OutboxWorker(sqlite_engine, DISCORD, queued.kinds(), clock)


def calls(engine) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        query = sa.select(outbox.c.kind, outbox.c.state, outbox.c.result).order_by(outbox.c.id)
        return [tuple(row) for row in conn.execute(query)]


async def test_the_handler_only_queues_and_the_worker_tells_once_discord_answers(
    sqlite_engine, queued, worker, discord, clock
):
    await queued.queue(GUILD, linked())
    assert discord.calls == []  # the event's handler touched only our database
    assert calls(sqlite_engine) == [("linking.linked", "pending", None)]

    assert await worker.run_once() == 1
    assert calls(sqlite_engine) == [
        ("linking.linked", "pending", "the Discord bot is not connected yet")
    ]
    discord.back = True
    clock.advance(60)
    assert await worker.run_once() == 1

    assert discord.calls == [
        ("tell", ALICE, LINKED, None),
        ("role", GUILD, ALICE, ROLE, True),
        ("sync", GUILD, ALICE),
        ("log", LOG, GUILD, LINKED, RoleChange(ROLE, True)),
    ]
    assert calls(sqlite_engine)[0][1] == "done"


async def test_a_redelivered_event_queues_nothing_new(sqlite_engine, queued, worker, discord):
    discord.back = True
    await queued.queue(GUILD, linked())
    await worker.run_once()
    await queued.queue(GUILD, linked())

    assert await worker.run_once() == 0
    assert [call[0] for call in discord.calls] == ["tell", "role", "sync", "log"]
    assert calls(sqlite_engine) == [("linking.linked", "done", calls(sqlite_engine)[0][2])]


async def test_a_call_made_again_repeats_only_the_steps_left(
    sqlite_engine, queued, worker, discord, clock
):
    # Discord failed after the DM and the role, before the log (as a worker killed there would
    # leave it): the call is made again, and only the log is left to do (the sync is harmless).
    discord.back = True
    discord.unavailable_for_logs = 1
    await queued.queue(GUILD, linked())
    await worker.run_once()
    done_before = [call[0] for call in discord.calls]
    clock.advance(60)
    await worker.run_once()

    assert done_before == ["tell", "role", "sync"]
    assert [call[0] for call in discord.calls] == ["tell", "role", "sync", "sync", "log"]


async def test_an_unlink_from_the_dashboard_is_queued_and_made(
    sqlite_engine, queued, worker, discord
):
    discord.back = True
    event = AccountUnlinked(
        platform=Platform.KICK,
        event_id="u1",
        occurred_at=T0,
        guild_id=GUILD,
        discord_user_id=ALICE,
        viewer=Viewer("501", "al"),
        actor_id=ALICE,
    )
    await queued.queue(GUILD, event)
    await worker.run_once()

    assert discord.calls[0] == ("role", GUILD, ALICE, ROLE, False)
    assert discord.calls[-1][:4] == ("log", LOG, GUILD, UNLINKED)
    assert calls(sqlite_engine)[0][:2] == ("linking.unlinked", "done")


async def test_an_unlink_queues_what_follows_in_its_transaction_and_the_worker_makes_it(
    sqlite_engine, linking, queued, worker, discord
):
    discord.back = True
    linking.link(guild_id=GUILD, discord_user_id=ALICE, platform=Platform.KICK,
                 platform_user_id="501", username="al")  # fmt: skip

    removed = await queued.effects.unlink(GUILD, ALICE, actor_id=ADMIN)

    assert removed is not None
    assert removed.username == "al"
    assert discord.calls == []  # !unlink never waits on Discord
    assert calls(sqlite_engine) == [("linking.unlinked", "pending", None)]
    assert await worker.run_once() == 1
    assert discord.calls == [
        ("role", GUILD, ALICE, ROLE, False),
        ("sync", GUILD, ALICE),
        ("log", LOG, GUILD, UNLINKED, RoleChange(ROLE, True)),
    ]
    assert await queued.effects.unlink(GUILD, ALICE, actor_id=ADMIN) is None
    assert await worker.run_once() == 0


class RoleFailingDiscord(RecordingDiscord):
    """Discord failing (a 5xx, a rate limit) the first ``failures`` linked role changes."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def set_linked_role(self, guild_id, discord_user_id, role_id, *, present):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise RuntimeError("503 Service Unavailable")
        return await super().set_linked_role(guild_id, discord_user_id, role_id, present=present)


async def test_an_unlink_whose_role_discord_fails_to_take_is_tried_again(
    sqlite_engine, linking, clock
):
    discord = RoleFailingDiscord(failures=1)
    effects = LinkEffects(linking, discord, role_sync=RecordingRoleSync(discord))
    worker = OutboxWorker(
        sqlite_engine, DISCORD, QueuedLinkEffects(sqlite_engine, clock, effects).kinds(), clock
    )
    linking.link(guild_id=GUILD, discord_user_id=ALICE, platform=Platform.KICK,
                 platform_user_id="501", username="al")  # fmt: skip

    assert await effects.unlink(GUILD, ALICE, actor_id=ALICE) is not None
    await worker.run_once()
    assert calls(sqlite_engine) == [
        ("linking.unlinked", "pending", "RuntimeError: 503 Service Unavailable")
    ]
    clock.advance(60)
    await worker.run_once()

    assert discord.calls == [
        ("role", GUILD, ALICE, ROLE, False),
        ("sync", GUILD, ALICE),
        ("log", LOG, GUILD, UNLINKED, RoleChange(ROLE, True)),
    ]
    assert calls(sqlite_engine)[0][1] == "done"


class RoleRefusingDiscord(RecordingDiscord):
    """Discord refusing the linked role (``problem``, or the member gone when ``left``)."""

    def __init__(self, problem: str, *, left: bool = False) -> None:
        super().__init__()
        self.problem = problem
        self.left = left

    async def set_linked_role(self, guild_id, discord_user_id, role_id, *, present):  # type: ignore[no-untyped-def]
        await super().set_linked_role(guild_id, discord_user_id, role_id, present=present)
        return RoleChange(role_id, False, self.problem, for_admin=not self.left)


async def test_a_linked_role_discord_refuses_is_among_what_the_bot_could_not_do(
    sqlite_engine, linking, clock
):
    discord = RoleRefusingDiscord("Discord refused: check my Manage Roles permission")
    effects = LinkEffects(linking, discord, role_sync=RecordingRoleSync(discord))
    queued = QueuedLinkEffects(sqlite_engine, clock, effects)
    await queued.queue(GUILD, linked())

    await OutboxWorker(sqlite_engine, DISCORD, queued.kinds(), clock).run_once()

    assert [call[0] for call in discord.calls] == ["tell", "role", "sync", "log"]  # all tried
    assert calls(sqlite_engine) == [
        (
            "linking.linked",
            "refused",
            "the linked role was not changed: Discord refused: check my Manage Roles permission",
        )
    ]
    [undone] = UndoneCalls(sqlite_engine, clock).recent(GUILD).calls
    assert undone.what.startswith("DM the member who linked the Kick account")


async def test_a_member_who_left_leaves_no_role_for_an_admin_to_fix(sqlite_engine, linking, clock):
    discord = RoleRefusingDiscord("they are not a member of this server", left=True)
    effects = LinkEffects(linking, discord, role_sync=RecordingRoleSync(discord))
    queued = QueuedLinkEffects(sqlite_engine, clock, effects)
    await queued.queue(GUILD, linked())

    await OutboxWorker(sqlite_engine, DISCORD, queued.kinds(), clock).run_once()

    assert calls(sqlite_engine)[0][1] == "done"
    assert UndoneCalls(sqlite_engine, clock).recent(GUILD).total == 0


class LogRefusingDiscord(RecordingDiscord):
    """Discord not taking the link log (its channel deleted, a permission lost)."""

    async def post_log(self, channel_id, notice, role):  # type: ignore[no-untyped-def]
        await super().post_log(channel_id, notice, role)
        return "its channel (900) is gone or no text channel"


async def test_a_link_log_discord_does_not_take_is_among_what_the_bot_could_not_do(
    sqlite_engine, linking, clock
):
    discord = LogRefusingDiscord()
    effects = LinkEffects(linking, discord, role_sync=RecordingRoleSync(discord))
    queued = QueuedLinkEffects(sqlite_engine, clock, effects)
    await queued.queue(GUILD, linked())

    await OutboxWorker(sqlite_engine, DISCORD, queued.kinds(), clock).run_once()

    assert [call[0] for call in discord.calls] == ["tell", "role", "sync", "log"]  # all tried
    assert calls(sqlite_engine) == [
        (
            "linking.linked",
            "refused",
            "link log not written: its channel (900) is gone or no text channel",
        )
    ]
    [undone] = UndoneCalls(sqlite_engine, clock).recent(GUILD).calls
    assert undone.answer == "link log not written: its channel (900) is gone or no text channel"


OTHER_GUILD, OTHER_ROLE = GUILD + 1, ROLE + 1


async def test_an_unlink_in_another_server_takes_the_role_where_the_link_was_made(
    sqlite_engine, linking, queued, worker, discord
):
    """Alice links in GUILD (its linked role is hers) and unlinks with !unlink in another
    server: GUILD takes its role back too, quietly (its log was not where she unlinked)."""
    discord.back = True
    linking.set_linked_role(OTHER_GUILD, OTHER_ROLE)
    linking.link(guild_id=GUILD, discord_user_id=ALICE, platform=Platform.KICK,
                 platform_user_id="501", username="al")  # fmt: skip

    assert await queued.effects.unlink(OTHER_GUILD, ALICE, actor_id=ALICE) is not None
    assert calls(sqlite_engine) == [
        ("linking.unlinked", "pending", None),
        ("linking.unlinked_elsewhere", "pending", None),
    ]
    assert await worker.run_once() == 2

    assert sorted(discord.calls) == [
        ("role", GUILD, ALICE, ROLE, False),
        ("role", OTHER_GUILD, ALICE, OTHER_ROLE, False),
        ("sync", GUILD, ALICE),
        ("sync", OTHER_GUILD, ALICE),
    ]
    assert [state for _, state, _ in calls(sqlite_engine)] == ["done", "done"]


async def test_a_link_that_moved_to_another_server_and_is_removed_there_takes_both_roles(
    sqlite_engine, linking, queued, worker, discord
):
    discord.back = True
    linking.set_linked_role(OTHER_GUILD, OTHER_ROLE)
    for guild in (GUILD, OTHER_GUILD):  # linked here, then again in the other server
        linking.link(guild_id=guild, discord_user_id=ALICE, platform=Platform.KICK,
                     platform_user_id="501", username="al")  # fmt: skip

    assert await queued.effects.unlink(OTHER_GUILD, ALICE, actor_id=ADMIN) is not None
    await worker.run_once()

    assert ("role", GUILD, ALICE, ROLE, False) in discord.calls
    assert ("role", OTHER_GUILD, ALICE, OTHER_ROLE, False) in discord.calls
    # GUILD's link log and history hear nothing of the other server's admin.
    assert not [call for call in discord.calls if call[0] == "log" and call[2] == GUILD]
    assert [entry.action for entry in linking.history(GUILD, ALICE)] == [LINKED]


async def test_the_role_stays_where_a_link_on_another_platform_remains(
    sqlite_engine, linking, queued, worker, discord
):
    discord.back = True
    linking.link(guild_id=GUILD, discord_user_id=ALICE, platform=Platform.KICK,
                 platform_user_id="501", username="al")  # fmt: skip
    linking.link(guild_id=OTHER_GUILD, discord_user_id=ALICE, platform=Platform.TWITCH,
                 platform_user_id="t501", username="al_tv")  # fmt: skip

    await queued.effects.unlink(OTHER_GUILD, ALICE, actor_id=ALICE, platform=Platform.TWITCH)
    await worker.run_once()

    assert ("sync", GUILD, ALICE) in discord.calls  # Twitch's watchtime no longer counts
    assert not [call for call in discord.calls if call[0] == "role"]
    # Her Kick link goes too, in the other server: now GUILD's role goes.
    discord.calls.clear()
    await queued.effects.unlink(OTHER_GUILD, ALICE, actor_id=ALICE, platform=Platform.KICK)
    await worker.run_once()
    assert ("role", GUILD, ALICE, ROLE, False) in discord.calls
