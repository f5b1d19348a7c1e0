"""Fuzz: the argument parsing Discord commands use, with whatever a member can type.

The converters of ``!watchtime``, ``!linkrole`` and ``!roles`` and the panel emoji reader must
return a value or raise a ``commands.CommandError`` (which the bot answers in plain words), and
the render helpers that show typed text back must never raise or let it mention anyone.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import discord  # noqa: TID251 - this target is the Discord front end's parsing
from discord.ext import commands  # noqa: TID251
from hypothesis import given
from hypothesis import strategies as st

from core.discord_bot import render
from core.discord_bot.common import ViewerArgument
from core.discord_bot.linking.cog import LinkedRoleArgument, panel_emoji
from core.discord_bot.roles.cog import TierRoleArgument
from core.discord_bot.watchtime import render as watchtime_render
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY

typed = st.one_of(
    st.text(max_size=200),
    st.sampled_from([str(value) for value in NASTY]),
    st.from_regex(r"<@[!&]?[0-9]{1,25}>", fullmatch=True),
    st.from_regex(r"<a?:[a-z_]{0,10}:[0-9]{0,25}>", fullmatch=True),
)
# Outside a server (a DM): no guild to look members or roles up in.
DM_CONTEXT = SimpleNamespace(guild=None, message=SimpleNamespace(mentions=[]), bot=None)
BOT = SimpleNamespace(get_emoji=lambda _id: None)
CONVERTERS = [ViewerArgument(), LinkedRoleArgument(), TierRoleArgument()]


def test_converters_and_render_helpers_take_anything_typed():
    target = "discord-arguments"

    @given(typed)
    def check(text: str) -> None:
        outcomes = []
        try:
            for converter in CONVERTERS:
                try:
                    value = asyncio.run(converter.convert(DM_CONTEXT, text))  # type: ignore[arg-type]
                except commands.CommandError as exc:
                    outcomes.append(type(exc).__name__)
                else:
                    assert isinstance(value, str | int | discord.Member | discord.Role)
                    outcomes.append(type(value).__name__)
            emoji = panel_emoji(text, BOT)  # type: ignore[arg-type]
            assert emoji is None or 0 < len(emoji) <= 16
            for shown in (render.inert(text), watchtime_render.no_watchtime_for(text)):
                assert "@everyone" not in shown
                assert "@here" not in shown
            assert len(render.truncate(text, 100)) <= 100
        except Exception:
            record(target, "error")
            raise
        record(target, "/".join(outcomes))

    check()
