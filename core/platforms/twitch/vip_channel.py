"""The VIP feature's Twitch channel on Helix (:class:`~core.features.vip.ports.TwitchVipChannel`):
VIP add and remove, the reward and its redemptions, user look-ups and chat, as the guild's
connected streamer.

Calls go through ``call_as_streamer`` of the Twitch connection when there is one (the token is
refreshed first when it expires soon, and on a 401 refreshed and the call made once more); only
a guild that has not connected Twitch, or whose refresh Twitch refused, gets "Twitch is not
connected", which commands show and redemptions log. A 401 that stays with the fresh token marks
the connection (it needs re-authorization) and is ``Refusal.UNAUTHORIZED``; a refund (CANCELED)
is then still tried once with the token held, so the viewer gets their points back. Helix's
refusals become the port's :class:`~core.features.vip.ports.Refusal` values.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from core.features.chat_commands.ports import ChatSender
from core.features.connections.twitch.ports import TwitchNotConnected, TwitchStillUnauthorized
from core.features.vip.ports import (
    PendingRedemption,
    Refusal,
    RewardInfo,
    RewardLimits,
    TwitchAccount,
    TwitchBusy,
    TwitchBusyUnchanged,
    TwitchRefused,
)
from core.platforms.twitch import helix
from core.platforms.twitch.helix import CustomReward, HelixClient, HelixError
from core.platforms.twitch.helix_on_loop import HelixOnLoop
from core.platforms.twitch.oauth_client import TwitchOAuthError

log = logging.getLogger(__name__)
T = TypeVar("T")
NOT_CONNECTED = "Twitch is not connected for this server: connect it with !twitch setup <channel>."
STILL_UNAUTHORIZED = (
    "Twitch refused the streamer's fresh token (a missing scope?): connect it again with "
    "!twitch setup <channel>."
)
TokenProvider = Callable[[int], "str | Awaitable[str | None] | None"]
# ``call(guild_id, request)``: ``request(token)`` with the guild's streamer token, refreshed and
# made once more on a 401 (TwitchConnections.call_as_streamer).
StreamerCall = Callable[[int, Callable[[str], Awaitable[Any]]], Awaitable[Any]]

# Helix's refusals that mean the same whatever the call.
_REFUSALS: dict[type[HelixError], Refusal] = {
    helix.Unauthorized: Refusal.NOT_CONNECTED,
    helix.Forbidden: Refusal.FORBIDDEN,
    helix.NotFound: Refusal.NOT_FOUND,
    helix.BadRequest: Refusal.INVALID,
}


def _reward(reward: CustomReward) -> RewardInfo:
    return RewardInfo(reward.id, reward.title, reward.cost, reward.is_paused)


def _limit_fields(limits: RewardLimits) -> dict[str, Any]:
    """Helix's body fields for ``limits``: a limit that is off is sent as off (its flag false),
    so an update takes away a limit set before."""
    fields: dict[str, Any] = {"prompt": limits.prompt}
    for flag, name, value in (
        ("is_max_per_stream_enabled", "max_per_stream", limits.max_per_stream),
        (
            "is_max_per_user_per_stream_enabled",
            "max_per_user_per_stream",
            limits.max_per_user_per_stream,
        ),
        ("is_global_cooldown_enabled", "global_cooldown_seconds", limits.cooldown_seconds),
    ):
        fields[flag] = value is not None
        if value is not None:
            fields[name] = value
    return fields


class HelixVipChannel(HelixOnLoop):
    """:class:`~core.features.vip.ports.TwitchVipChannel` on Helix, with the guild's token."""

    def __init__(
        self,
        make_client: Callable[[], HelixClient],
        token_for: Callable[[], TokenProvider | None],
        chat_sender: Callable[[], ChatSender | None] = lambda: None,
        streamer_call: Callable[[], StreamerCall | None] = lambda: None,
        held_token_call: Callable[[], StreamerCall | None] = lambda: None,
    ) -> None:
        """``make_client`` is called once, on the running loop. Calls go through
        ``streamer_call()`` when it gives one (a 401 refreshes the token and tries once more),
        else with the token from ``token_for()``'s provider, or None (not built). Chat goes
        through ``chat_sender()`` (the Twitch chat sender) when there is one, else through
        Helix as the broadcaster. ``held_token_call()`` (TwitchConnections.call_with_held_token)
        makes a refund's one try after the connection was marked for a 401."""
        super().__init__(make_client)
        self._token_for = token_for
        self._chat_sender = chat_sender
        self._streamer_call = streamer_call
        self._held_token_call = held_token_call

    async def _token(self, guild_id: int) -> str:
        provider = self._token_for()
        if provider is None:
            raise TwitchRefused(Refusal.NOT_CONNECTED, NOT_CONNECTED)
        try:
            token = provider(guild_id)
            if inspect.isawaitable(token):
                token = await token
        except Exception as exc:  # a revoked grant, a refresh that failed
            log.warning("guild %s: no Twitch token: %s", guild_id, type(exc).__name__)
            raise TwitchRefused(Refusal.NOT_CONNECTED, NOT_CONNECTED) from None
        if not token:
            raise TwitchRefused(Refusal.NOT_CONNECTED, NOT_CONNECTED)
        return str(token)

    async def _as_streamer(
        self,
        guild_id: int,
        call: Callable[[str], Awaitable[T]],
        streamer_call: StreamerCall | None = None,
    ) -> T:
        streamer_call = streamer_call or self._streamer_call()
        if streamer_call is None:
            return await call(await self._token(guild_id))
        try:
            return await streamer_call(guild_id, call)
        except TwitchStillUnauthorized:  # 401 even with a token Twitch just issued: marked
            raise TwitchRefused(Refusal.UNAUTHORIZED, STILL_UNAUTHORIZED) from None
        except HelixError as exc:
            if isinstance(exc, helix.Unauthorized):  # the same, from a caller that never marks
                raise TwitchRefused(Refusal.UNAUTHORIZED, STILL_UNAUTHORIZED) from None
            raise
        except TwitchNotConnected:  # no connection, or Twitch refused the refresh
            raise TwitchRefused(Refusal.NOT_CONNECTED, NOT_CONNECTED) from None
        except TwitchOAuthError as exc:  # the refresh failed for another reason: try later
            raise TwitchBusy(f"Twitch did not refresh the streamer token: {exc}") from None

    async def _call(
        self,
        guild_id: int,
        call: Callable[[str], Awaitable[T]],
        refusals: dict[type[HelixError], Refusal] | None = None,
        streamer_call: StreamerCall | None = None,
    ) -> T:
        try:
            return await self._as_streamer(guild_id, call, streamer_call)
        except ValueError as exc:  # a value Helix would refuse, caught before sending
            raise TwitchRefused(Refusal.INVALID, str(exc)) from None
        except helix.RateLimited as exc:
            raise TwitchBusy("Twitch is rate limiting", exc.retry_after or 10.0) from None
        except HelixError as exc:
            for kind, reason in {**_REFUSALS, **(refusals or {})}.items():
                if isinstance(exc, kind):
                    text = NOT_CONNECTED if reason is Refusal.NOT_CONNECTED else exc.message
                    raise TwitchRefused(reason, f"Twitch said no: {text}") from None
            raise TwitchBusy("Twitch did not answer" if exc.status is None else str(exc)) from None

    async def add_vip(self, guild_id: int, broadcaster_id: str, user_id: str) -> None:
        try:
            await self._call(
                guild_id,
                lambda token: self.client.add_vip(token, broadcaster_id, user_id),
                {
                    helix.Conflict: Refusal.NO_SLOTS,
                    helix.TooEarly: Refusal.NO_COMMUNITY,
                    helix.BadRequest: Refusal.BANNED,
                    helix.Unprocessable: Refusal.MODERATOR,
                },
            )
        except TwitchRefused as refused:
            if refused.reason != Refusal.MODERATOR:
                raise
            # 422 is "a moderator" or "already a VIP": Twitch's status alone does not say which
            try:
                vips = await self._call(
                    guild_id, lambda token: self.client.get_vips(token, broadcaster_id, [user_id])
                )
            except TwitchBusy as busy:  # the add changed nothing all the same
                raise TwitchBusyUnchanged(str(busy), busy.retry_after) from None
            if vips:
                raise TwitchRefused(Refusal.ALREADY_VIP, "already a VIP") from None
            raise TwitchRefused(Refusal.MODERATOR, "moderators cannot be VIPs") from None

    async def remove_vip(self, guild_id: int, broadcaster_id: str, user_id: str) -> None:
        await self._call(
            guild_id,
            lambda token: self.client.remove_vip(token, broadcaster_id, user_id),
            {helix.Unprocessable: Refusal.NOT_VIP},
        )

    async def list_vips(self, guild_id: int, broadcaster_id: str) -> list[TwitchAccount]:
        vips = await self._call(guild_id, lambda token: self.client.get_vips(token, broadcaster_id))
        return [TwitchAccount(v.user_id, v.user_login, v.user_name) for v in vips]

    async def find_user(self, guild_id: int, login: str) -> TwitchAccount | None:
        users = await self._call(
            guild_id, lambda token: self.client.get_users(token, logins=[login])
        )
        return next((TwitchAccount(u.id, u.login, u.display_name) for u in users), None)

    async def list_rewards(self, guild_id: int, broadcaster_id: str) -> list[RewardInfo]:
        rewards = await self._call(
            guild_id,
            lambda token: self.client.get_rewards(token, broadcaster_id, only_manageable=True),
        )
        return [_reward(reward) for reward in rewards]

    async def create_reward(
        self,
        guild_id: int,
        broadcaster_id: str,
        title: str,
        cost: int,
        limits: RewardLimits | None = None,
    ) -> RewardInfo:
        # Redemptions stay in the request queue, so one that cannot be granted can be
        # CANCELED (refunded) instead of eating the viewer's points.
        fields = _limit_fields(limits or RewardLimits())
        reward = await self._call(
            guild_id,
            lambda token: self.client.create_reward(
                token,
                broadcaster_id,
                title,
                cost,
                should_redemptions_skip_request_queue=False,
                **fields,
            ),
        )
        return _reward(reward)

    async def update_reward(
        self,
        guild_id: int,
        broadcaster_id: str,
        reward_id: str,
        *,
        title: str | None = None,
        cost: int | None = None,
        is_paused: bool | None = None,
        limits: RewardLimits | None = None,
    ) -> RewardInfo:
        changes: dict[str, Any] = {
            name: value
            for name, value in (("title", title), ("cost", cost), ("is_paused", is_paused))
            if value is not None
        }
        if limits is not None:
            changes.update(_limit_fields(limits))
        reward = await self._call(
            guild_id,
            lambda token: self.client.update_reward(token, broadcaster_id, reward_id, **changes),
        )
        return _reward(reward)

    async def delete_reward(self, guild_id: int, broadcaster_id: str, reward_id: str) -> None:
        await self._call(
            guild_id, lambda token: self.client.delete_reward(token, broadcaster_id, reward_id)
        )

    async def set_redemption_status(
        self,
        guild_id: int,
        broadcaster_id: str,
        reward_id: str,
        redemption_id: str,
        status: Literal["FULFILLED", "CANCELED"],
    ) -> None:
        def update(token: str) -> Awaitable[Any]:
            return self.client.update_redemptions(
                token, broadcaster_id, reward_id, [redemption_id], status
            )

        try:
            await self._call(guild_id, update)
        except TwitchRefused as refused:
            held = self._held_token_call()
            is_marked = refused.reason in (Refusal.NOT_CONNECTED, Refusal.UNAUTHORIZED)
            if status != "CANCELED" or not is_marked or held is None:
                raise
            # Marked for a 401 its scopes explain: the refund may still go through.
            await self._call(guild_id, update, streamer_call=held)

    async def list_unfulfilled(
        self, guild_id: int, broadcaster_id: str, reward_id: str
    ) -> list[PendingRedemption]:
        found = await self._call(
            guild_id,
            lambda token: self.client.get_redemptions(token, broadcaster_id, reward_id),
        )
        return [
            PendingRedemption(r.id, r.user_id, r.user_name or r.user_login, r.redeemed_at)
            for r in found
        ]

    async def send_chat(self, guild_id: int, broadcaster_id: str, text: str) -> None:
        try:
            sender = self._chat_sender()
            if sender is not None:
                await sender.send(guild_id=guild_id, broadcaster_user_id=broadcaster_id, text=text)
                return
            await self._call(
                guild_id,
                lambda token: self.client.send_chat_message(
                    token, broadcaster_id, broadcaster_id, text[: helix.MAX_CHAT_LENGTH]
                ),
            )
        except Exception as exc:  # chat is best effort
            log.warning("guild %s: VIP chat notice not sent: %s", guild_id, exc)
