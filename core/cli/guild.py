"""``python -m core guild add|show|remove``: tie a guild to its Kick and Twitch channels, or
delete a server's data for good."""

from __future__ import annotations

import argparse
import asyncio

from core.cli import AddCommand, BadInput, CommandFailed, fails_with, id_number, open_runtime

USAGE = (
    "Say what to do: 'guild add <guild_id> --kick-channel ... --twitch-channel ...', "
    "'guild show <guild_id>' or 'guild remove <guild_id> [--yes]'."
)


def register(command: AddCommand) -> None:
    guild = command(
        "guild", fails_with(USAGE), "Add or show a guild's platform channels, or remove a guild."
    )
    guild_sub = guild.add_subparsers(dest="guild_command", metavar="action")
    add = guild_sub.add_parser(
        "add",
        help="Tie a guild to a Kick and/or a Twitch channel.",
        epilog=(
            "The channels are checked with Kick and Twitch (the bot's own app) before anything "
            "is stored: a broadcaster id given must be the channel's; without one, the "
            "platform's is taken. --unchecked stores the names and ids as typed."
        ),
    )
    add.add_argument("guild_id", type=id_number, help="Discord server id")
    add.add_argument("--kick-channel", help="Kick channel name (slug)")
    add.add_argument(
        "--kick-broadcaster-id", help="Kick broadcaster user id (checked; looked up if left out)"
    )
    add.add_argument("--twitch-channel", help="Twitch channel login")
    add.add_argument(
        "--twitch-broadcaster-id",
        help="Twitch broadcaster user id (checked; looked up if left out)",
    )
    add.add_argument(
        "--unchecked",
        action="store_true",
        help="store the channels and broadcaster ids as typed, without asking the platforms",
    )
    add.set_defaults(handler=_guild_add)
    show = guild_sub.add_parser("show", help="Show a guild's channels.")
    show.add_argument("guild_id", type=id_number, help="Discord server id")
    show.set_defaults(handler=_guild_show)
    remove = guild_sub.add_parser(
        "remove", help="Delete a server's data for good (the bot must have left it)."
    )
    remove.add_argument("guild_id", type=id_number, help="Discord server id")
    remove.add_argument("--yes", action="store_true", help="delete (without it: say what would go)")
    remove.set_defaults(handler=_guild_remove)


def _guild_add(args: argparse.Namespace) -> int:
    from core.events import Platform
    from core.features.guilds.service import InvalidGuildInput

    typed = {
        Platform.KICK: _typed(args.kick_channel, args.kick_broadcaster_id, "kick", args.unchecked),
        Platform.TWITCH: _typed(
            args.twitch_channel, args.twitch_broadcaster_id, "twitch", args.unchecked
        ),
    }
    wanted = {platform: pair for platform, pair in typed.items() if pair is not None}
    if not wanted:
        raise BadInput(
            "Give a channel: --kick-channel and/or --twitch-channel (each with its broadcaster id "
            "if you have it: it is checked; else it is looked up)."
        )
    runtime = open_runtime(args)
    try:
        if args.unchecked:
            channels = {platform: (name, str(id_)) for platform, (name, id_) in wanted.items()}
            notes = [_UNCHECKED.format(name=p.value.capitalize()) for p in channels]
        else:
            channels = asyncio.run(_checked(runtime, wanted))
            notes = [
                f"Checked with {p.value.capitalize()}: {name} has broadcaster id {id_}."
                for p, (name, id_) in channels.items()
            ]
        view = runtime.guilds.set_channels(args.guild_id, channels)
        released = _release_others(
            runtime, args.guild_id, channels.get(Platform.KICK), channels.get(Platform.TWITCH)
        )
    except InvalidGuildInput as exc:
        raise BadInput(str(exc)) from exc
    finally:
        runtime.close()
    _print_guild(view)
    for line in [*notes, *released]:
        print(line)  # noqa: T201
    return 0


_UNCHECKED = (
    "Not checked with {name} (--unchecked): the channel and broadcaster id are stored as typed."
)


def _typed(
    channel: str | None, broadcaster_id: str | None, flag: str, unchecked: bool
) -> tuple[str, str | None] | None:
    """A platform's channel name and broadcaster id as typed (the id may be left out, to be
    looked up), each in a form the platform could have; one plain line when not."""
    from core.events import Platform
    from core.features.guilds.service import InvalidGuildInput, checked_name, checked_user_id

    if channel is None and broadcaster_id is None:
        return None
    if channel is None:
        raise BadInput(f"--{flag}-broadcaster-id goes with --{flag}-channel.")
    if broadcaster_id is None and unchecked:
        raise BadInput(
            f"--{flag}-channel and --{flag}-broadcaster-id go together with --unchecked "
            "(the id is looked up only when the channel is checked)."
        )
    platform = Platform(flag)
    try:
        name = checked_name(platform, channel)
        user_id = None if broadcaster_id is None else checked_user_id(platform, broadcaster_id)
    except InvalidGuildInput as exc:
        raise BadInput(str(exc)) from exc
    return name, user_id


async def _checked(runtime, wanted):  # type: ignore[no-untyped-def]
    """Each wanted channel (name, typed id or None) as its platform has it: (name, id)."""
    from core.events import Platform
    from core.features.connections.typed_channel import (
        ChannelCheckFailed,
        check_kick,
        check_twitch,
    )

    checks = {Platform.KICK: (check_kick, runtime.kick_setup)}
    checks[Platform.TWITCH] = (check_twitch, runtime.twitch_setup)
    channels = {}
    for platform, (name, typed_id) in wanted.items():
        check, setup = checks[platform]
        try:
            found = await check(setup, name, typed_id)
        except ChannelCheckFailed as exc:
            if exc.is_unreachable:
                raise CommandFailed(str(exc)) from None
            raise BadInput(str(exc)) from None
        channels[platform] = (found.name, found.broadcaster_user_id)
    return channels


def _release_others(runtime, guild_id: int, *pairs: tuple[str, str] | None) -> list[str]:  # type: ignore[no-untyped-def]
    """As ``!kick setup`` / ``!twitch setup`` of another channel: the streamer connected for
    the channel before is disconnected, their tokens given back. What happened, in words."""
    from core.features.connections.channel_setup import given_back_words

    lines = []
    for name, setup, pair in zip(
        ("Kick", "Twitch"), (runtime.kick_setup, runtime.twitch_setup), pairs, strict=True
    ):
        if pair is None:
            continue
        broadcaster = pair[1].strip()
        replaced = asyncio.run(setup.release_other_streamer(guild_id, broadcaster))
        if replaced is not None:
            words = given_back_words(name, replaced.given_back)
            lines.append(
                f"{name}: disconnected {replaced.account}, connected for the channel before. "
                + words
            )
    return lines


def _guild_show(args: argparse.Namespace) -> int:
    runtime = open_runtime(args)
    try:
        view = runtime.guilds.show(args.guild_id)
    except LookupError:
        raise BadInput(f"Guild {args.guild_id} is not set up; add it with 'guild add'.") from None
    finally:
        runtime.close()
    _print_guild(view)
    return 0


def _guild_remove(args: argparse.Namespace) -> int:
    from core.features import guild_forget
    from core.features.points.se_unmade import unmade_in
    from core.features.vip.server_rewards import ServerRewardRemoval, rewards_line

    runtime = open_runtime(args)
    try:
        try:
            left_at = runtime.guilds.show(args.guild_id).left_at
        except LookupError:
            # Never added (no channel, no tracking): its members' links, settings and raffles
            # are rows of its all the same.
            left_at = None
            with runtime.engine.connect() as conn:
                if not guild_forget.count(conn, args.guild_id):
                    raise BadInput(
                        f"Guild {args.guild_id} is not set up; nothing to remove."
                    ) from None
        in_discord = args.guild_id in runtime.directory.servers_described_by_bot()
        if left_at is None and in_discord:
            raise BadInput(
                f"The bot is still in server {args.guild_id}: "
                "remove it from the server in Discord first."
            )
        rewards = None
        if args.yes:
            _disconnect(runtime, args.guild_id)
            with runtime.engine.begin() as conn:
                unmade = unmade_in(conn, args.guild_id)
                counts = guild_forget.delete(conn, args.guild_id)
        else:
            with runtime.engine.connect() as conn:
                unmade = unmade_in(conn, args.guild_id)
                counts = guild_forget.count(conn, args.guild_id)
            rewards = asyncio.run(
                ServerRewardRemoval(runtime.vip.reward_deletion).rewards(args.guild_id)
            )
    finally:
        runtime.close()
    verb = "deleted" if args.yes else "would be deleted"
    print(f"Server {args.guild_id}:")  # noqa: T201
    for row in counts:
        line = f"  {row.table}: {row.going} {verb}"
        if row.staying:
            line += f", {row.staying} kept ({row.reason})"
        print(line)  # noqa: T201
    if rewards is not None and (line := rewards_line(rewards)) is not None:
        print(line)  # noqa: T201
    for line in _unmade_lines(unmade, done=args.yes):
        print(line)  # noqa: T201
    if not args.yes:
        print("Nothing was deleted; run again with --yes to delete.")  # noqa: T201
    return 0


UNMADE_LISTED = 50  # payments named one by one; the rest counted


def _unmade_lines(unmade, *, done: bool) -> list[str]:  # type: ignore[no-untyped-def]
    """The StreamElements payments the server's data takes with it (``se_unmade.Unmade``)."""
    if not unmade:
        return []
    head = (
        "StreamElements payments dropped, never to be made (the server's JWT went with its data)"
        if done
        else "StreamElements payments that would never be made (the server's JWT goes with its "
        "data)"
    )
    lines = [f"{head}; pay them by hand on StreamElements if they are still owed:"]
    lines += [f"  {payment.line()}" for payment in unmade[:UNMADE_LISTED]]
    if len(unmade) > UNMADE_LISTED:
        lines.append(f"  and {len(unmade) - UNMADE_LISTED:,} more")
    return lines


# What a platform did with the tokens (core/features/connections/streamer_tokens.GivenBack).
_GIVEN_BACK = {
    "taken back": "{name}: the streamer's tokens were revoked.",
    "refused": "{name} did not take the tokens back: {revoke}",
    "unreachable": "{name} could not be reached to revoke the tokens: {revoke}",
    "unreadable": "{name}: a token this TOKEN_ENCRYPTION_KEY cannot read was not revoked: {revoke}",
}


# What became of the channel's event subscriptions (channel_setup.Unsubscribed).
_UNSUBSCRIBED = {
    "deleted": "{name}: the channel's event subscriptions were deleted.",
    "deleted while followed": (
        "{name}: the channel's event subscriptions were deleted. Another server follows the "
        "channel without being connected as its streamer: it gets none of the channel's events "
        "until the streamer connects {name} there (!twitch setup)."
    ),
    "shared": "{name}: the channel's event subscriptions stay: another server {needs_them}.",
    "unreachable": (
        "{name} could not be reached to delete the channel's event subscriptions: the running "
        "bot deletes them at its next check (every 30 minutes), and the streamer may revoke the "
        "app in their {name} settings."
    ),
}


# Who keeps a channel's subscriptions (channel_setup.Unsubscribed.SHARED): on Kick they
# deliver its events to every server that follows it; Twitch's are kept only for a server
# connected as the streamer.
_NEEDS_THEM = {"Kick": "follows it", "Twitch": "is connected as the same streamer"}


def _disconnect(runtime, guild_id: int) -> None:  # type: ignore[no-untyped-def]
    """Deletes the server's Twitch VIP rewards as the streamer, the channels' event
    subscriptions (unless another server needs them: see channel_setup.Unsubscribed),
    gives the server's Kick and Twitch tokens back and says what each platform did; a token
    not taken back is forgotten all the same (the rows go next), and the streamer is told where
    to revoke the app. A platform's failures are the services' to catch: anything else is a
    mistake of ours and stops the command before a row is deleted."""
    from core.features.vip.server_rewards import rewards_line

    # As the streamer, so before their tokens go.
    rewards = rewards_line(asyncio.run(_remove_rewards(runtime, guild_id)))
    subscriptions = []
    for name, setup, service in (
        ("Kick", runtime.kick_setup, runtime.kick_connections),
        ("Twitch", runtime.twitch_setup, runtime.twitch_connections),
    ):
        unsubscribed = asyncio.run(setup.remove_subscriptions(guild_id))
        if unsubscribed is not None:
            words = _UNSUBSCRIBED[unsubscribed.value]
            subscriptions.append(words.format(name=name, needs_them=_NEEDS_THEM[name]))
        outcome = asyncio.run(service.give_back(guild_id))
        if outcome is not None:
            revoke = f"the streamer may revoke the app in their {name} settings."
            print(_GIVEN_BACK[outcome.value].format(name=name, revoke=revoke))  # noqa: T201
    for line in [*subscriptions, rewards]:
        if line is not None:
            print(line)  # noqa: T201


async def _remove_rewards(runtime, guild_id: int):  # type: ignore[no-untyped-def]
    """The server's Twitch VIP rewards deleted on Twitch (server_rewards.py), on this loop's
    Helix client, closed here: the command's next loop would not have it."""
    from core.features.vip.server_rewards import ServerRewardRemoval
    from core.platforms.twitch.helix_on_loop import HelixOnLoop

    try:
        return await ServerRewardRemoval(runtime.vip.reward_deletion).remove(guild_id)
    finally:
        twitch = runtime.vip.effects.twitch
        if isinstance(twitch, HelixOnLoop):
            await twitch.aclose()


def _print_guild(view) -> None:  # type: ignore[no-untyped-def]
    print(f"Guild {view.guild_id}")  # noqa: T201
    if not view.channels:
        print("  no channels yet")  # noqa: T201
    for channel in view.channels:
        print(  # noqa: T201
            f"  {channel.platform}: {channel.channel_slug} "
            f"(broadcaster id {channel.broadcaster_user_id})"
        )
    if view.left_at is not None:
        print(  # noqa: T201
            f"  The bot was removed from this Discord server on "
            f"{view.left_at:%Y-%m-%d %H:%M} UTC: its chat commands, rewards and events are not "
            "acted on. Inviting the bot to the server again resumes them."
        )
