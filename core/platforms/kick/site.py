"""Kick's site API (``kick.com/api/v2``): unofficial, behind Cloudflare, and the only place that
knows a channel's internal ids (channel id, chatroom id) that the Pusher socket needs.

Any failure (403 from Cloudflare, a changed shape) gives None: the caller asks the admin for the
chatroom id by hand instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InternalIds:
    channel_id: int
    chatroom_id: int
    user_id: int | None = None  # the broadcaster's user id (the public API's broadcaster_user_id)


async def look_up_internal_ids(site_base_url: str, slug: str) -> InternalIds | None:
    url = f"{site_base_url.rstrip('/')}/api/v2/channels/{slug}"
    try:
        async with httpx.AsyncClient(timeout=10, headers={"Accept": "application/json"}) as http:
            response = await http.get(url)
        if response.status_code != 200:
            log.info("Kick's site API answered %s for %s", response.status_code, slug)
            return None
        body = response.json()
        user_id = body.get("user_id")
        return InternalIds(
            int(body["id"]),
            int(body["chatroom"]["id"]),
            int(user_id) if isinstance(user_id, int | str) and str(user_id).isdecimal() else None,
        )
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.info(
            "could not look up the chatroom of %s on Kick's site: %s", slug, type(exc).__name__
        )
        return None
