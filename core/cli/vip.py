"""``python -m core vip rules --guild G`` lists a guild's VIP rules, one per line (id, platform,
what earns it, hours); ``vip rule add --guild G --platform twitch|kick --when
reward|sub|gift|bits|kicks ... --hours H`` adds one (``reward``: ``--reward-id ID`` or ``--title T
--cost N``; ``sub``: ``--tier 1|2|3``; ``gift``, ``bits``, ``kicks``: ``--at-least N``); ``vip rule
remove --guild G RULE_ID`` removes one. What cannot be used is refused in one line, exit 2."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn

from core.cli import (
    AddCommand,
    BadInput,
    CommandFailed,
    fails_with,
    open_runtime,
    require_guild,
    require_guild_or_data,
)
from core.features.quoting import shown
from core.features.typed_numbers import whole_in

USAGE = (
    "Say what to do: 'vip rules --guild <id>', 'vip rule add --guild <id> --platform "
    "twitch|kick --when reward|sub|gift|bits|kicks ... --hours <n>' or 'vip rule remove "
    "--guild <id> <rule id>'."
)
RULE_USAGE = "Say 'vip rule add ...' or 'vip rule remove --guild <id> <rule id>'."


class OneLineParser(argparse.ArgumentParser):
    """argparse's refusal in one line (no usage block), exit status 2; an argument it does not
    know is refused here too (the top parser would print its usage block)."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message}", file=sys.stderr)  # noqa: T201
        sys.exit(2)


def register(command: AddCommand) -> None:
    vip = command("vip", fails_with(USAGE), "List, add or remove a guild's VIP rules.")
    sub = vip.add_subparsers(dest="vip_command", metavar="action", parser_class=OneLineParser)
    rules = sub.add_parser("rules", help="List a guild's VIP rules, one per line.")
    rules.add_argument("--guild", required=True, help="Discord server id")
    rules.set_defaults(handler=_rules)
    rule = sub.add_parser("rule", help="Add or remove a VIP rule.")
    rule.set_defaults(handler=fails_with(RULE_USAGE))
    rule_sub = rule.add_subparsers(dest="rule_command", metavar="action")
    add = rule_sub.add_parser("add", help="Add a rule: what earns VIP, where, for how long.")
    add.add_argument("--guild", required=True, help="Discord server id")
    add.add_argument("--platform", required=True, help="twitch or kick")
    add.add_argument("--when", required=True, help="reward, sub, gift, bits or kicks")
    add.add_argument("--hours", required=True, help="how many hours of VIP it gives")
    add.add_argument("--reward-id", help="reward: a Twitch reward StreamKeeper made")
    add.add_argument("--title", help="reward: the reward's title (made on Twitch if new)")
    add.add_argument("--cost", help="reward: its cost in channel points (Twitch)")
    add.add_argument("--tier", help="sub: the lowest tier, 1, 2 or 3")
    add.add_argument("--at-least", dest="at_least", help="gift, bits, kicks: the least amount")
    add.set_defaults(handler=_add)
    remove = rule_sub.add_parser("remove", help="Remove a rule (its VIPs still expire).")
    remove.add_argument("--guild", required=True, help="Discord server id")
    remove.add_argument("rule_id", help="the rule's id, as 'vip rules' lists it")
    remove.set_defaults(handler=_remove)


def _number(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    # ASCII digits ("١٢" is no number here) up to 2**63 - 1: a Discord id has 19 digits.
    number = whole_in(text.replace(",", "").replace("_", ""))
    if number is None:
        raise BadInput(f"{what} is a whole number, got {shown(text)}.")
    return number


def _guild(text: str) -> int:
    guild_id = _number(text, "The guild id")
    assert guild_id is not None  # noqa: S101 (argparse requires it)
    if guild_id < 1:
        raise BadInput(f"The guild id is a whole number from 1 up, got {shown(text)}.")
    return guild_id


def _rules(args: argparse.Namespace) -> int:
    from core.features.vip.rules import rule_line

    guild_id = _guild(args.guild)
    runtime = open_runtime(args)
    try:
        rules = asyncio.run(runtime.vip.rules.list(guild_id))
        require_guild_or_data(runtime, guild_id, rules)
    finally:
        runtime.close()
    if not rules:
        print(f"No VIP rules in guild {guild_id}.")  # noqa: T201
    for rule in rules:
        print(rule_line(rule))  # noqa: T201
    return 0


def _add(args: argparse.Namespace) -> int:
    from core.events import Platform
    from core.features.vip.limits import VipRefused
    from core.features.vip.ports import TwitchBusy, TwitchRefused
    from core.features.vip.rules import RuleAsked, check_rule, rule_line

    guild_id = _guild(args.guild)
    platform = {"twitch": Platform.TWITCH, "kick": Platform.KICK}.get(args.platform.lower())
    if platform is None:
        raise BadInput(f"--platform is twitch or kick, got {args.platform!r}.")
    asked = RuleAsked(
        platform=platform,
        when=args.when,
        hours=_number(args.hours, "--hours") or 0,
        reward_id=args.reward_id,
        title=args.title,
        cost=_number(args.cost, "--cost"),
        tier=_number(args.tier, "--tier"),
        at_least=_number(args.at_least, "--at-least"),
    )
    try:
        check_rule(guild_id, asked, datetime.now(UTC))  # what needs no database, first
    except VipRefused as refused:
        raise BadInput(str(refused)) from None
    runtime = open_runtime(args)
    try:
        require_guild(runtime, guild_id)  # not "set the Kick VIP role first" for a typo
        rule = asyncio.run(runtime.vip.rules.add(guild_id, asked))
    except VipRefused as refused:
        raise BadInput(str(refused)) from None
    except (TwitchRefused, TwitchBusy) as failed:
        raise CommandFailed(f"Twitch: {failed}") from None
    finally:
        runtime.close()
    print(rule_line(rule))  # noqa: T201
    return 0


def _remove(args: argparse.Namespace) -> int:
    from core.features.vip.limits import VipRefused
    from core.features.vip.rules import rule_line

    guild_id = _guild(args.guild)
    rule_id = _number(args.rule_id, "The rule id")
    assert rule_id is not None  # noqa: S101 (argparse requires it)
    runtime = open_runtime(args)
    try:
        rule = asyncio.run(runtime.vip.rules.remove(guild_id, rule_id))
    except VipRefused as refused:
        require_guild_or_data(runtime, guild_id, asyncio.run(runtime.vip.rules.list(guild_id)))
        raise BadInput(str(refused)) from None
    finally:
        runtime.close()
    print(f"Removed: {rule_line(rule)}")  # noqa: T201
    if rule.is_twitch_reward:
        print("Its reward will be deleted on Twitch by the running bot.")  # noqa: T201
    return 0
