"""The outbox's calls that name a person (``privacy export`` and ``forget``,
:mod:`core.features.person_data`): the outbox keeps each call 30 days after it ends, and a call
in doubt until an admin settles it, and many name a viewer: a StreamElements payment by their
Twitch login, a VIP grant by their account and name, a chat line or a Discord notice in its
words, what follows a link by the member's Discord id, and the summary of nearly every one
("post ana_kick's slot call 'Gates of Olympus' in Discord").

A call names the person when its payload holds an event naming them (decoded as the bus
decodes it), their Discord id under one of the id fields asked for, one of their accounts
(``platform`` with a user id) or their name as a login; a call whose payload says none of whom
it is about (a slot call's post, a chat line, a notice) names them when its text or summary has
their name as a whole word (``@ana_kick``, not ``banana_kick``). The
names are those of the call's platform when it says one (its payload, or its service: a
StreamElements login is a Twitch one), else of either. The database only narrows the search to
calls whose text holds one of those ids or names; each is then decoded here.

Which of them a forget may delete is :func:`ended`'s to say: a call still to be made stays
until it is made (a payment owed, the roles a forget takes back), and so does a payment in doubt
until an admin settles it and a payment given up on (a new StreamElements JWT sends it again,
for as long as the outbox keeps it). The forget deletes the names that found those calls, so it
records each kept call's id (``privacy_forgets_to_finish``, platform :data:`RECORDED`) as it
records the person's accounts, and a call recorded so is theirs whatever it names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Event, event_from_dict
from core.features.payments.tables import payments_settlements
from core.features.viewers.names import named_in
from core.outbox import store

if TYPE_CHECKING:
    from core.features.person_data import Person

OUTBOX_TABLES = frozenset({"outbox"})
RECORDED = "outbox"  # a forget's record of a call kept for now: (RECORDED, its id)
PAYMENTS = ("streamelements", "points.se-pay")  # se_payments.SERVICE, PAY
ACCOUNT_KEYS = ("platform_user_id", "user_id", "viewer_id")
NAME_KEYS = frozenset({"username", "login"})
TEXT_KEYS = frozenset({"text"})
WHO_KEYS = frozenset({"discord_user_id"})  # a member a call is about (the linking calls)
PLATFORM_OF_SERVICE = {
    "kick-chat": "kick",
    "twitch-chat": "twitch",
    "twitch-helix": "twitch",
    "helix": "twitch",
    "streamelements": "twitch",  # StreamElements keys points by Twitch login
}


def call_matches(
    conn: Connection, name: str, table: sa.Table, person: Person, columns: frozenset[str]
) -> list[Any]:
    """For the outbox: its calls naming the person (their Discord id in ``columns``' fields)."""
    if name not in OUTBOX_TABLES:
        return []
    o = table.c
    kept = [o.id.in_(sorted(person.calls))] if person.calls else []
    words = _searched(person)
    if not words:
        return kept
    narrowed = sa.or_(
        *(
            sa.func.lower(column).contains(word, autoescape=True)
            for word in sorted(words)
            for column in (o.payload, o.summary)
        )
    )
    query = sa.select(o.id, o.service, o.payload, o.summary).where(narrowed)
    found = [
        row.id
        for row in conn.execute(query.execution_options(yield_per=500))
        if _names_call(row.service, row.payload, row.summary or "", person, columns)
    ]
    return [*kept, o.id.in_(found)] if found else kept


def ended(table: sa.Table) -> Any:
    """The calls a forget deletes: made, refused, or given up on (a payment given up on stays:
    a new JWT sends it again while the outbox keeps it), and those in doubt, but for a payment
    no admin has settled yet (it may still be owed). A call still to be made (or held) stays."""
    o = table.c
    is_payment = sa.and_(o.service == PAYMENTS[0], o.kind == PAYMENTS[1])
    settled = o.id.in_(sa.select(payments_settlements.c.outbox_id))
    return sa.or_(
        o.state.in_((store.DONE, store.REFUSED)),
        sa.and_(o.state == store.FAILED, ~is_payment),
        sa.and_(o.state == store.UNCERTAIN, sa.or_(~is_payment, settled)),
    )


def count_in_doubt(conn: Connection, table: sa.Table, chosen: Any) -> int:
    """Of the ``chosen`` calls, those in doubt no admin has settled (the list to settle)."""
    settled = table.c.id.in_(sa.select(payments_settlements.c.outbox_id))
    query = sa.select(sa.func.count()).select_from(table)
    query = query.where(chosen, table.c.state == store.UNCERTAIN, ~settled)
    return int(conn.execute(query).scalar_one())


def names_event(event: Event, person: Person, columns: Collection[str]) -> bool:
    """Whether ``event`` names one of the person's accounts (their name where the source gave
    no id), or has their Discord id in one of ``columns``' fields."""
    member = person.discord_user_id
    if member is not None and any(getattr(event, c, None) == member for c in columns):
        return True
    platform = str(event.platform)
    known = person.names.get(platform, frozenset())
    for viewer in named_in(event):
        if viewer.platform_user_id is not None:
            if (platform, viewer.platform_user_id) in person.accounts:
                return True
        elif viewer.username.strip().lstrip("@").lower() in known:
            return True
    return False


def _searched(person: Person) -> set[str]:
    """What a call naming the person holds in its text, lowercased (to narrow the search)."""
    words = {str(user_id).lower() for _, user_id in person.accounts}
    words.update(name for names in person.names.values() for name in names if name)
    if person.discord_user_id is not None:
        words.add(str(person.discord_user_id))
    return words


def _names_call(
    service: str, payload: str, summary: str, person: Person, columns: frozenset[str]
) -> bool:
    """Whether the call names the person: by who its payload says it is about, else (a slot
    call's post, a chat line, a notice) by their name as a word of its text or summary. A call
    whose payload says who it is about is not theirs by a word ("the heist" in Carl's payment
    is no call of a viewer named "heist")."""
    platform = PLATFORM_OF_SERVICE.get(service)
    try:
        parts = list(_parts(json.loads(payload)))
    except ValueError:
        parts = []
    if any(_names_part(part, person, columns, platform) for part in parts):
        return True
    if any(_says_who(part) for part in parts):
        return False
    names = _names_on(person, platform)
    texts = [summary, *(str(part[key]) for part in parts for key in TEXT_KEYS if key in part)]
    return any(_in_words(text, names) for text in texts)


def _says_who(part: dict[str, Any]) -> bool:
    """Whether this part of a payload says whom the call is about."""
    if "kind" in part and _event(part) is not None:
        return True
    return any(part.get(key) is not None for key in (*ACCOUNT_KEYS, *NAME_KEYS, *WHO_KEYS))


def _parts(data: Any) -> Iterator[dict[str, Any]]:
    """Every object in a payload, outermost first; an event's inside is the event's."""
    if isinstance(data, list):
        for item in data:
            yield from _parts(item)
    elif isinstance(data, dict):
        yield data
        if "kind" in data and _event(data) is not None:
            return
        for value in data.values():
            yield from _parts(value)


def _event(data: dict[str, Any]) -> Event | None:
    try:
        return event_from_dict(data)
    except ValueError:
        return None


def _names_part(
    part: dict[str, Any], person: Person, columns: frozenset[str], platform: str | None
) -> bool:
    event = _event(part) if "kind" in part else None
    if event is not None:
        return names_event(event, person, columns)
    platform = str(part.get("platform") or platform or "") or None
    member = person.discord_user_id
    if member is not None and any(str(part.get(c)) == str(member) for c in columns if c in part):
        return True
    if platform is not None:
        for key in ACCOUNT_KEYS:
            if part.get(key) is not None and (platform, str(part[key])) in person.accounts:
                return True
    names = _names_on(person, platform)
    return any(
        isinstance(value, str) and value.strip().lstrip("@").lower() in names
        for key, value in part.items()
        if key in NAME_KEYS
    )


def _names_on(person: Person, platform: str | None) -> frozenset[str]:
    if platform is not None:
        return person.names.get(platform, frozenset())
    return frozenset(name for key in ("kick", "twitch") for name in person.names.get(key, ()))


def _in_words(text: str, names: Collection[str]) -> bool:
    """Whether one of ``names`` is a whole word of ``text`` (``@ana``, ``ana's``)."""
    lowered = text.lower()
    return any(
        re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", lowered)
        for name in names
        if name and name in lowered
    )
