"""What the slot calls, heist & points and event log pages share: the page's
service (404 page when its feature is not installed), a refusal shown next to its field, and a
short notice after a change (post, redirect, get)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, get_flashed_messages, redirect, render_template, url_for

from core.web.dashboard import error_page
from core.web.dashboard.guilds import guild_name
from core.web.dashboard.state import dashboard


class Missing(Exception):
    """The feature behind a page is not installed in this process."""


def service(name: str) -> Any:
    found = getattr(dashboard().config, name, None)
    if found is None:
        raise Missing(name)
    return found


def missing_page():  # type: ignore[no-untyped-def]
    return error_page(404, "Not available", "This part of StreamKeeper is not set up here.")


def page(template: str, guild_id: int, *, errors: dict[str, str] | None = None,
         code: int = 200, **values: Any):  # type: ignore[no-untyped-def]  # fmt: skip
    """A guild page; ``errors`` (field -> message) are shown next to their fields, with 400."""
    html = render_template(
        template,
        user=g.user,
        guild_id=guild_id,
        guild_name=guild_name(guild_id),
        errors=errors or {},
        notices=get_flashed_messages(),
        **values,
    )
    return html, (400 if errors and code == 200 else code)


def done(endpoint: str, guild_id: int, message: str):  # type: ignore[no-untyped-def]
    flash(message)
    return redirect(url_for(endpoint, guild_id=guild_id))


def whole_number(text: str | None, *, digits: int = 10) -> int | None:
    """A plain whole number typed in a form, or None (empty, signs, other digits, too long)."""
    text = (text or "").strip().replace(",", "").replace("_", "")
    if not text or len(text) > digits or not (text.isascii() and text.isdecimal()):
        return None
    return int(text)
