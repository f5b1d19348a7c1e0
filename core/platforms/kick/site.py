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
        body = response.json()
        user_id = body.get("user_id")
        return InternalIds(
            int(body["id"]),
            int(body["chatroom"]["id"]),
            None if user_id is None else str(int(user_id)),
        )
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.info(
            "could not look up the chatroom of %s on Kick's site: %s", slug, type(exc).__name__
        )
        return None
