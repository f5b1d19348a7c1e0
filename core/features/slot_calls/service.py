"""Slot calls: a viewer types ``!call <slot>`` in chat; the call is checked, stored and queued.

A call is stored once per chat message (unique by the message's event key, in the same
transaction as every check), so a redelivered or repeated webhook adds nothing; the checks hold
the guild's settings row, so several processes check one guild's calls one after the other. Slot
names are cleaned before they are kept (see :mod:`.names`) and compared without case or spaces.
Every method here is synchronous and uses the database: the bot calls them in a worker thread.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection, Engine

from core.events import ChatMessageSent, ViewerBanned, utc
from core.features.chat_commands.text import clean_text
from core.features.linking.repository import find_link_by_account
from core.features.slot_calls import blacklist_rows, repository
from core.features.slot_calls.blacklist import SlotCallBlacklist
from core.features.slot_calls.errors import InvalidSetting
from core.features.slot_calls.names import (
    MAX_USERNAME,
    clean_slot_name,
    slot_key,
    username_key,
)
from core.features.slot_calls.posts import queue_post
from core.features.slot_calls.repository import (
    CLEARED,
    OPEN,
    PICKED,
    SKIPPED,
    NewSlotCall,
    SlotCall,
    SlotCallSettings,
)
from core.features.viewers.repository import usernames_of

MAX_SLOT_NAME = 200
MAX_COOLDOWN_SECONDS = 3600
MAX_OPEN_LIMIT = 100
CLOSED_KEPT = timedelta(days=30)  # a picked, cleared or skipped call, then it is forgotten
PICK_ATTEMPTS = 5

log = logging.getLogger(__name__)


class Verdict(enum.StrEnum):
    ACCEPTED = "accepted"
    ALREADY_STORED = "already_stored"  # this chat message made a call before: stay silent
    UNIDENTIFIED = "unidentified"  # the source gave no user id: stay silent
    CALLS_OFF = "calls_off"
    BLACKLISTED = "blacklisted"  # silent, so the viewer gets nothing to argue with
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_LINKED = "not_linked"
    COOLDOWN = "cooldown"
    TOO_MANY_OPEN = "too_many_open"
    ALREADY_OPEN = "already_open"
    NOT_OURS = "not_ours"  # !sr while calls are off or left to a song request bot: silent
    CLEARED_SINCE = "cleared_since"  # typed before the last clear, handled after it


@dataclass(frozen=True)
class CallOutcome:
    verdict: Verdict
    call: SlotCall | None = None  # the new call, or the open one with the same slot
    position: int | None = None  # that call's place in the queue
    retry_after_seconds: int = 0  # COOLDOWN
    limit: int | None = None  # TOO_MANY_OPEN
    channel_id: int | None = None  # ACCEPTED: where the call is posted
    slot_name: str | None = None  # CLEARED_SINCE: the slot it named


@dataclass(frozen=True)
class SlotCallStatus:
    settings: SlotCallSettings
    channel_id: int | None  # the channel calls go to: the stored one, else the default
    open_calls: int


@dataclass(frozen=True)
class Pick:
    call: SlotCall
    open_before: int  # how many calls it was picked from
    channel_id: int | None  # the guild's slot call channel
    is_random: bool = True  # False: a moderator chose this call (its post's Pick button)


class SlotCallService:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        *,
        default_channel_id: int | None = None,
        choose: Callable[[Sequence[int]], int] = secrets.choice,
    ) -> None:
        """``default_channel_id`` is SLOT_CALLS_CHANNEL_ID. ``choose`` picks a call id for
        :meth:`pick`; it must stay a CSPRNG outside tests."""
        self.engine = engine
        self.clock = clock
        self.default_channel_id = default_channel_id
        self.choose = choose
        self.blacklist = SlotCallBlacklist(engine, clock)

    # --- calls from chat -------------------------------------------------------------------

    def request(
        self, guild_id: int, event: ChatMessageSent, slot_text: str, *, as_sr: bool = False
    ) -> CallOutcome:
        """Check a ``!call`` (``as_sr``: typed as ``!sr``) and store it when every check
        passes."""
        user_id = event.viewer.platform_user_id
        if user_id is None:
            return CallOutcome(Verdict.UNIDENTIFIED)
        with self.engine.begin() as conn:
            # The guild's lock first: the duplicate slot, cooldown and open-call checks below
            # then see a call another process is adding, never both pass and both insert.
            settings = repository.get_settings(conn, guild_id, lock=True) or SlotCallSettings()
            if repository.is_event_stored(conn, guild_id, event.key):
                return CallOutcome(Verdict.ALREADY_STORED)
            # The blacklist first: a blacklisted viewer gets no answer, not even "calls are off".
            name_key = username_key(event.viewer.username)
            blacklist_rows.bind_blacklisted_name(conn, guild_id, event.platform, user_id, name_key)
            if blacklist_rows.is_blacklisted(conn, guild_id, event.platform, user_id, name_key):
                return CallOutcome(Verdict.BLACKLISTED)
            if as_sr and not (settings.enabled and settings.answer_sr):
                return CallOutcome(Verdict.NOT_OURS)  # a song request, maybe: not ours to answer
            if not settings.enabled:
                return CallOutcome(Verdict.CALLS_OFF)
            name = clean_slot_name(slot_text)
            if not name:
                return CallOutcome(Verdict.EMPTY)
            if len(name) > MAX_SLOT_NAME:
                return CallOutcome(Verdict.TOO_LONG, limit=MAX_SLOT_NAME)
            link = find_link_by_account(conn, event.platform, user_id)
            if settings.require_link and link is None:
                return CallOutcome(Verdict.NOT_LINKED)
            called_at = utc(event.occurred_at)
            # By the message's own time, not by when it is handled: a call typed before a
            # clear but still queued then (a busy minute, a restart) was cleared with the rest.
            cleared_at = repository.last_cleared_at(conn, guild_id)
            if cleared_at is not None and called_at <= utc(cleared_at):
                return CallOutcome(Verdict.CLEARED_SINCE, slot_name=name)
            last = repository.last_call_time(conn, guild_id, event.platform, user_id)
            if last is not None and settings.cooldown_seconds > 0:
                waited = (called_at - utc(last)).total_seconds()
                if waited < settings.cooldown_seconds:
                    left = math.ceil(settings.cooldown_seconds - max(0.0, waited))
                    return CallOutcome(Verdict.COOLDOWN, retry_after_seconds=left)
            limit = settings.max_open_per_user
            if limit is not None and (
                repository.count_open_calls_of(conn, guild_id, event.platform, user_id) >= limit
            ):
                return CallOutcome(Verdict.TOO_MANY_OPEN, limit=limit)
            key = slot_key(name)
            same = repository.find_open_call_by_key(conn, guild_id, key)
            if same is not None:
                position = repository.queue_position(conn, guild_id, same.id)
                return CallOutcome(Verdict.ALREADY_OPEN, call=same, position=position)
            new = NewSlotCall(
                guild_id=guild_id,
                event_key=event.key,
                platform=event.platform,
                broadcaster_user_id=event.broadcaster_user_id,
                platform_user_id=user_id,
                username=clean_text(event.viewer.username)[:MAX_USERNAME] or user_id,
                discord_user_id=link.discord_user_id if link is not None else None,
                slot_name=name,
                slot_key=key[:MAX_SLOT_NAME],
                called_at=called_at,
            )
            call_id = repository.insert_call(conn, new)
            if call_id is None:  # the same message, stored by another process meanwhile
                return CallOutcome(Verdict.ALREADY_STORED)
            call = repository.get_call(conn, guild_id, call_id)
            position = repository.queue_position(conn, guild_id, call_id)
            channel_id = self._channel_of(settings)
            if channel_id is not None:
                queue_post(
                    conn, guild_id, call_id, channel_id, position, utc(self.clock()),
                    who=new.username, slot=name,
                )  # fmt: skip
            else:
                log.info(
                    "guild %s: slot call %s kept; no slot call channel is set", guild_id, call_id
                )
        return CallOutcome(
            Verdict.ACCEPTED,
            call=call,
            position=position,
            channel_id=self._channel_of(settings),
        )

    def mark_posted(self, guild_id: int, call_id: int) -> None:
        with self.engine.begin() as conn:
            repository.mark_posted(conn, guild_id, call_id, utc(self.clock()))

    def call_to_post(self, guild_id: int, call_id: int) -> SlotCall | None:
        """The call if it still waits for its post: open and not posted yet."""
        with self.engine.connect() as conn:
            call = repository.get_call(conn, guild_id, call_id)
        if call is None or call.status != OPEN or call.posted_at is not None:
            return None
        return call

    def queue_position(self, guild_id: int, call_id: int) -> int:
        """The open call's place in the queue now (calls before it may have closed)."""
        with self.engine.connect() as conn:
            return repository.queue_position(conn, guild_id, call_id)

    # --- the queue -------------------------------------------------------------------------

    def open_calls(self, guild_id: int, limit: int, offset: int = 0) -> list[SlotCall]:
        """Open calls, oldest first (the first one is #1 in the queue)."""
        with self.engine.connect() as conn:
            return repository.list_open_calls(conn, guild_id, limit, offset)

    def count_open(self, guild_id: int) -> int:
        with self.engine.connect() as conn:
            return repository.count_open_calls(conn, guild_id)

    def pick(self, guild_id: int, picked_by: int) -> Pick | None:
        """Pick one open call at random (CSPRNG) and record who picked it; None when the queue
        is empty. Two moderators picking at once get two different calls."""
        for _ in range(PICK_ATTEMPTS):
            with self.engine.begin() as conn:
                ids = repository.list_open_call_ids(conn, guild_id)
                if not ids:
                    return None
                chosen = self.choose(ids)
                now = utc(self.clock())
                if repository.close_call(conn, guild_id, chosen, PICKED, now, picked_by):
                    call = _named_now(conn, repository.get_call(conn, guild_id, chosen))
                    settings = repository.get_settings(conn, guild_id) or SlotCallSettings()
                    if call is not None:
                        return Pick(call, len(ids), self._channel_of(settings))
        return None

    def pick_call(self, guild_id: int, call_id: int, picked_by: int) -> Pick | None:
        """Pick this call (its post's Pick button); None when it is not open any more (picked,
        skipped or cleared already: of two moderators pressing at once, one picks it)."""
        with self.engine.begin() as conn:
            open_before = repository.count_open_calls(conn, guild_id)
            if not repository.close_call(
                conn, guild_id, call_id, PICKED, utc(self.clock()), picked_by
            ):
                return None
            call = _named_now(conn, repository.get_call(conn, guild_id, call_id))
            settings = repository.get_settings(conn, guild_id) or SlotCallSettings()
        if call is None:
            return None
        return Pick(call, open_before, self._channel_of(settings), is_random=False)

    def skip(self, guild_id: int, call_id: int, skipped_by: int) -> SlotCall | None:
        """Pass over this call (its post's Skip button): closed, not picked. None when it is not
        open any more."""
        with self.engine.begin() as conn:
            if not repository.close_call(
                conn, guild_id, call_id, SKIPPED, utc(self.clock()), skipped_by
            ):
                return None
            return repository.get_call(conn, guild_id, call_id)

    def clear(self, guild_id: int, cleared_by: int, *, typed_by: datetime | None = None) -> int:
        """Close every open call; how many there were. ``typed_by``: the moment a moderator was
        asked to confirm; only the calls typed by then close, and it counts as the clear's
        moment (so a call typed by then and handled later is cleared too, see :meth:`request`)."""
        moment = utc(typed_by if typed_by is not None else self.clock())
        called_by = moment if typed_by is not None else None
        with self.engine.begin() as conn:
            return repository.close_open_calls(
                conn, guild_id, CLEARED, moment, cleared_by, called_by=called_by
            )

    def viewer_banned(self, guild_id: int, event: ViewerBanned) -> int:
        """Event handler: a viewer banned from the stream's chat for good (not a timeout) has
        the calls they typed until then closed (skipped), so no pick announces a banned
        viewer's slot; how many."""
        user_id = event.viewer.platform_user_id
        if event.expires_at is not None or user_id is None:
            return 0
        with self.engine.begin() as conn:
            closed = repository.close_open_calls_of(
                conn, guild_id, event.platform, [user_id], SKIPPED, utc(self.clock()), None,
                called_by=utc(event.occurred_at),
            )  # fmt: skip
        if closed:
            log.info("guild %s: %d slot call(s) of a banned viewer closed", guild_id, closed)
        return closed

    # --- settings --------------------------------------------------------------------------

    def status(self, guild_id: int) -> SlotCallStatus:
        with self.engine.connect() as conn:
            settings = repository.get_settings(conn, guild_id) or SlotCallSettings()
            open_calls = repository.count_open_calls(conn, guild_id)
        return SlotCallStatus(settings, self._channel_of(settings), open_calls)

    def set_enabled(self, guild_id: int, enabled: bool) -> SlotCallStatus:
        return self._change(guild_id, enabled=enabled)

    def set_channel(self, guild_id: int, channel_id: int | None) -> SlotCallStatus:
        """Post calls to ``channel_id``; None goes back to SLOT_CALLS_CHANNEL_ID."""
        return self._change(guild_id, channel_id=channel_id)

    def set_cooldown(self, guild_id: int, seconds: int) -> SlotCallStatus:
        if not 0 <= seconds <= MAX_COOLDOWN_SECONDS:
            raise InvalidSetting(f"The cooldown is 0 to {MAX_COOLDOWN_SECONDS} seconds.")
        return self._change(guild_id, cooldown_seconds=seconds)

    def set_max_open(self, guild_id: int, limit: int | None) -> SlotCallStatus:
        """At most ``limit`` open calls per viewer; None for no limit."""
        if limit is not None and not 1 <= limit <= MAX_OPEN_LIMIT:
            raise InvalidSetting(f"The limit is 1 to {MAX_OPEN_LIMIT} open calls, or off.")
        return self._change(guild_id, max_open_per_user=limit)

    def set_require_link(self, guild_id: int, required: bool) -> SlotCallStatus:
        return self._change(guild_id, require_link=required)

    def set_answer_sr(self, guild_id: int, answered: bool) -> SlotCallStatus:
        """Whether ``!sr`` makes a slot call too (off: a song request bot takes it)."""
        return self._change(guild_id, answer_sr=answered)

    def _change(self, guild_id: int, **changes: object) -> SlotCallStatus:
        with self.engine.begin() as conn:
            settings = repository.get_settings(conn, guild_id) or SlotCallSettings()
            settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
            repository.save_settings(conn, guild_id, settings, utc(self.clock()))
        return self.status(guild_id)

    def _channel_of(self, settings: SlotCallSettings) -> int | None:
        return settings.channel_id or self.default_channel_id

    def forget_old_calls(self) -> int:
        """Forget the calls closed more than :data:`CLOSED_KEPT` ago (a scheduled job: what
        the privacy page promises); how many went."""
        with self.engine.begin() as conn:
            return repository.forget_closed_before(conn, utc(self.clock()) - CLOSED_KEPT)


def _named_now(conn: Connection, call: SlotCall | None) -> SlotCall | None:
    """``call`` with its viewer's name as it is now, when known: a pick is announced with an
    ``@``, and a viewer who renamed since their call would be missed (or someone else named)."""
    if call is None:
        return None
    known = usernames_of(conn, [(str(call.platform), call.platform_user_id)])
    name = clean_text(known.get(f"{call.platform}:{call.platform_user_id}", ""))[:MAX_USERNAME]
    return dataclasses.replace(call, username=name) if name else call
