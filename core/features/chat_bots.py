"""Who in a stream's chat is a bot: StreamKeeper's own chat accounts and the well-known chat bots
of other services (Nightbot, StreamElements, ...). A bot's message is still an event (the event
log shows it), but it is nobody watching: no presence (so no watchtime, no points for watching,
no raffle tickets for watch hours), no chat points, and no chat command answered (so no slot
call, no heist join). Watchtime, points and the chat command router each ask
:meth:`ChatBots.person_here` (docs/watchtime.md, "Chat bots").

A third-party bot is known by its login (Twitch's ``chatter_user_login``, Kick's username), lower
case: a login names one account on its platform. The operator names more in ``CHAT_BOTS``. Our
own accounts are known by user id, added as they are learned (the Kick bot user of
``KICK_BOT_USER_TOKEN``, asked of Kick at start: core/wiring/kick_bot_user.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.events import ChatMessageSent, Platform

# Bots that post in many streamers' chats, by lower-case login. A login here that a person holds
# is treated as a bot too (on either platform these names are the service's, or pose as it).
_EVERYWHERE = (
    "botrix",
    "fossabot",
    "moobot",
    "nightbot",
    "sery_bot",
    "soundalerts",
    "streamelements",
    "streamlabs",
    "wizebot",
)
KNOWN_CHAT_BOTS: Mapping[Platform, frozenset[str]] = {
    Platform.TWITCH: frozenset(
        (
            *_EVERYWHERE,
            "blerp",
            "kofistreambot",
            "pokemoncommunitygame",
            "stay_hydrated_bot",
            "streamstickers",
        )
    ),
    Platform.KICK: frozenset((*_EVERYWHERE, "kickbot")),
}


class ChatBots:
    """The chat senders that are bots. One per process, shared by every feature reading chat."""

    def __init__(
        self,
        logins: Mapping[Platform, Iterable[str]] = KNOWN_CHAT_BOTS,
        own_accounts: Iterable[tuple[Platform, str]] = (),
        *,
        extra_logins: Iterable[str] = (),
    ) -> None:
        """``extra_logins``: the operator's (``CHAT_BOTS``), bots on every platform."""
        extra = tuple(extra_logins)
        self._logins = {
            platform: frozenset(
                login.strip().lower() for login in (*logins.get(platform, ()), *extra)
            )
            for platform in Platform
        }
        self._own: set[tuple[Platform, str]] = set(own_accounts)

    def add_own_account(self, platform: Platform, user_id: str) -> None:
        """One of StreamKeeper's own chat accounts (its messages are the bot's replies)."""
        self._own.add((platform, str(user_id)))

    def logins(self, platform: Platform) -> frozenset[str]:
        """The bots' logins on ``platform``, lower case."""
        return self._logins.get(platform, frozenset())

    def own_accounts(self) -> set[tuple[Platform, str]]:
        """StreamKeeper's own chat accounts learned so far, ``(platform, user id)``."""
        return set(self._own)

    def sent(self, event: ChatMessageSent) -> bool:
        """Whether a bot sent ``event``: one of our own accounts, or a known chat bot."""
        if self._own and (event.platform, event.viewer.platform_user_id) in self._own:
            return True
        logins = self._logins.get(event.platform)
        if not logins:
            return False
        login = event.login or event.viewer.username
        return login.lower() in logins

    def person_here(self, event: ChatMessageSent) -> bool:
        """Whether a person typed ``event`` in this channel's chat: not a bot, and not another
        channel's message that a Twitch Shared Chat shows here. Only such a message marks its
        sender present, earns chat points or runs a chat command."""
        return not event.from_another_channel and not self.sent(event)


__all__ = ["KNOWN_CHAT_BOTS", "ChatBots"]
