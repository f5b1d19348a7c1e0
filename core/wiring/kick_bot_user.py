"""The Kick account of ``KICK_BOT_USER_TOKEN``: the bot speaks as it when Kick refuses the app's
BOT account (core/platforms/kick/chat.py), so its messages are the bot's replies, no viewer's.
Its user id is asked of Kick at start (``GET /public/v1/users``: the token's owner, which needs
the ``user:read`` scope) and told to :class:`~core.features.chat_bots.ChatBots`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core.events import Platform
from core.features.chat_bots import ChatBots
from core.platforms.kick.api import KickApi
from core.platforms.kick.api_errors import Forbidden, KickApiError, Unauthorized
from core.scheduler import wait_or_stop

log = logging.getLogger(__name__)

RETRY_SECONDS = 600.0  # Kick not reached: asked again this much later


def own_account_learner(
    make_api: Callable[[], KickApi],
    token: str,
    chat_bots: ChatBots,
    *,
    retry_seconds: float = RETRY_SECONDS,
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A scheduler loop: ask Kick who owns ``token`` until it answers, then tell ``chat_bots``.
    A token Kick refuses to read (no ``user:read``) is said once in the log; its account's
    messages then count as a viewer's."""

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with make_api() as api:
                    users = await api.get_users(token)
            except (Unauthorized, Forbidden) as exc:
                log.warning(
                    "Kick: the account of KICK_BOT_USER_TOKEN could not be read (HTTP %s; it "
                    "needs the user:read scope): its chat messages count as a viewer's",
                    exc.status,
                )
                return
            except (KickApiError, OSError) as exc:
                log.info("Kick: the bot user's account not read yet (%s)", type(exc).__name__)
            else:
                for user in users[:1]:
                    chat_bots.add_own_account(Platform.KICK, user.user_id)
                    log.info("Kick: the bot user's messages (user %s) are the bot's", user.user_id)
                return
            await wait_or_stop(stop, retry_seconds)

    return run
