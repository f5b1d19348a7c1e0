"""Shuffle account claims: a member asks to be linked to a Shuffle name (``!linkshuffle``), an
admin confirms it (``!verifyshuffle``) or forgets it later (``!unlinkshuffle``).

A Shuffle account belongs to at most one member of a guild, and a member has at most one. Only a
verified account's wagers earn tickets (see :mod:`.wagers`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from core.events import utc
from core.features.linking import repository as linking_repository
from core.features.raffle.errors import WagerRefused
from core.features.raffle.wagers import repository
from core.features.raffle.wagers.renames import carry_renamed
from core.features.raffle.wagers.repository import ShuffleLink
from core.platforms.shuffle.payloads import NAME, account_key


@dataclass(frozen=True)
class Requested:
    username: str  # as the member typed it
    has_stream_link: bool  # no Kick or Twitch link: their tickets will wait until they link one


@dataclass(frozen=True)
class Verified:
    link: ShuffleLink
    role_id: int | None  # the role to give, when the guild set one
    replaced: str | None  # the Shuffle name the member was verified as before
    has_stream_link: bool  # no Kick or Twitch link: tickets wait until the member links one


def check_shuffle_name(name: str) -> str:
    name = name.strip().lstrip("@")
    if not NAME.match(name):
        raise WagerRefused(
            "That is not a Shuffle username (2 to 32 letters, digits, '.', '-' or '_')."
        )
    return name


class ShuffleAccounts:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def request_link(self, guild_id: int, discord_user_id: int, name: str) -> Requested:
        """A member asks to be linked to a Shuffle account; an admin confirms it."""
        name = check_shuffle_name(name)
        key = account_key(name)
        now = utc(self.clock())
        with self.engine.begin() as conn:
            mine = repository.find_link_by_member(conn, guild_id, discord_user_id)
            if mine is not None and mine.account_key == key:
                raise WagerRefused(f"You are already verified as {mine.username} on Shuffle.")
            holder = repository.find_link_by_account(conn, guild_id, key)
            if holder is not None:
                raise WagerRefused(
                    f"The Shuffle account {name} is already verified for another member. "
                    "If it is yours, ask an admin."
                )
            repository.save_request(conn, guild_id, discord_user_id, name, now)
            accounts = linking_repository.links_of_member(conn, discord_user_id)
        return Requested(name, has_stream_link=bool(accounts))

    def verify(self, guild_id: int, *, admin_id: int, discord_user_id: int, name: str) -> Verified:
        """Confirm a member's request: their wagers as ``name`` now earn them tickets."""
        name = check_shuffle_name(name)
        key = account_key(name)
        now = utc(self.clock())
        with self.engine.begin() as conn:
            request = repository.find_request(conn, guild_id, discord_user_id)
            current = repository.find_link_by_member(conn, guild_id, discord_user_id)
            if current is not None and current.account_key == key:
                raise WagerRefused(f"That member is already verified as {current.username}.")
            # Before the request: its holder cannot be asked for (!linkshuffle refuses it), so
            # this names whom to unlink, by id, as one who left the server is named.
            holder = repository.find_link_by_account(conn, guild_id, key)
            if holder is not None:
                raise WagerRefused(
                    f"{holder.username} is already verified for another member: "
                    f"!unlinkshuffle {holder.discord_user_id} first."
                )
            if request is None:
                raise WagerRefused(
                    "That member has not asked to link a Shuffle account: they use "
                    f"!linkshuffle {name} first."
                )
            if account_key(request.username) != key:
                raise WagerRefused(
                    f"That member asked for {request.username}, not {name}. Check the name, "
                    "or have them ask again."
                )
            if current is not None:
                repository.delete_link_of_member(conn, guild_id, discord_user_id)
            link = ShuffleLink(key, request.username, discord_user_id, admin_id, now)
            if not repository.save_link(conn, guild_id, link):
                raise WagerRefused("Someone verified that account a moment ago; check again.")
            repository.delete_request(conn, guild_id, discord_user_id)
            if current is not None:  # renamed on Shuffle? the new name goes on counting
                carry_renamed(conn, guild_id, current.account_key, key, now)
            settings = repository.find_settings(conn, guild_id)
            accounts = linking_repository.links_of_member(conn, discord_user_id)
        return Verified(
            link,
            settings.verified_role_id if settings else None,
            current.username if current is not None else None,
            has_stream_link=bool(accounts),
        )

    def unlink(self, guild_id: int, discord_user_id: int) -> ShuffleLink | None:
        """Forget the member's Shuffle account and any request; returns the old link, if any.

        Tickets already given stay; the account's progress stays too, so linking it again
        later in the period gives nothing twice."""
        with self.engine.begin() as conn:
            link = repository.find_link_by_member(conn, guild_id, discord_user_id)
            repository.delete_link_of_member(conn, guild_id, discord_user_id)
            repository.delete_request(conn, guild_id, discord_user_id)
        return link

    def verified_role(self, guild_id: int) -> int | None:
        with self.engine.connect() as conn:
            settings = repository.find_settings(conn, guild_id)
        return settings.verified_role_id if settings else None

    def link_of(self, guild_id: int, discord_user_id: int) -> ShuffleLink | None:
        with self.engine.connect() as conn:
            return repository.find_link_by_member(conn, guild_id, discord_user_id)
