"""The overlay commands' words. A URL is only ever in a private answer (a DM or an ephemeral
reply): anyone holding it sees the overlay."""

from __future__ import annotations

from core.discord_bot.render import inert


def usage(prefix: str) -> str:
    return (
        f"Usage: {inert(prefix)}overlay url <heist|raffle|alerts|goal> (the URL for OBS, sent "
        f"to you privately) or {inert(prefix)}overlay rotate <heist|raffle|alerts|goal> (a new "
        "URL; the old one stops working)."
    )


def current(kind: str, url: str) -> str:
    return (
        f"Your **{kind}** overlay for OBS (Browser source, 1920 x 1080): <{url}>\n"
        "Keep it private: anyone with it sees the overlay."
    )


def rotated(kind: str, url: str) -> str:
    return (
        f"New URL for the **{kind}** overlay: <{url}>\n"
        "The old one stopped working: paste this one into your OBS browser source."
    )


SENT_BY_DM = "I sent you the overlay URL by DM."
ROTATED_BY_DM = "Done: the old URL stopped working. I sent you the new one by DM."
DMS_CLOSED = (
    "I couldn't DM you: your direct messages are closed to me. Use the slash command "
    "/overlay url (only you see its answer) or the dashboard's Overlays page."
)


def rotated_dms_closed(kind: str) -> str:
    return (
        f"Done: the old **{kind}** overlay URL stopped working, but I couldn't DM you the new one "
        f"(your direct messages are closed to me). Get it with the slash command /overlay url "
        f"{kind} (only you see its answer) or on the dashboard's Overlays page, and paste it into "
        "OBS."
    )
