"""A guild's Kick and Twitch channels from the browser (issue 27, item 2): what ``!kick setup``
and ``!twitch setup`` do (the channel looked up and stored, then the streamer's consent on the
platform, the same signed link the commands send), Twitch's missing permissions with a button to
connect again, and ``!twitch disconnect``. The state shown is ``!kick status`` / ``!twitch
status``'s."""

from __future__ import annotations

from flask import g, redirect, request

from core.features.connections.channel_setup import given_back_words
from core.features.refusals import Refused
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import config, done, installed, page

AREA = guild_blueprint("connections", __name__, "Kick & Twitch")
ORDER = 5
TEMPLATE = "dashboard/connections.html"
MAX_CHANNEL = 100


def _run(coroutine):  # type: ignore[no-untyped-def]
    run = config().run
    if run is None:
        raise Refused("This web process cannot reach Kick or Twitch; use the command in Discord.")
    return run(coroutine)


def _show(guild_id: int, errors: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    kick, twitch = installed(config().kick_setup), installed(config().twitch_setup)
    return page(
        TEMPLATE,
        guild_id,
        errors=errors,
        kick=kick.status(guild_id),
        twitch=twitch.status(guild_id, g.user.id),
        typed=request.form if request.method == "POST" else {},
    )


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.post("/<any(kick, twitch):platform>/connect")
def connect(guild_id: int, platform: str):  # type: ignore[no-untyped-def]
    """Look the channel up and store it, then send the browser to the platform's consent (the
    streamer signs in there; the callback stores the connection)."""
    setup = installed(config().kick_setup if platform == "kick" else config().twitch_setup)
    channel = (request.form.get(platform) or "").strip()[:MAX_CHANNEL]
    if not channel.lstrip("@"):
        return _show(guild_id, {platform: "Type the channel's name (as in its URL)."})
    try:
        result = _run(setup.setup(guild_id, g.user.id, channel))
    except Refused as failed:  # setup's refusals (SetupFailed) carry their words
        return _show(guild_id, {platform: str(failed)})
    return redirect(result.connect_link, code=303)


@AREA.bp.post("/twitch/reconnect")
def reconnect(guild_id: int):  # type: ignore[no-untyped-def]
    """The streamer's consent again (missing permissions, or a grant Twitch ended)."""
    twitch = installed(config().twitch_setup)
    if twitch.status(guild_id).channel is None:
        return _show(guild_id, {"twitch": "Set up a Twitch channel first."})
    return redirect(twitch.connect_link(guild_id, g.user.id), code=303)


@AREA.bp.post("/twitch/disconnect")
def disconnect(guild_id: int):  # type: ignore[no-untyped-def]
    twitch = installed(config().twitch_setup)
    try:
        disconnected = _run(twitch.disconnect(guild_id))
    except Refused as refused:
        return _show(guild_id, {"twitch": str(refused)})
    if disconnected is None:
        return done(AREA.endpoint, guild_id, "This server had no Twitch connection.")
    message = f"Twitch disconnected. {given_back_words('Twitch', disconnected.given_back)}"
    if disconnected.rewards is not None:  # what became of the server's VIP rewards
        message += f" {disconnected.rewards}"
    return done(AREA.endpoint, guild_id, message)
