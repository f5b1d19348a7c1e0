"""Kick's site API (``kick.com/api/v2``): unofficial, behind Cloudflare, and the only place that
knows a channel's internal ids (channel id, chatroom id) that the Pusher socket needs.

Any failure (403 from Cloudflare, a changed shape) gives None: the caller asks the admin for the
chatroom id by hand instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from core.platforms.http import tls_context
from core.platforms.lenient import as_int, as_mapping, parsed_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InternalIds:
    channel_id: int
    chatroom_id: int
    broadcaster_user_id: str | None = None  # the site's ``user_id``, when it gave one


async def look_up_internal_ids(site_base_url: str, slug: str) -> InternalIds | None:
    url = f"{site_base_url.rstrip('/')}/api/v2/channels/{slug}"
    try:
        headers = {"Accept": "application/json"}
        async with httpx.AsyncClient(timeout=10, headers=headers, verify=tls_context()) as http:
            response = await http.get(url)
        if response.status_code != 200:
            log.info("Kick's site API answered %s for %s", response.status_code, slug)
            return None
        body = as_mapping(parsed_json(response.content))
        channel_id = _positive(body.get("id"))
        chatroom_id = _positive(as_mapping(body.get("chatroom")).get("id"))
        user_id = as_int(body.get("user_id"))  # optional
        broadcaster = str(user_id) if user_id is not None and user_id > 0 else None
        return InternalIds(channel_id, chatroom_id, broadcaster)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.info(
            "could not look up the chatroom of %s on Kick's site: %s", slug, type(exc).__name__
        )
        return None


def _positive(value: object) -> int:
    """A Kick id: a whole number from 1 to the 64-bit top; KeyError when there is none."""
    number = as_int(value)
    if number is None or number <= 0:
        raise KeyError("no id")
    return number
