"""What the setup page says about each setting: ok, missing, wrong (or unchecked, when a service
did not answer), in words that say what to do and where to get it.

A secret's value is never part of an item: only its state ("set, 72 characters", "looks
valid"). The outside calls (``core/setup/probes.py``) run in parallel, once per
:func:`setup_report`, each with a short timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from core.config import Settings
from core.health import HealthReport
from core.platforms.oauth import redact
from core.setup import items, probes
from core.setup.items import Item


@dataclass(frozen=True)
class SetupReport:
    sections: list[tuple[str, list[Item]]] = field(default_factory=list)
    invite_url: str | None = None

    @property
    def all_items(self) -> list[Item]:
        return [item for _title, group in self.sections for item in group]

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.all_items)

    def count(self, state: str) -> int:
        return sum(1 for item in self.all_items if item.state == state)


@dataclass(frozen=True)
class Probes:
    """The outside calls, as arguments so tests can point them anywhere (they use the real ones
    against loopback fakes)."""

    discord_bot_user: Callable[[str, str], probes.Answer] = probes.discord_bot_user
    discord_application: Callable[[str, str], probes.Answer] = probes.discord_application
    discord_client: Callable[[str, str, str], probes.Answer] = probes.discord_client
    app_token: Callable[[str, str, str], probes.Answer] = probes.app_token


def setup_report(
    settings: Settings,
    health: HealthReport,
    invite: Callable[[str], str],
    probe: Probes | None = None,
) -> SetupReport:
    """Every check, with the outside calls made once each, in parallel. ``invite(client_id)``
    makes the bot's invite link."""
    probe = probe or Probes()
    discord, kick, twitch = settings.discord, settings.kick, settings.twitch
    calls: dict[str, Callable[[], probes.Answer]] = {}
    if discord.token:
        token = discord.token
        calls["bot"] = lambda: probe.discord_bot_user(discord.api_base_url, token)
        calls["app"] = lambda: probe.discord_application(discord.api_base_url, token)
    if items.is_discord_id(discord.client_id) and discord.client_secret:
        client_id, client_secret = discord.client_id, discord.client_secret
        calls["client"] = lambda: probe.discord_client(
            discord.api_base_url, client_id, client_secret
        )
    if kick.client_id and kick.client_secret:
        kick_id, kick_secret = kick.client_id, kick.client_secret
        kick_url = f"{kick.oauth_base_url}/oauth/token"
        calls["kick"] = lambda: probe.app_token(kick_url, kick_id, kick_secret)
    if twitch.client_id and twitch.client_secret:
        twitch_id, twitch_secret = twitch.client_id, twitch.client_secret
        base = twitch.oauth_base_url.rstrip("/")
        twitch_url = (base if base.endswith("/oauth2") else base + "/oauth2") + "/token"
        calls["twitch"] = lambda: probe.app_token(twitch_url, twitch_id, twitch_secret)
    answers: dict[str, probes.Answer] = {}
    if calls:
        with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="setup") as pool:
            futures = {name: pool.submit(call) for name, call in calls.items()}
            answers = {name: future.result() for name, future in futures.items()}

    # The bot that joins is the token's application: a DISCORD_CLIENT_ID of another one (the
    # page says so) would invite a bot that never comes online, and one that is no id, nothing.
    typed_id = discord.client_id if items.is_discord_id(discord.client_id) else None
    client_id = items.application_id(answers.get("app")) or typed_id
    sections = [
        ("Discord", items.discord_items(settings, answers)),
        ("Public address", [items.public_address(settings)]),
        ("Kick", [items.platform_app("Kick", settings, answers.get("kick"))]),
        (
            "Twitch",
            [
                items.platform_app("Twitch", settings, answers.get("twitch")),
                items.eventsub_secret(settings),
            ],
        ),
        ("This process", [items.health_item(check) for check in health.checks]),
    ]
    secrets = _secrets(settings)
    sections = [(title, [_redacted(item, secrets) for item in group]) for title, group in sections]
    return SetupReport(sections, invite(client_id) if client_id else None)


def _secrets(settings: Settings) -> list[str]:
    values = [
        settings.discord.token,
        settings.discord.client_secret,
        settings.kick.client_secret,
        settings.kick.bot_user_token,
        settings.twitch.client_secret,
        settings.twitch.eventsub_secret,
        settings.web.flask_secret_key,
        settings.token_encryption_key,
        settings.database.url,
        settings.redis.url,
    ]
    # Each key of a list being replaced too (TOKEN_ENCRYPTION_KEY=new,old).
    values += (settings.token_encryption_key or "").split(",")
    return [value.strip() for value in values if value and value.strip()]


def _redacted(item: Item, secrets: list[str]) -> Item:
    """Belt and braces: no item text carries a secret's value, even one a service echoed."""
    return replace(item, detail=redact(item.detail, secrets), fix=redact(item.fix, secrets))
