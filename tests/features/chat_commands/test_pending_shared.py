"""A command kept until it has run, in a channel two servers follow: the server that runs it
silently (``speaking.py``) stays silent when another process runs it again."""

from __future__ import annotations

import pytest

from core.features.chat_commands.answering import AnsweringGuilds
from core.features.chat_commands.router import ChatCommand
from tests.features.chat_commands.doubles import T0, webhook_chat
from tests.features.chat_commands.test_pending import GUILD, Answering, Hanging, Process
from tests.outbox.test_claims import end_heartbeat
from tests.support.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


async def test_a_silent_servers_command_left_behind_stays_silent(engine, clock):
    """Two servers follow the channel and both have the command on (as slot calls): each runs
    it, one answers. The silent one's process is killed mid-command; the process that runs it
    again keeps it silent, so the chat still hears one answer."""
    other = 222  # GUILD, the lower id, answers
    answers = AnsweringGuilds(engine, lambda *route: [GUILD, other]).answers
    hanging = Hanging()
    dead = Process(engine, clock, "dead", hanging, answers=answers)
    dead.router.add(ChatCommand("call", hanging, on_in=lambda guild_id, event: True))
    await dead.router.handle(other, webhook_chat("!call Book of Dead", at=T0))
    await hanging.has_started()
    dead.kill()
    end_heartbeat(engine, "dead")

    answering = Answering()
    living = Process(engine, clock, "living", answering, answers=answers)
    living.router.add(ChatCommand("call", answering, on_in=lambda guild_id, event: True))
    assert await living.router.recover() == 1
    await living.router.flush()

    [invocation] = answering.calls
    assert (invocation.guild_id, invocation.speaks) == (other, False)
    assert living.sender.texts == []
