"""The kinds of alert a streamer can pick, their words, and which look an amount gets.

Each kind has a message template with named fields in braces (``{who} gifted {amount} subs``):
``who`` (the viewer or channel), ``amount`` (subs gifted, months, viewers, bits, KICKs, tickets),
``tier`` (``Tier 1``, ``Prime``; blank where the platform does not say) and ``message`` (what the
viewer wrote). Any other name in braces is refused with words for the streamer, before saving.
A kind's variations give a bigger amount its own words, picture or sound: the one with the
highest threshold at or below the amount wins; a blank part keeps the kind's own.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from core.features.chat_commands.text import clean_text, few_marks
from core.features.overlays.settings import ALERT_SECONDS, OverlayRefused

FIELDS = ("who", "amount", "tier", "message")
TEMPLATE_MAX = 200
WHO_MAX = 50  # a name longer than any platform's (25) is cut, so the words around it still show
MAX_VARIATIONS = 10
MAX_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class AlertKind:
    name: str
    label: str  # what the streamer reads on the dashboard
    template: str  # the default words
    amount: str = ""  # what {amount} counts, in the streamer's words; blank: no amount
    legacy_switch: str = ""  # its on/off is this overlay setting (kinds older than styles)
    singular: str = ""  # the default words for an amount of 1, where they differ


KINDS: tuple[AlertKind, ...] = (
    AlertKind("follow", "New follower", "{who} just followed!"),
    AlertKind("subscription", "New subscriber", "{who} subscribed ({tier})!"),
    AlertKind(
        "resubscription", "Resubscription", "{who} resubscribed for {amount} months!", "months"
    ),
    AlertKind(
        "gifted_subs",
        "Gifted subs",
        "{who} gifted {amount} subs",
        "subs gifted",
        "alert_gifts",
        "{who} gifted {amount} sub",
    ),
    AlertKind("raid", "Raid or host", "{who} is raiding with {amount} viewers!", "viewers"),
    AlertKind("cheer", "Cheer (Twitch bits)", "{who} cheered {amount} bits!", "bits"),
    AlertKind(
        "tip",
        "KICKs sent (Kick)",  # Kick's own spelling of its currency
        "{who} sent {amount} KICKs!",
        "KICKs",
        singular="{who} sent {amount} KICK!",
    ),
    AlertKind("vip", "VIP granted or extended", "{who} is now a VIP", "", "alert_vip"),
    AlertKind(
        "tickets_milestone",
        "Raffle ticket milestone",
        "{who} reached {amount} raffle tickets",
        "tickets",
        "alert_milestones",
    ),
)
BY_NAME = {kind.name: kind for kind in KINDS}


@dataclass(frozen=True)
class AlertStyle:
    kind: str
    enabled: bool
    template: str
    seconds: int
    image_id: str | None = None
    sound_id: str | None = None


@dataclass(frozen=True)
class Variation:
    threshold: int
    template: str = ""  # blank: the kind's own words
    image_id: str | None = None
    sound_id: str | None = None


@dataclass(frozen=True)
class AlertFields:
    """What a template may name. ``amount`` is None where the kind has none."""

    who: str
    amount: int | None = None
    tier: str = ""
    message: str = ""


@dataclass(frozen=True)
class AlertLook:
    """What the overlay shows for one alert: the kind's style with the amount's variation."""

    title: str
    image_id: str | None
    sound_id: str | None
    seconds: int


def default_style(kind: str, seconds: int = 6) -> AlertStyle:
    return AlertStyle(kind, True, BY_NAME[kind].template, seconds)


def check_alert_kind(name: str) -> AlertKind:
    found = BY_NAME.get(name)
    if found is None:
        raise OverlayRefused("There is no such kind of alert.", field="kind")
    return found


def parse_template(text: str) -> str:
    """The template typed, checked: only the named fields, braces in pairs (``{{`` for a brace)."""
    value = " ".join(text.split())
    if not value:
        raise OverlayRefused("Write the words the alert shows, like {who} just followed!")
    if len(value) > TEMPLATE_MAX:
        raise OverlayRefused(f"An alert's words are at most {TEMPLATE_MAX} characters.")
    named = ", ".join("{" + name + "}" for name in FIELDS)
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:
        raise OverlayRefused(
            f"A brace is missing its pair. Use {named}, or write {{{{ for a brace."
        ) from None
    for _text, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in FIELDS or spec or conversion:
            shown = field[:20] or "(empty)"
            raise OverlayRefused(
                f"{{{shown}}} is not something an alert can show. You can use {named}."
            )
    return value


def render(template: str, fields: AlertFields) -> str:
    """The template with its fields filled (a template saved before the check is shown as is
    where it no longer parses). What viewers chose (their name, their message) is cleaned
    first: no direction overrides, zero-width or control characters, on one line, a few
    combining marks per letter (:func:`few_marks`), a name cut at :data:`WHO_MAX`."""
    values = {
        "who": few_marks(clean_text(fields.who))[:WHO_MAX] or "Someone",
        "amount": "" if fields.amount is None else f"{fields.amount:,}",
        "tier": clean_text(fields.tier),
        "message": few_marks(clean_text(fields.message[: TEMPLATE_MAX * 4])),
    }
    # A field the platform left blank leaves no empty brackets: "({tier})" without a tier. Only
    # the template's brackets go: a viewer's own "()" stays.
    for name, value in values.items():
        if not value:
            template = template.replace(" ({" + name + "})", "").replace("({" + name + "})", "")
    try:
        said = template.format_map(values)
    except (KeyError, ValueError, IndexError, AttributeError):
        said = template
    return _within(" ".join(said.split()), TEMPLATE_MAX)


def _within(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: cut after a whole word with " …" where one
    ends past half the room, else cut with "…" (a cut word reads as a typo on stream)."""
    if len(text) <= limit:
        return text
    room = text[: limit - 1]
    space = room.rfind(" ")
    if space > limit // 2:
        return room[:space].rstrip() + " …"
    return room + "…"


def parse_threshold(text: str) -> int:
    value = text.strip().replace(",", "")
    if not value.isascii() or not value.isdecimal() or len(value) > 10:
        raise OverlayRefused("The amount a variation starts at is a whole number, like 10.")
    number = int(value)
    if not 1 <= number <= MAX_THRESHOLD:
        raise OverlayRefused(f"A variation starts at an amount from 1 to {MAX_THRESHOLD:,}.")
    return number


def parse_alert_seconds(text: str) -> int:
    value = text.strip()
    low, high = ALERT_SECONDS
    if not value.isascii() or not value.isdecimal() or len(value) > 4:
        raise OverlayRefused(
            f"How long the alert stays is a whole number of seconds, {low}-{high}."
        )
    seconds = int(value)
    if not low <= seconds <= high:
        raise OverlayRefused(f"An alert stays between {low} and {high} seconds.")
    return seconds


def chosen_variation(variations: Sequence[Variation], amount: int | None) -> Variation | None:
    """The variation with the highest threshold at or below ``amount`` (None: the kind's own)."""
    if amount is None:
        return None
    fitting = [v for v in variations if v.threshold <= amount]
    return max(fitting, key=lambda v: v.threshold, default=None)


def look(
    style: AlertStyle,
    variations: Sequence[Variation],
    fields: AlertFields,
    default_words: str | None = None,
) -> AlertLook:
    """``default_words`` stand in for the kind's default words where the streamer kept them (a
    VIP extended rather than granted)."""
    chosen = chosen_variation(variations, fields.amount)
    template = (chosen.template if chosen else "") or style.template
    kind = BY_NAME[style.kind]
    if default_words and template == kind.template:
        template = default_words
    if template == kind.template and fields.amount == 1 and kind.singular:
        template = kind.singular
    return AlertLook(
        render(template, fields),
        (chosen.image_id if chosen else None) or style.image_id,
        (chosen.sound_id if chosen else None) or style.sound_id,
        style.seconds,
    )
