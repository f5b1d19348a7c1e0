"""The Discord gateway that outbound ports use: off, not ready yet, or ready."""

from __future__ import annotations

import discord
import pytest

from core.discord_bot.gateway import DiscordGateway, DiscordUnavailable
from core.logs import GuildNames


class Client:
    """The two questions the gateway asks of discord.Client."""

    def __init__(self, *, ready: bool, closed: bool = False) -> None:
        self.ready, self.closed = ready, closed

    def is_ready(self) -> bool:
        return self.ready

    def is_closed(self) -> bool:
        return self.closed


def test_without_a_bot_discord_is_off_and_effects_are_skipped() -> None:
    assert DiscordGateway().client() is None


@pytest.mark.parametrize(
    "client",
    [Client(ready=False), Client(ready=True, closed=True), None],
    ids=["connecting", "closed", "stopped"],  # stable names: parallel workers must agree
)
def test_a_configured_bot_that_is_not_connected_asks_for_a_retry(client: Client | None) -> None:
    gateway = DiscordGateway()
    gateway.attach(Client(ready=True))  # type: ignore[arg-type]
    if client is None:
        gateway.detach()  # stopped: effects wait for the next start instead of vanishing
    else:
        gateway.attach(client)  # type: ignore[arg-type]

    with pytest.raises(DiscordUnavailable):
        gateway.client()


def test_a_ready_bot_is_handed_out() -> None:
    gateway = DiscordGateway()
    client = Client(ready=True)
    gateway.attach(client)  # type: ignore[arg-type]

    assert gateway.client() is client


def test_the_gateway_names_a_guild_the_bot_is_in_for_log_lines(
    gateway: DiscordGateway, guild_a: discord.Guild
) -> None:
    assert gateway.guild_name(guild_a.id) == "Guild A"
    assert gateway.guild_name(12345) is None
    assert GuildNames(gateway.guild_name).name_of(guild_a.id) == "Guild A"


def test_without_a_bot_a_guild_has_no_name_and_no_error() -> None:
    assert DiscordGateway().guild_name(222) is None
