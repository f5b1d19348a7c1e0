"""Previous and next buttons under a paged embed (leaderboards, boards).

Only the member who asked turns the pages, so one member paging does not pull the board away
from under everyone else's eyes; the buttons go grey when the view times out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import discord

from core.discord_bot.common import Context
from core.discord_bot.render import NO_MENTIONS

NOT_YOURS = "Only the member who asked can turn these pages; run the command yourself."


class Pages(discord.ui.View):
    """``render_page(n)`` makes page ``n`` (from 0) of ``pages``."""

    def __init__(
        self,
        *,
        invoker_id: int,
        render_page: Callable[[int], Awaitable[discord.Embed]],
        pages: int,
        not_yours: str = NOT_YOURS,
        timeout: float = 180.0,
    ) -> None:
        super().__init__(timeout=timeout)
        self.invoker_id = invoker_id
        self.render_page = render_page
        self.pages = pages
        self.not_yours = not_yours
        self.page = 0
        self.message: discord.Message | None = None
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.previous_page.disabled = self.page <= 0
        self.next_page.disabled = self.page >= self.pages - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.invoker_id:
            return True
        await interaction.response.send_message(
            self.not_yours, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return False

    async def show(self, interaction: discord.Interaction, page: int) -> None:
        self.page = max(0, min(page, self.pages - 1))
        embed = await self.render_page(self.page)
        self._update_buttons()
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous_page(
        self, interaction: discord.Interaction, _button: discord.ui.Button[Pages]
    ) -> None:
        await self.show(interaction, self.page - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next_page(
        self, interaction: discord.Interaction, _button: discord.ui.Button[Pages]
    ) -> None:
        await self.show(interaction, self.page + 1)

    async def on_timeout(self) -> None:
        if self.message is None:
            return
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        with contextlib.suppress(discord.HTTPException):  # deleted meanwhile: nothing to tidy
            await self.message.edit(view=self)


async def send_pages(
    ctx: Context,
    first: discord.Embed,
    *,
    render_page: Callable[[int], Awaitable[discord.Embed]],
    pages: int,
    not_yours: str = NOT_YOURS,
) -> None:
    """Answer with page 0 (``first``), and the buttons to turn pages when there are more."""
    if pages == 1:
        await ctx.send(embed=first, allowed_mentions=NO_MENTIONS)
        return
    view = Pages(
        invoker_id=ctx.author.id, render_page=render_page, pages=pages, not_yours=not_yours
    )
    view.message = await ctx.send(embed=first, view=view, allowed_mentions=NO_MENTIONS)
