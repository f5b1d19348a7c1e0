"""A viewer's name as an admin types it to look them up: ``name`` or ``@name`` on every
platform, ``kick:name`` or ``twitch:name`` on one."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import Platform

MAX_NAME = 64  # longer than any Kick or Twitch username
# What a search says when what was typed names nobody (the dashboard's "Find a viewer").
NOT_A_NAME = (
    f"Type a viewer's Kick or Twitch name (up to {MAX_NAME} characters), or kick:name or "
    "twitch:name for one platform."
)


@dataclass(frozen=True)
class NameQuery:
    platforms: tuple[Platform, ...]
    name: str


def name_query(typed: str) -> NameQuery | None:
    """What ``typed`` asks for; None when it names nobody (empty, or longer than a name)."""
    text = typed.strip().lstrip("@").strip()
    platforms = tuple(Platform)
    prefix, colon, rest = text.partition(":")
    if colon and prefix.casefold() in {str(p) for p in Platform}:
        platforms, text = (Platform(prefix.casefold()),), rest.strip().lstrip("@").strip()
    if not text or len(text) > MAX_NAME:
        return None
    return NameQuery(platforms, text)


def on_both_platforms(name: str) -> str:
    """The words for a name a viewer holds on Kick and another on Twitch, for a change that
    must reach one of them."""
    return f"Both a Kick and a Twitch viewer are called {name}: write kick:{name} or twitch:{name}."
