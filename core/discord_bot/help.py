"""``!help``: discord.py's default help, listing only what the caller may run here (its checks:
Manage Server is a real check, ``common.manage_server``), with two changes so that it says what
the commands themselves say: a subcommand is shown under its group's name (``!vip setup``, which
is what works, not ``!setup``), and a command that declares a ``usage`` shows that line instead
of its raw parameter names, the same line its own "Usage:" reply gives; other arguments are
described in the slash command's words. ``!help <command>`` of a
command the caller may not run here says so instead of showing it (discord.py's default shows
any command asked for by name, whatever its checks). In a direct message, where no command
works, it says to ask in a server rather than listing nothing."""

from __future__ import annotations

from typing import Any

from discord.ext import commands

from core.discord_bot.render import TYPED_NAME_LIMIT, inert, truncate


class StreamKeeperHelp(commands.DefaultHelpCommand):
    def __init__(self, **options: Any) -> None:
        options.setdefault("verify_checks", True)  # list only the commands the caller may use
        options.setdefault("no_category", "Help")
        options.setdefault("dm_help", False)
        super().__init__(**options)

    def get_command_signature(self, command: commands.Command[Any, ..., Any], /) -> str:
        name = command.name
        if command.aliases:
            name = f"[{command.name}|{'|'.join(command.aliases)}]"
        if command.full_parent_name:
            name = f"{command.full_parent_name} {name}"
        signature = f"{self.context.clean_prefix}{name}"
        return f"{signature} {command.usage}" if command.usage else signature

    def add_command_arguments(self, command: commands.Command[Any, ..., Any], /) -> None:
        """Each argument with the words the slash command shows for it (``describe``), and
        "optional" for one that may be left out without a default worth naming."""
        if command.usage:
            return  # the signature line says it
        arguments = list(command.clean_params.values())
        if not arguments:
            return
        described = getattr(command.callback, "__discord_app_commands_param_description__", {})
        if command.qualified_name == "help":  # this command: its argument is a command's name
            described = {"command": "A command or a category (every command when left out)"}
        self.paginator.add_line(self.arguments_heading)
        width = self.get_max_size(arguments)  # type: ignore[arg-type] (sized by their names)
        for argument in arguments:
            name = argument.displayed_name or argument.name
            words = (
                argument.description
                or described.get(argument.name)
                or self.default_argument_description
            )
            entry = self.shorten_text(f"{self.indent * ' '}{name:<{width}} {words}")
            if not argument.required and "(default:" not in words:  # said by the words
                shown = argument.displayed_default
                entry += f" (default: {shown})" if shown else " (optional)"
            self.paginator.add_line(entry)

    async def send_bot_help(self, mapping: Any, /) -> None:
        if self.context.guild is None:
            await self.get_destination().send(self._in_a_server())
            return
        await super().send_bot_help(mapping)

    async def send_cog_help(self, cog: commands.Cog, /) -> None:
        if self.context.guild is None:
            await self.get_destination().send(self._in_a_server())
            return
        await super().send_cog_help(cog)

    async def send_command_help(self, command: commands.Command[Any, ..., Any], /) -> None:
        if await self._may_run(command):
            await super().send_command_help(command)
        else:
            await self.get_destination().send(self._not_for_you(command))

    async def send_group_help(self, group: commands.Group[Any, ..., Any], /) -> None:
        if await self._may_run(group):
            await super().send_group_help(group)
        else:
            await self.get_destination().send(self._not_for_you(group))

    async def _may_run(self, command: commands.Command[Any, ..., Any]) -> bool:
        """Whether the caller passes the checks of ``command`` and of every group above it."""
        if not self.verify_checks:
            return True
        for each in (*reversed(command.parents), command):
            try:
                if not await each.can_run(self.context):
                    return False
            except commands.CommandError:
                return False
        return True

    def command_not_found(self, string: str, /) -> str:
        """discord.py's words, with the typed name cut and made inert: it repeated the name in
        full, and a long one made a reply Discord refuses (over 2,000 characters)."""
        return f'No command called "{_typed(string)}" found.'

    def subcommand_not_found(self, command: commands.Command[Any, ..., Any], string: str, /) -> str:
        if isinstance(command, commands.Group) and command.all_commands:
            return f'Command "{command.qualified_name}" has no subcommand named {_typed(string)}'
        return f'Command "{command.qualified_name}" has no subcommands.'

    def _not_for_you(self, command: commands.Command[Any, ..., Any]) -> str:
        prefix = self.context.clean_prefix
        if self.context.guild is None:
            return (
                f"{prefix}{command.qualified_name} only works in a server, not in direct "
                f"messages: use it in one of its channels ({prefix}help there lists what you "
                "may use)."
            )
        return f"You can't use {prefix}{command.qualified_name} here."

    def _in_a_server(self) -> str:
        return (
            "My commands work in a server, not in direct messages: type "
            f"{self.context.clean_prefix}help in one of its channels to see those you may use "
            "there."
        )


def _typed(name: str) -> str:
    return inert(truncate(name, TYPED_NAME_LIMIT))
