"""The Discord bot: construction, cogs, slash command sync, error replies and the run loop.

Every command is a hybrid command, so it works both as ``!name`` and as ``/name``. Slash commands
must be registered with Discord ("synced"); Discord rate-limits that, so the bot syncs only when
the set of commands changed since the last sync (see :meth:`StreamKeeperBot.sync_app_commands`).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import math
import pkgutil
from pathlib import Path
from types import ModuleType

import discord
from discord import app_commands
from discord.ext import commands

from core import discord_bot
from core.discord_bot.common import RECORD_MAX, NotAViewer, needed_to_post
from core.discord_bot.cooldowns import Cooldowns
from core.discord_bot.global_pace import global_pace
from core.discord_bot.help import StreamKeeperHelp
from core.discord_bot.render import MESSAGE_LIMIT, NO_MENTIONS, inert, truncate
from core.discord_bot.services import BotServices
from core.features.refusals import Refused
from core.ratelimits import Windows

log = logging.getLogger(__name__)
# discord.py's least (it takes 30 s for less); a Discord outbox call has time for it and a post.
RATE_LIMIT_WAIT_SECONDS = 30.0

SOMETHING_WENT_WRONG = "Something went wrong; the error was logged."
PERMISSION_NAMES = {
    "manage_guild": "Manage Server",
    "manage_roles": "Manage Roles",
    "manage_channels": "Manage Channels",
    "manage_messages": "Manage Messages",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "embed_links": "Embed Links",
    "administrator": "Administrator",
}


class StreamKeeperBot(commands.Bot):
    def __init__(
        self,
        services: BotServices,
        *,
        command_hash_path: Path | None = None,
        shard: tuple[int, int] | None = None,
        windows: Windows | None = None,
    ) -> None:
        """``shard`` is (shard id, shard count) when the gateway is split over bot processes
        (DISCORD_SHARD_ID, DISCORD_SHARD_COUNT): Discord then sends this process the events
        of its own guilds only. ``windows`` (the runtime's rate limit windows) keep every REST
        request in the token's global limit, counted across processes (``global_pace.py``)."""
        # Only what the bot uses: Discord sends nothing else, and privileged intents need a
        # reason in the Developer Portal.
        intents = discord.Intents.none()
        intents.guilds = True  # servers, channels and roles: everything else hangs off them
        intents.guild_messages = True  # prefix commands in servers
        intents.dm_messages = True  # so a command sent by DM gets its "only in a server" reply
        intents.message_content = True  # prefix commands (!watchtime) read message text
        # Role sync needs the member list and member updates; without this intent
        # guild.members holds only the bot and whoever spoke recently.
        intents.members = True
        intents.guild_reactions = True  # link panels: reacting sends the member their link
        intents.emojis_and_stickers = True  # a link panel may use one of the server's emoji
        super().__init__(
            command_prefix="!",
            case_insensitive=True,
            intents=intents,
            # Belt and braces: every send passes NO_MENTIONS too, but a forgotten one stays inert.
            allowed_mentions=NO_MENTIONS,
            help_command=StreamKeeperHelp(),  # only what the caller may use here
            shard_id=shard[0] if shard else None,
            shard_count=shard[1] if shard else None,
            # A channel rate-limited for longer raises discord.RateLimited (nothing was sent)
            # rather than holding the call: the outbox tries it again later, a pending post
            # waits for its next round, and no other server's work waits behind it.
            max_ratelimit_timeout=RATE_LIMIT_WAIT_SECONDS,
            http_trace=global_pace(windows) if windows is not None else None,
        )
        self.services = services
        self.command_hash_path = command_hash_path
        self.cooldowns = Cooldowns(lambda: services.clock().timestamp())

    async def setup_hook(self) -> None:
        await self.load_cogs()
        await self.sync_app_commands()

    async def load_cogs(self) -> None:
        for cog in build_cogs(self.services):
            bind = getattr(cog, "bind_bot", None)
            if bind is not None:  # a cog that reads the bot's own state (its list of servers)
                bind(self)
            await self.add_cog(cog)
            # Buttons on messages posted before this start (link panels) answer through views
            # registered again here, found by their fixed custom ids.
            for view in getattr(cog, "persistent_views", list)():
                self.add_view(view)
            # Buttons whose custom ids carry what they are for (a slot call's id).
            for item in getattr(cog, "dynamic_items", list)():
                self.add_dynamic_items(item)

    async def sync_app_commands(self) -> None:
        """Register the slash commands with Discord when they changed since the last sync.

        With ``command_hash_path`` set, the bot stores a hash of the synced command set there
        and syncs only when the hash differs, so restarts (or a crash loop) do not spend
        Discord's rate limit. Without it, the bot syncs once per start.
        """
        if self.shard_id:  # slash commands are global: the first shard's process syncs them
            return
        fingerprint = command_fingerprint(self.tree, self.application_id)
        path = self.command_hash_path
        if path is not None and read_fingerprint(path) == fingerprint:
            log.info("slash commands unchanged since the last sync; not syncing")
            return
        synced = await self.tree.sync()
        log.info("synced %d slash commands with Discord", len(synced))
        if path is not None:
            write_fingerprint(path, fingerprint)

    async def on_command_error(  # type: ignore[override]
        self, ctx: commands.Context[commands.Bot], error: commands.CommandError
    ) -> None:
        if ctx.command is not None and ctx.command.has_error_handler():
            return
        if ctx.cog is not None and ctx.cog.has_error_handler():
            return
        reply = explain_error(ctx, error)
        if reply is None:
            return
        if reply == SOMETHING_WENT_WRONG:
            log.exception(
                "command %r failed",
                ctx.command.qualified_name if ctx.command else ctx.invoked_with,
                exc_info=getattr(error, "original", error),
            )
        try:
            await ctx.send(reply, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.Forbidden:
            await self._tell_by_dm(ctx)
        except (discord.HTTPException, discord.RateLimited) as exc:
            log.warning("could not send an error reply in channel %s: %s", ctx.channel.id, exc)

    async def _tell_by_dm(self, ctx: commands.Context[commands.Bot]) -> None:
        """The bot may read the channel but not post in it: tell whoever asked, by DM, why they
        heard nothing there (once per command; silent when their DMs are closed too)."""
        where = getattr(ctx.channel, "mention", "that channel")
        server = f" of {inert(ctx.guild.name)}" if ctx.guild is not None else ""
        kind = "thread" if isinstance(ctx.channel, discord.Thread) else "channel"
        text = (
            f"I can't post in {where}{server}, so I could not answer "
            f"{inert(invocation_of(ctx))} there. A server manager can give me "
            f"{needed_to_post(ctx.channel)} in that {kind}; meanwhile, use the command in "
            "another channel."
        )
        try:
            await ctx.author.send(truncate(text, MESSAGE_LIMIT), allowed_mentions=NO_MENTIONS)
        except (discord.HTTPException, discord.RateLimited) as exc:
            log.info("could not tell user %s by DM either: %s", ctx.author.id, exc)


def create_bot(
    services: BotServices,
    *,
    command_hash_path: Path | None = None,
    shard: tuple[int, int] | None = None,
    windows: Windows | None = None,
) -> StreamKeeperBot:
    """The bot, not yet connected. Cogs load and slash commands sync when it logs in.

    ``command_hash_path`` is where the hash of the last synced slash command set lives
    (e.g. ``data/discord-commands.sha256``); None syncs once per start. ``shard`` is
    (shard id, shard count) for one of several bot processes; ``windows`` count the bot's
    requests in Discord's global limit (None: discord.py's own pacing only).
    """
    return StreamKeeperBot(
        services, command_hash_path=command_hash_path, shard=shard, windows=windows
    )


def build_cogs(services: BotServices) -> list[commands.Cog]:
    """Every feature's cogs. A feature's Discord side is a package ``core/discord_bot/<feature>/``
    whose ``cogs(services)`` returns them (none when its service is off); it is found here by
    looking, so adding a feature touches no list."""
    found: list[commands.Cog] = []
    for package in front_end_packages():
        found.extend(package.cogs(services))
    return found


def front_end_packages() -> list[ModuleType]:
    """The feature packages below ``core/discord_bot/``, in name order."""
    packages = []
    for info in pkgutil.iter_modules(discord_bot.__path__):
        if info.ispkg:
            module = importlib.import_module(f"{discord_bot.__name__}.{info.name}")
            if hasattr(module, "cogs"):
                packages.append(module)
    return packages


# --- slash command sync --------------------------------------------------------------------


def command_fingerprint(tree: app_commands.CommandTree, application_id: int | None) -> str:
    """A hash of what ``tree.sync()`` would upload for this application."""
    payload = {
        "application_id": application_id,
        "commands": sorted(
            (command.to_dict(tree) for command in tree.get_commands()),
            key=lambda command: (command.get("type", 1), command["name"]),
        ),
    }
    encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def read_fingerprint(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def write_fingerprint(path: Path, fingerprint: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fingerprint + "\n", encoding="utf-8")


# --- error replies -------------------------------------------------------------------------

MISSING_PERMISSIONS = 50013  # Discord's JSON error code: what an embed without Embed Links gets
_NO_EMBEDS_HERE = (
    "I can't post that here: it is an embed, and I don't have Embed Links in {where}. "
    "A server manager can give it to me there; meanwhile, use the command in another channel."
)


def _may_embed(ctx: commands.Context[commands.Bot]) -> bool:
    """Whether the bot has Embed Links where the command was used (True outside a server)."""
    channel, guild = ctx.channel, ctx.guild
    if guild is None or not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
        return True
    return channel.permissions_for(guild.me).embed_links


def explain_error(ctx: commands.Context[commands.Bot], error: Exception) -> str | None:
    """What to tell the user about ``error``; None to stay silent (unknown commands)."""
    while isinstance(
        error,
        commands.HybridCommandError | commands.CommandInvokeError | app_commands.CommandInvokeError,
    ):
        error = error.original
    usage = usage_of(ctx)
    match error:
        case Refused():
            # A service said no; its words can quote what the user typed: shown literally, and
            # cut to what Discord sends (escaping can make a short quote longer).
            return truncate(inert(str(error)), MESSAGE_LIMIT)
        case commands.CommandNotFound():
            return None
        case discord.RateLimited():
            log.warning("%s not answered: Discord rate-limits the channel", invocation_of(ctx))
            return None  # Discord would not take the answer either
        case discord.Forbidden():
            # A missing permission (to post here, or to change what the command changes):
            # the bot's setup, not a bug.
            log.warning("%s: Discord refused: %s", invocation_of(ctx), error)
            if error.code == MISSING_PERMISSIONS and not _may_embed(ctx):
                return _NO_EMBEDS_HERE.format(where=getattr(ctx.channel, "mention", "here"))
            return (
                "Discord did not let me do that here: check my permissions in this channel "
                "and that my role is above the roles I manage."
            )
        case commands.MissingRequiredArgument():
            return f"Missing {error.param.name}. {usage}"
        case commands.RangeError():
            if error.maximum is None or error.maximum >= RECORD_MAX:
                return f"Pick a number from {error.minimum} up. {usage}"
            return f"Pick a number from {error.minimum} to {error.maximum}. {usage}"
        case commands.MemberNotFound():
            return "I can't find that member in this server."
        case NotAViewer():
            return f"{error} {usage}"
        case commands.RoleNotFound():
            return f"I can't find that role in this server. {usage}"
        case commands.ChannelNotFound():  # another server's, deleted, or no channel at all
            return f"I can't find that channel in this server. {usage}"
        case commands.UserInputError() | app_commands.TransformerError():
            return f"That doesn't look right. {usage}"
        case commands.NoPrivateMessage() | app_commands.NoPrivateMessage():
            return "This command only works in a server, not in direct messages."
        case commands.MissingPermissions() | app_commands.MissingPermissions():
            needed = permission_names(error.missing_permissions)
            return f"You need the {needed} permission to use {invocation_of(ctx)}."
        case commands.BotMissingPermissions() | app_commands.BotMissingPermissions():
            needed = permission_names(error.missing_permissions)
            return f"I need the {needed} permission here to do that."
        case commands.CommandOnCooldown() | app_commands.CommandOnCooldown():
            return f"Slow down: try again in {math.ceil(error.retry_after)} s."
        case commands.MaxConcurrencyReached():
            return "That command is already running; try again in a moment."
        case commands.DisabledCommand():
            return "That command is turned off."
        case commands.CheckFailure() | app_commands.CheckFailure():
            return "You can't use that command here."
        case _:
            return SOMETHING_WENT_WRONG


def usage_of(ctx: commands.Context[commands.Bot]) -> str:
    if ctx.command is None:
        return ""
    signature = f" {ctx.command.signature}" if ctx.command.signature else ""
    return f"Usage: {invocation_of(ctx)}{signature}"


def invocation_of(ctx: commands.Context[commands.Bot]) -> str:
    """How the user calls the command: ``!tracking on`` (or ``/tracking on`` from a slash)."""
    name = ctx.command.qualified_name if ctx.command else (ctx.invoked_with or "")
    return f"{ctx.clean_prefix}{name}"


def permission_names(missing: list[str]) -> str:
    names = [
        PERMISSION_NAMES.get(name, name.replace("_", " ").replace("guild", "server").title())
        for name in missing
    ]
    return " and ".join(names)
