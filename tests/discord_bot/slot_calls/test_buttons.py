"""The Pick, Skip and Clear all buttons on slot call posts (dpytest): every post carries them,
the bot answers them through one registered dynamic item (so posts made before a restart keep
working), only Manage Server may press them, and each press goes through the service."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import discord
import pytest
from discord.ext import commands

from core.discord_bot.bot import create_bot
from core.discord_bot.slot_calls.buttons import NOT_ALLOWED, NOT_OPEN, TEMPLATE
from core.discord_bot.slot_calls.cog import SlotCallsCog
from core.features.slot_calls import repository
from core.features.slot_calls.repository import CLEARED, PICKED, SKIPPED
from tests.discord_bot.slot_calls.conftest import sent_messages


@pytest.fixture(autouse=True)
def connected(bot, gateway) -> None:
    bot._ready.set()
    gateway.attach(bot)


def registered_item(bot: discord.Client) -> type[discord.ui.DynamicItem[Any]]:
    """The item class the bot registered for slot call buttons (as discord.py looks it up)."""
    found = [
        item
        for pattern, item in bot._connection._view_store._dynamic_items.items()  # type: ignore[attr-defined]
        if pattern.pattern == TEMPLATE
    ]
    assert len(found) == 1
    return found[0]


def cog_item(bot: commands.Bot) -> type[discord.ui.DynamicItem[Any]]:
    """The item class the cog gives the bot to register (dpytest's state replaces the store
    the bot registered it in; the restart test below checks the registration itself)."""
    cog = bot.get_cog("Slot calls")
    assert isinstance(cog, SlotCallsCog)
    [item] = cog.dynamic_items()
    return item


async def press(
    bot: commands.Bot,
    guild: discord.Guild,
    member: discord.Member,
    custom_id: str,
    item_class: type[discord.ui.DynamicItem[Any]] | None = None,
) -> list[tuple[Any, dict[str, Any]]]:
    """Press ``custom_id`` as ``member``, the way discord.py dispatches a dynamic item: the
    registered class's template matches the id, ``from_custom_id`` builds the item, then its
    callback runs."""
    answers: list[tuple[Any, dict[str, Any]]] = []

    async def send_message(content: Any = None, **kwargs: Any) -> None:
        answers.append((content, kwargs))

    interaction: Any = SimpleNamespace(
        guild=guild, user=member, response=SimpleNamespace(send_message=send_message)
    )
    item_class = item_class or cog_item(bot)
    match = item_class.__discord_ui_compiled_template__.fullmatch(custom_id)  # type: ignore[attr-defined]
    assert match is not None
    item = await item_class.from_custom_id(interaction, discord.ui.Button(), match)
    await item.callback(interaction)
    return answers


def custom_ids(payload: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in payload["components"] for c in row["components"]]


@pytest.fixture
async def two_calls(calls_on, chat, guild_a, payloads) -> list[int]:
    await chat(guild_a, "!call Book of Dead", sender_id=42, username="slotfan")
    await chat(guild_a, "!call Sweet Bonanza", sender_id=43, username="other")
    sent_messages()
    return [call.id for call in calls_on.open_calls(guild_a.id, 10)]


async def test_every_post_carries_pick_skip_and_clear(two_calls, payloads):
    first, second = two_calls
    assert custom_ids(payloads[0]) == [
        f"streamkeeper:slotcall:pick:{first}",
        f"streamkeeper:slotcall:skip:{first}",
        f"streamkeeper:slotcall:clear:{first}",
    ]
    assert custom_ids(payloads[1])[0] == f"streamkeeper:slotcall:pick:{second}"


async def test_a_moderator_picks_this_call_and_the_chat_hears_it(
    bot, guild_a, manager, two_calls, slot_service, chat_sender
):
    first, second = two_calls
    [(content, options)] = await press(
        bot, guild_a, manager, f"streamkeeper:slotcall:pick:{second}"
    )

    assert content is None
    embed = options["embed"]
    assert (embed.title, embed.description) == ("Slot picked", "**Sweet Bonanza**")
    assert embed.footer.text == "Picked by a moderator from 2 open calls; 1 left"
    assert "ephemeral" not in options
    assert chat_sender.texts[-1].startswith("Picked slot: Sweet Bonanza")
    picked = slot_service.call_to_post(guild_a.id, second)
    assert picked is None  # closed
    [left] = slot_service.open_calls(guild_a.id, 10)
    assert left.id == first

    [(again, options)] = await press(bot, guild_a, manager, f"streamkeeper:slotcall:pick:{second}")
    assert (again, options["ephemeral"]) == (NOT_OPEN, True)


def confirm_id(options: dict[str, Any]) -> str:
    """The custom id of the one button a "Clear all?" question carries."""
    [confirm] = options["view"].children
    return confirm.custom_id


async def test_skip_closes_only_that_call_and_clear_closes_every_one(
    bot, guild_a, manager, two_calls, slot_service, sqlite_engine
):
    first, second = two_calls
    [(content, _)] = await press(bot, guild_a, manager, f"streamkeeper:slotcall:skip:{first}")
    assert content == "Skipped **Book of Dead** (slotfan)."
    [(_, asked)] = await press(bot, guild_a, manager, f"streamkeeper:slotcall:clear:{first}")
    [(content, _)] = await press(bot, guild_a, manager, confirm_id(asked))
    assert content == "Cleared 1 open slot call."
    with sqlite_engine.connect() as conn:
        statuses = {c: repository.get_call(conn, guild_a.id, c).status for c in two_calls}  # type: ignore[union-attr]
    assert statuses == {first: SKIPPED, second: CLEARED}
    assert PICKED not in statuses.values()


async def test_clear_all_asks_first_and_one_press_closes_nothing(
    bot, guild_a, manager, two_calls, slot_service
):
    [(content, options)] = await press(
        bot, guild_a, manager, f"streamkeeper:slotcall:clear:{two_calls[0]}"
    )

    assert content == "Close all 2 open slot calls? This cannot be undone."
    assert options["ephemeral"] is True
    [confirm] = options["view"].children
    assert (confirm.label, confirm.style) == ("Yes, clear all", discord.ButtonStyle.danger)
    assert slot_service.count_open(guild_a.id) == 2


async def test_a_confirmed_clear_keeps_the_calls_typed_after_the_question(
    bot, guild_a, manager, two_calls, slot_service, chat, chat_sender
):
    [(_, asked)] = await press(bot, guild_a, manager, f"streamkeeper:slotcall:clear:{two_calls[0]}")
    await chat(guild_a, "!call Sugar Rush", sender_id=44, username="late")  # a minute later
    [(content, options)] = await press(bot, guild_a, manager, confirm_id(asked))

    assert content == "Cleared 2 open slot calls."
    assert "ephemeral" not in options  # the other moderators see it
    assert [call.slot_name for call in slot_service.open_calls(guild_a.id, 10)] == ["Sugar Rush"]
    [(again, _)] = await press(bot, guild_a, manager, confirm_id(asked))
    assert again == "There were no open slot calls to clear."


async def test_clear_all_of_an_empty_queue_says_so_without_asking(
    bot, guild_a, manager, two_calls, slot_service
):
    slot_service.clear(guild_a.id, 1)
    [(content, options)] = await press(
        bot, guild_a, manager, f"streamkeeper:slotcall:clear:{two_calls[0]}"
    )

    assert (content, options["ephemeral"]) == ("There are no open slot calls to clear.", True)
    assert "view" not in options


async def test_members_without_manage_server_get_a_refusal_only_they_see(
    bot, guild_a, alice, two_calls, slot_service
):
    for action in ("pick", "skip", "clear", "clearall"):
        [(content, options)] = await press(
            bot, guild_a, alice, f"streamkeeper:slotcall:{action}:{two_calls[0]}"
        )
        assert (content, options["ephemeral"]) == (NOT_ALLOWED, True)
    assert len(slot_service.open_calls(guild_a.id, 10)) == 2


async def test_a_restarted_bot_answers_the_buttons_of_earlier_posts(
    bot, services, guild_a, manager, two_calls, slot_service
):
    restarted = create_bot(services)  # a new process: it knows no view of earlier posts
    await restarted.load_cogs()
    item_class = registered_item(restarted)  # what discord.py looks pressed custom ids up in

    first, _ = two_calls
    [(_, options)] = await press(
        bot, guild_a, manager, f"streamkeeper:slotcall:pick:{first}", item_class
    )
    assert options["embed"].description == "**Book of Dead**"
    assert slot_service.count_open(guild_a.id) == 1
