"""``!tier`` answers, as plain text (names shown :func:`inert`, no mentions pinged)."""

from __future__ import annotations

from collections.abc import Sequence

from core.discord_bot.render import TYPED_NAME_LIMIT, inert, truncate
from core.features.sub_tiers.service import KnownViewer
from core.features.sub_tiers.texts import describe

NOT_LINKED_YOURSELF = (
    "Your Discord account isn't linked to Kick or Twitch: use {prefix}link, then ask again."
)


def _line(known: KnownViewer) -> str:
    name = inert(known.username)
    return f"{known.platform.value.title()} **{name}**: {describe(known.sub)}."


def tier_reply(found: Sequence[KnownViewer]) -> str:
    return truncate("\n".join(_line(known) for known in found), 2000)


def not_linked_member(member_id: int) -> str:
    return f"<@{member_id}> has not linked a Kick or Twitch account: nothing known."


def nobody_called(name: str) -> str:
    # The name is whatever was typed: cut before escaping, so the reply fits in one message.
    shown = inert(truncate(name, TYPED_NAME_LIMIT))
    return f"No Kick or Twitch viewer called **{shown}**: nothing known."
