"""One item per setting on the setup page: its state, what was found, and the words to fix it,
with the environment variable, where to get the value and the redirect URIs to register."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings
from core.health import KICK_WEBHOOKS, TWITCH_WEBHOOKS, Check
from core.platforms.sockets import is_public_https
from core.setup.probes import Answer

OK, MISSING, WRONG, UNCHECKED = "ok", "missing", "wrong", "unchecked"
DISCORD_PORTAL = ("Discord developer portal", "https://discord.com/developers/applications")
KICK_PORTAL = ("Kick developer settings", "https://kick.com/settings/developer")
TWITCH_CONSOLE = ("Twitch developer console", "https://dev.twitch.tv/console/apps")
EVENTSUB_SECRET_LENGTHS = (10, 100)  # what Twitch takes for a webhook secret
RANDOM_STRING_COMMAND = "python -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True)
class Item:
    title: str
    state: str  # OK, MISSING, WRONG or UNCHECKED (a service did not answer)
    detail: str  # what was found; never a secret's value
    fix: str = ""  # what to do; empty when nothing needs doing
    env: tuple[str, ...] = ()
    where: tuple[str, str] | None = None  # (label, url) of where to get it
    redirects: tuple[str, ...] = ()  # redirect URIs to register with the platform

    @property
    def ok(self) -> bool:
        return self.state == OK


def characters(secret: str) -> str:
    return f"set, {len(secret)} characters"


def public_base(settings: Settings) -> str:
    """Where the platforms send browsers back to (as ``Runtime.public_base_url``)."""
    return settings.web.oauth_base_url or f"http://localhost:{settings.web.port}"


def _unanswered(service: str, answer: Answer) -> str:
    why = answer.problem or f"it answered {answer.status}"
    return f"{service} could not be asked ({why}); this page asks again when reloaded"


# --- Discord -------------------------------------------------------------------------------------


def is_discord_id(value: str | None) -> bool:
    return value is not None and value.isascii() and value.isdigit()


def application_id(answer: Answer | None) -> str | None:
    if answer is None or not answer.ok:
        return None
    found = answer.body.get("id")
    return str(found) if isinstance(found, str | int) and str(found).isdigit() else None


def discord_items(settings: Settings, answers: dict[str, Answer]) -> list[Item]:
    """``answers``: Discord's to the bot token ("bot"), its application ("app") and the client
    id and secret ("client"), each missing when not asked."""
    bot, app = answers.get("bot"), answers.get("app")
    return [
        discord_token(settings, bot),
        discord_client_id(settings, app),
        discord_client_secret(settings, answers.get("client")),
        discord_intents(settings, app),
    ]


def discord_token(settings: Settings, bot: Answer | None) -> Item:
    title, env = "Discord bot token", ("DISCORD_TOKEN",)
    how = (
        "Open your application in the Discord developer portal, Bot tab, press Reset Token and "
        "put the token in DISCORD_TOKEN."
    )
    token = settings.discord.token
    if not token or bot is None:
        return Item(
            title,
            MISSING,
            "not set: the web side and the event pipeline run, but the bot never joins Discord",
            how,
            env,
            DISCORD_PORTAL,
        )
    if bot.ok:
        name = str(bot.body.get("username") or "the bot")
        found = f"looks valid: Discord knows it as {name} ({characters(token)})"
        return Item(title, OK, found, env=env)
    if bot.refused:
        return Item(
            title,
            WRONG,
            f"Discord refused it ({bot.status}): it was reset, or is not a bot token "
            f"({characters(token)})",
            how,
            env,
            DISCORD_PORTAL,
        )
    return Item(title, UNCHECKED, _unanswered("Discord", bot), "", env, DISCORD_PORTAL)


def discord_client_id(settings: Settings, app: Answer | None) -> Item:
    title, env = "Discord client id", ("DISCORD_CLIENT_ID",)
    how = (
        "Copy the Application ID from General Information (the OAuth2 tab's Client ID) of the "
        "application the bot token belongs to, into DISCORD_CLIENT_ID."
    )
    client_id = settings.discord.client_id
    found = application_id(app)
    if not client_id:
        hint = f" The bot token's application is {found}." if found else ""
        invite = "the invite link uses the token's application" if found else "no invite link"
        found_text = f"not set: no dashboard login, and {invite}"
        return Item(title, MISSING, found_text, how + hint, env, DISCORD_PORTAL)
    if not is_discord_id(client_id):
        return Item(title, WRONG, f"{client_id!r} is not a Discord id", how, env, DISCORD_PORTAL)
    if found is None:
        why = "once the bot token works" if app is None or app.refused else "when Discord answers"
        found_text = f"set ({client_id}); compared with the bot token's application {why}"
        return Item(title, UNCHECKED, found_text, "", env, DISCORD_PORTAL)
    if found != client_id:
        return Item(
            title,
            WRONG,
            f"{client_id} is not the bot token's application ({found})",
            f"Use {found}, or the bot token of application {client_id}. " + how,
            env,
            DISCORD_PORTAL,
        )
    name = str(app.body.get("name") or "") if app else ""
    return Item(title, OK, f"{client_id}, the bot token's application {name}".rstrip(), env=env)


# The privileged intents the bot asks for (core/discord_bot/bot.py), by the application flags
# Discord sets when each is switched on: the plain bit for a verified bot, "_LIMITED" for one in
# fewer than 100 servers.
PRIVILEGED_INTENTS = (
    ("Server Members", (1 << 14) | (1 << 15)),
    ("Message Content", (1 << 18) | (1 << 19)),
)


def discord_intents(settings: Settings, app: Answer | None) -> Item:
    """Without these the gateway refuses the bot's login, though its token is good."""
    title, env = "Discord privileged intents", ()  # switched in the portal, not a setting
    how = (
        "Open your application in the Discord developer portal, Bot tab, and switch on Server "
        "Members Intent and Message Content Intent under Privileged Gateway Intents, then Save."
    )
    flags = app.body.get("flags") if app is not None and app.ok else None
    if not settings.discord.token or not isinstance(flags, int):
        found = "checked once the bot token works"
        if app is not None and not app.ok and not app.refused:
            found = "checked when Discord answers"
        return Item(title, UNCHECKED, found, "", env, DISCORD_PORTAL)
    off = [name for name, bits in PRIVILEGED_INTENTS if not flags & bits]
    if off:
        found = f"off: {' and '.join(off)}; Discord refuses the bot's login until switched on"
        return Item(title, WRONG, found, how, env, DISCORD_PORTAL)
    return Item(title, OK, "Server Members and Message Content switched on", env=env)


def discord_client_secret(settings: Settings, answer: Answer | None) -> Item:
    title, env = "Discord client secret", ("DISCORD_CLIENT_SECRET",)
    redirect = f"{public_base(settings)}/dashboard/callback"
    how = (
        "OAuth2 tab of the application: Reset Secret, put it in DISCORD_CLIENT_SECRET, and "
        "add the redirect below under Redirects."
    )
    secret = settings.discord.client_secret
    if not secret:
        found = "not set: nobody can log in to the dashboard"
        return Item(title, MISSING, found, how, env, DISCORD_PORTAL, (redirect,))
    shown = characters(secret)
    if answer is None:
        found = f"{shown}; compared with DISCORD_CLIENT_ID once that is a Discord id"
        return Item(title, UNCHECKED, found, "", env, DISCORD_PORTAL, (redirect,))
    if answer.status == 401:
        found = (
            f"Discord refused it for client id {settings.discord.client_id} ({shown}): it was "
            "reset, or belongs to another application; nobody can log in to the dashboard"
        )
        return Item(title, WRONG, found, how, env, DISCORD_PORTAL, (redirect,))
    if not answer.ok:
        return Item(
            title, UNCHECKED, _unanswered("Discord", answer), "", env, DISCORD_PORTAL, (redirect,)
        )
    found = f"Discord accepted it ({shown}); the OAuth2 tab must list the redirect below"
    return Item(title, OK, found, env=env, redirects=(redirect,))


# --- the public address --------------------------------------------------------------------------


def public_address(settings: Settings) -> Item:
    title, env = "Public https address", ("OAUTH_BASE_URL",)
    url = settings.web.oauth_base_url
    if is_public_https(url):
        return Item(
            title,
            OK,
            f"{url}: Kick webhooks at {url}{KICK_WEBHOOKS}, Twitch webhooks at {url}"
            f"{TWITCH_WEBHOOKS}",
            env=env,
        )
    without = (
        "Without one, what works: Kick events through Pusher (KICK_PUSHER_ENABLED, on by "
        "default then), Twitch events through the EventSub WebSocket, sign-ins and the "
        f"dashboard login from this machine ({public_base(settings)}). Webhooks are off: Kick "
        "and Twitch deliver them to a public https address only."
    )
    how = (
        "Set OAUTH_BASE_URL to the https address this server is reached at (a reverse proxy "
        "or a tunnel in front of port " + str(settings.web.port) + ")."
    )
    if not url:
        return Item(title, MISSING, "not set. " + without, how, env)
    return Item(title, WRONG, f"{url} is not a public https address. " + without, how, env)


# --- Kick and Twitch -----------------------------------------------------------------------------


def platform_app(platform: str, settings: Settings, answer: Answer | None) -> Item:
    """Kick's or Twitch's app: id and secret both set, and taken by a client-credentials grant."""
    if platform == "Kick":
        client_id, secret = settings.kick.client_id, settings.kick.client_secret
        where, callback = KICK_PORTAL, "/auth/kick/callback"
        tab = "Create an app in Kick's developer settings (enable webhooks there too)"
        without = "no Kick sign-in for viewers or streamers, no Kick events"
    else:
        client_id, secret = settings.twitch.client_id, settings.twitch.client_secret
        where, callback = TWITCH_CONSOLE, "/auth/twitch/callback"
        tab = "Register an application in the Twitch developer console (a confidential client)"
        without = "the Twitch side is off"
    prefix = platform.upper()
    title, env = f"{platform} app", (f"{prefix}_CLIENT_ID", f"{prefix}_CLIENT_SECRET")
    redirects = (f"{public_base(settings)}{callback}",)
    how = f"{tab}, register the redirect below, and copy its client id and secret into {env[0]} "
    how += f"and {env[1]}."
    unset = [name for name, value in zip(env, (client_id, secret), strict=True) if not value]
    if unset or secret is None or answer is None:
        found = f"{' and '.join(unset)} not set: {without}"
        return Item(title, MISSING, found, how, env, where, redirects)
    shown = f"client id {client_id}, secret {characters(secret)}"
    if answer.ok:
        found = f"{platform} accepted the app ({shown})"
        return Item(title, OK, found, env=env, redirects=redirects)
    if answer.refused:
        return Item(
            title,
            WRONG,
            f"{platform} refused the client id and secret ({answer.status}; {shown})",
            how,
            env,
            where,
            redirects,
        )
    return Item(title, UNCHECKED, _unanswered(platform, answer), "", env, where, redirects)


def eventsub_secret(settings: Settings) -> Item:
    title, env = "Twitch EventSub secret", ("TWITCH_EVENTSUB_SECRET",)
    low, high = EVENTSUB_SECRET_LENGTHS
    how = (
        f"Make one up: {low} to {high} characters, e.g. {RANDOM_STRING_COMMAND}, and put it in "
        "TWITCH_EVENTSUB_SECRET. Twitch signs each webhook with it."
    )
    secret = settings.twitch.eventsub_secret
    webhooks_on = is_public_https(settings.web.oauth_base_url)
    if not secret:
        found = (
            "not set: Twitch webhooks are refused"
            if webhooks_on
            else "not set: Twitch events come through the EventSub WebSocket (no public https "
            "address), which needs no secret"
        )
        return Item(title, MISSING, found, how, env)
    if not low <= len(secret) <= high:
        return Item(title, WRONG, f"{characters(secret)}; Twitch takes {low} to {high}", how, env)
    return Item(title, OK, characters(secret), env=env)


# --- this process --------------------------------------------------------------------------------


def health_item(check: Check) -> Item:
    """A line of ``python -m core health`` (the operator sees its detail there too)."""
    if check.ok:
        return Item(check.name, OK, check.detail)
    return Item(check.name, WRONG, check.detail, "See the log, and `python -m core health`.")
