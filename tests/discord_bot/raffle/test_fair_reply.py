"""What ``!fair <draw>`` and ``!raffleinfo`` show of a draw: one not drawn yet, one of many
winners."""

from __future__ import annotations

from tests.discord_bot.fake_discord import say
from tests.features.raffle.support import add_viewer


async def test_fair_for_a_draw_waiting_for_the_beacon_says_it_waits(
    manager, alice, sqlite_engine
) -> None:
    """`!fair 2` while draw 2 waited for its beacon round showed the period's seed and no word
    of draw 2, as if it had been drawn with no winner."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    add_viewer(sqlite_engine, "k2", "bob_on_kick", discord_id=manager.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say(f"!rafflegive {manager.mention} 3", manager)
    await say("!raffleend", manager)
    await say("!raffledraw", manager)
    await say("!raffleforce", manager)
    [waiting] = await say("!raffledraw 1 a second prize", manager)
    assert waiting.content.startswith("Draw #2 waits for beacon round")

    [reply] = await say("!fair 2", alice)

    fields = {field.name: field.value for field in reply.embeds[0].fields}
    assert not any(name.startswith("Draw #1") for name in fields)
    assert fields["Draw #2"].startswith("Not drawn yet: it waits for beacon round ")


async def test_a_draw_waiting_for_its_round_names_that_round(manager, alice, sqlite_engine) -> None:
    """`!raffledraw` before the round was out answered "waits for beacon round (not fixed
    yet): beacon round 462242 is not out yet": the round was fixed at the close, and `!fair`
    named it."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say("!raffleend", manager)
    [fair] = await say("!fair", alice)
    round_ = {field.name: field.value for field in fair.embeds[0].fields}["Beacon round"]
    assert round_.isdigit()

    [waiting] = await say("!raffledraw", manager)

    assert waiting.content.startswith(f"Draw #1 waits for beacon round {round_}: ")
    assert "not fixed yet" not in waiting.content


async def test_fair_of_a_period_closed_without_a_round_says_none_was_fixed(
    manager, alice, sqlite_engine, beacon
) -> None:
    """A period that closed while the beacon was never reachable has no round, and never will:
    `!fair` said "Beacon round: not fixed yet", as if one were still to come (the proof page
    says none was fixed)."""
    beacon.down = True
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say("!raffleend", manager)
    beacon.down = False
    await say("!raffledraw", manager)
    await say("!raffleforce", manager)

    [reply] = await say("!fair", alice)

    fields = {field.name: field.value for field in reply.embeds[0].fields}
    assert fields["Beacon round"] == "none: the beacon was not known when the period closed"


async def test_raffleinfo_names_as_many_winners_as_fit_and_keeps_the_line_to_check_it(
    manager, alice, guild_a, sqlite_engine, raffle
) -> None:
    """25 winners' names pass the 1,024 characters of an embed field: the last draw was cut in
    the middle of a name (its bold left open) and "Check it with !fair" was gone."""
    await say("!rafflestart", manager)
    for i in range(30):
        member_id = 900_000_000_000_000_000 + i
        add_viewer(sqlite_engine, f"k{i}", f"the_viewer_number_{i:02d}", discord_id=member_id)
        raffle.admin.give(
            guild_a.id, actor_id=manager.id, member_id=member_id, tickets=10_000 + i,
            reason="", reference=f"r{i}",
        )  # fmt: skip
    await say("!raffleend", manager)
    await say("!raffledraw 25", manager)
    await say("!raffleforce", manager)

    [reply] = await say("!raffleinfo", alice)

    last = {field.name: field.value for field in reply.embeds[0].fields}["Last draw"]
    assert len(last) <= 1024
    assert last.startswith("Draw #1: #1 **the\\_viewer\\_number\\_")
    shown = last.count("**") // 2
    assert 0 < shown < 25
    assert last.endswith(f" and {25 - shown} more. Check it with !fair 1.")


async def test_fair_lists_whole_winners_of_a_big_draw_and_says_how_many_more(
    manager, alice, guild_a, sqlite_engine, raffle
) -> None:
    """A draw of 25 winners passes the 1,024 characters of its field: the list was cut in the
    middle of a winner's line, and nothing said that winners were missing."""
    await say("!rafflestart", manager)
    for i in range(30):
        member_id = 900_000_000_000_000_000 + i
        add_viewer(sqlite_engine, f"k{i}", f"the_viewer_number_{i:02d}", discord_id=member_id)
        raffle.admin.give(
            guild_a.id, actor_id=manager.id, member_id=member_id, tickets=10_000 + i,
            reason="", reference=f"r{i}",
        )  # fmt: skip
    await say("!raffleend", manager)
    await say("!raffledraw 25", manager)
    await say("!raffleforce", manager)

    [reply] = await say("!fair 1", alice)

    [field] = [f for f in reply.embeds[0].fields if f.name.startswith("Draw #1 ")]
    lines = field.value.splitlines()
    assert len(field.value) <= 1024
    assert all(line.endswith(")") for line in lines[:-1])  # whole winners' lines
    assert lines[-1] == f"and {25 - (len(lines) - 1)} more: the proof page lists them all."
