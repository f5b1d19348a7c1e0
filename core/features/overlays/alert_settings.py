"""What the dashboard changes about alerts: each kind's style and variations, and the pictures
and sounds they play. Every refusal is :class:`OverlayRefused` naming the field at fault, and
nothing is saved then."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.events import utc
from core.features.live.changes import touch
from core.features.overlays import repository, styles_repository
from core.features.overlays.alert_kinds import (
    BY_NAME,
    KINDS,
    MAX_VARIATIONS,
    AlertStyle,
    Variation,
    check_alert_kind,
    parse_alert_seconds,
    parse_template,
    parse_threshold,
)
from core.features.overlays.media import MAX_FILES, check_upload, clean_name
from core.features.overlays.settings import OverlayRefused
from core.features.overlays.styles_repository import MediaFile, MediaInfo


@dataclass(frozen=True)
class KindSettings:
    """One kind of alert as the dashboard shows it."""

    kind: str
    label: str
    amount: str
    style: AlertStyle
    variations: list[Variation]


def _refused(field: str, refusal: OverlayRefused) -> OverlayRefused:
    return OverlayRefused(str(refusal), field=field)


class AlertSettings:
    def __init__(self, engine: Engine, clock: Callable[[], datetime], media_max_bytes: int) -> None:
        self.engine = engine
        self.clock = clock
        self.media_max_bytes = media_max_bytes

    def kinds(self, guild_id: int) -> list[KindSettings]:
        with self.engine.connect() as conn:
            return [
                KindSettings(
                    kind.name,
                    kind.label,
                    kind.amount,
                    styles_repository.get_style(conn, guild_id, kind.name),
                    styles_repository.variations(conn, guild_id, kind.name),
                )
                for kind in KINDS
            ]

    def _media_choice(
        self, conn: Connection, guild_id: int, form: Mapping[str, str], name: str, what: str
    ) -> str | None:
        chosen = str(form.get(name, ""))[:40]
        if not chosen:
            return None
        if styles_repository.media_kinds(conn, guild_id).get(chosen) != what:
            raise OverlayRefused(f"Choose one of your uploaded {what}s, or none.", field=name)
        return chosen

    def save_style(self, guild_id: int, kind: str, form: Mapping[str, str]) -> AlertStyle:
        """Save a kind's style from the form: ``enabled`` ("on" or absent), ``template``,
        ``seconds``, ``image_id`` and ``sound_id`` (blank: none)."""
        check_alert_kind(kind)
        try:
            template = parse_template(str(form.get("template", ""))[:1000])
        except OverlayRefused as refusal:
            raise _refused("template", refusal) from None
        try:
            seconds = parse_alert_seconds(str(form.get("seconds", ""))[:20])
        except OverlayRefused as refusal:
            raise _refused("seconds", refusal) from None
        enabled = form.get("enabled") == "on"
        now = utc(self.clock())
        with self.engine.begin() as conn:
            style = AlertStyle(
                kind,
                enabled,
                template,
                seconds,
                self._media_choice(conn, guild_id, form, "image_id", "image"),
                self._media_choice(conn, guild_id, form, "sound_id", "sound"),
            )
            styles_repository.save_style(conn, guild_id, style, now)
            switch = BY_NAME[kind].legacy_switch
            if switch:  # the older kinds keep their on/off in the overlay settings
                settings = repository.get_settings(conn, guild_id)
                changed = replace(settings, **{switch: enabled})
                repository.save_settings(conn, guild_id, changed, now)
            touch(conn, guild_id, "alerts")  # open overlays drop a kind turned off
        return style

    def save_variation(self, guild_id: int, kind: str, form: Mapping[str, str]) -> Variation:
        """Add (or replace, by its threshold) a variation: ``threshold``, ``template`` (blank:
        the kind's words), ``image_id``, ``sound_id``."""
        found = check_alert_kind(kind)
        if not found.amount:
            raise OverlayRefused("This kind of alert has no amount to vary by.", field="threshold")
        try:
            threshold = parse_threshold(str(form.get("threshold", ""))[:20])
        except OverlayRefused as refusal:
            raise _refused("threshold", refusal) from None
        typed = " ".join(str(form.get("template", ""))[:1000].split())
        try:
            template = parse_template(typed) if typed else ""
        except OverlayRefused as refusal:
            raise _refused("template", refusal) from None
        with self.engine.begin() as conn:
            variation = Variation(
                threshold,
                template,
                self._media_choice(conn, guild_id, form, "image_id", "image"),
                self._media_choice(conn, guild_id, form, "sound_id", "sound"),
            )
            if not (variation.template or variation.image_id or variation.sound_id):
                raise OverlayRefused(
                    "A variation changes the words, the picture or the sound: choose at least one.",
                    field="template",
                )
            known = styles_repository.variations(conn, guild_id, kind)
            if len(known) >= MAX_VARIATIONS and all(v.threshold != threshold for v in known):
                raise OverlayRefused(
                    f"At most {MAX_VARIATIONS} variations per kind of alert.", field="threshold"
                )
            styles_repository.save_variation(conn, guild_id, kind, variation)
        return variation

    def delete_variation(self, guild_id: int, kind: str, threshold_text: str) -> bool:
        check_alert_kind(kind)
        threshold = parse_threshold(threshold_text[:20])
        with self.engine.begin() as conn:
            return styles_repository.delete_variation(conn, guild_id, kind, threshold)

    # --- pictures and sounds -------------------------------------------------------------

    def upload(self, guild_id: int, name: str, data: bytes) -> MediaInfo:
        """Keep an uploaded picture or sound (checked by its bytes and the size cap)."""
        found = check_upload(data, self.media_max_bytes)
        info = MediaInfo(
            secrets.token_hex(16),
            found.what,
            found.content_type,
            clean_name(name),
            len(data),
            utc(self.clock()),
        )
        with self.engine.begin() as conn:
            styles_repository.lock_media(conn, guild_id)  # two uploads at once: one at a time
            if len(styles_repository.media_kinds(conn, guild_id)) >= MAX_FILES:
                raise OverlayRefused(
                    f"This server keeps at most {MAX_FILES} files: delete one first.", field="file"
                )
            styles_repository.add_media(conn, guild_id, info, data)
        return info

    def media(self, guild_id: int) -> list[MediaInfo]:
        with self.engine.connect() as conn:
            return styles_repository.list_media(conn, guild_id)

    def media_file(self, guild_id: int, media_id: str) -> MediaFile | None:
        """The guild's own file (None for another guild's or an unknown id)."""
        if not (len(media_id) == 32 and all(ch in "0123456789abcdef" for ch in media_id)):
            return None
        with self.engine.connect() as conn:
            return styles_repository.media_file(conn, guild_id, media_id)

    def delete_media(self, guild_id: int, media_id: str) -> bool:
        with self.engine.begin() as conn:
            return styles_repository.delete_media(conn, guild_id, media_id[:40])
