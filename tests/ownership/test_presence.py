"""A process that does not run the bot (``python -m core health`` in a shell, a web process)
says whether a bot process is connected to Discord: each holds a presence lease while its
client is connected."""

from __future__ import annotations

from core.events import system_clock
from core.ownership.leases import Leases
from core.ownership.presence import Presence, discord_check, discord_presence_name


def leases(engine, holder: str) -> Leases:  # type: ignore[no-untyped-def]
    return Leases(engine, holder, system_clock, seconds=8)


def test_a_connected_bot_is_named_and_one_that_drops_gives_its_presence_up(engine):
    connected = [True]
    bot = Presence(leases(engine, "host-1-aa"), discord_presence_name(None), lambda: connected[0])
    shell = leases(engine, "shell")
    assert discord_check(shell, None).degraded  # nothing beat yet
    assert bot.beat()
    check = discord_check(shell, None)
    assert (check.ok, check.degraded) == (True, False)
    assert check.detail == "connected: discord (bot process host-1-aa)"
    connected[0] = False
    assert not bot.beat()
    check = discord_check(shell, None)
    assert (check.ok, check.degraded) == (True, True)
    assert check.detail.startswith("no bot process is connected to Discord")


def test_each_shard_is_accounted_for(engine):
    up = Presence(leases(engine, "bot-a"), discord_presence_name((0, 2)), lambda: True)
    assert up.beat()
    check = discord_check(leases(engine, "shell"), 2)
    assert check.degraded
    assert check.detail == (
        "connected: discord shard 0 of 2 (bot process bot-a); "
        "no process connected for discord shard 1 of 2"
    )
    assert Presence(leases(engine, "bot-b"), discord_presence_name((1, 2)), lambda: True).beat()
    assert not discord_check(leases(engine, "shell"), 2).degraded


def test_health_outside_the_bot_says_what_the_bot_processes_say(make_runtime):
    runtime = make_runtime(DISCORD_TOKEN="a-token-this-process-does-not-use")
    (line,) = [line for line in runtime.health().lines() if " discord:" in line]
    assert line.startswith("WARN discord: no bot process is connected to Discord")
    Presence(
        Leases(runtime.engine, "bot-a", system_clock, seconds=8),
        discord_presence_name(None),
        lambda: True,
    ).beat()
    (line,) = [line for line in runtime.health().lines() if " discord:" in line]
    assert line == "ok   discord: connected: discord (bot process bot-a)"
