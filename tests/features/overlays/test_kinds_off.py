"""Which kinds of alert are off, read in two statements for the live overlays, says what each
kind's own style says: its saved switch, the overlay setting of the kinds older than styles, or
on when never saved. Another guild's choices change nothing."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.features.overlays import repository, styles_repository
from core.features.overlays.alert_kinds import BY_NAME, default_style
from core.features.overlays.settings import OverlaySettings
from tests.features.overlays.conftest import GUILD_A, GUILD_B, NOW

SAVED = st.dictionaries(st.sampled_from(sorted(BY_NAME)), st.booleans())
SWITCHES = st.fixed_dictionaries(
    {name: st.booleans() for name in ("alert_vip", "alert_gifts", "alert_milestones")}
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(saved=SAVED, switches=SWITCHES, other_guilds=SAVED)
def test_the_kinds_off_are_those_whose_style_is_off(engine, saved, switches, other_guilds):
    with engine.begin() as conn:
        for guild_id, chosen in ((GUILD_A, saved), (GUILD_B, other_guilds)):
            conn.execute(
                styles_repository.overlay_alert_styles.delete().where(
                    styles_repository.overlay_alert_styles.c.guild_id == guild_id
                )
            )
            for kind, is_on in chosen.items():
                style = replace(default_style(kind), enabled=is_on)
                styles_repository.save_style(conn, guild_id, style, NOW)
        repository.save_settings(conn, GUILD_A, OverlaySettings(**switches), NOW)
        repository.save_settings(conn, GUILD_B, OverlaySettings(), NOW)

    with engine.connect() as conn:
        off = styles_repository.kinds_off(conn, GUILD_A)
        one_by_one = {
            kind for kind in BY_NAME if not styles_repository.get_style(conn, GUILD_A, kind).enabled
        }

    assert off == one_by_one
    legacy = {"vip": "alert_vip", "gifted_subs": "alert_gifts"}
    legacy["tickets_milestone"] = "alert_milestones"
    expected = {kind for kind, is_on in saved.items() if not is_on and kind not in legacy}
    expected |= {kind for kind, switch in legacy.items() if not switches[switch]}
    assert off == expected


def test_the_read_is_two_statements_whatever_the_kinds(engine):
    statements: list[str] = []

    def note(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        with engine.connect() as conn:
            styles_repository.kinds_off(conn, GUILD_A)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)

    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2
