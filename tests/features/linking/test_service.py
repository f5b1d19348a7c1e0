"""LinkingService on both backends: links, refusals and unlinks with their history, per-guild
settings and panels, and the signed start link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from core.events import Platform
from core.features.connections.kick.service import PURPOSE_VIEWER
from core.features.linking.service import (
    ALREADY_LINKED,
    DECLINED,
    LINKED,
    REFUSED,
    UNLINKED,
    LinkingService,
    LinkRefused,
    UnlinkRefused,
)
from core.security.links import LinkInvalid, verify_link_params
from tests.support.clock import Clock

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
GUILD_A, GUILD_B = 111, 222
ALICE, BOB, ADMIN = 1, 2, 3
SECRET = "service-test-secret"


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def linking(engine, clock) -> LinkingService:  # type: ignore[no-untyped-def]
    return LinkingService(engine, clock, link_secret=SECRET, public_base_url="https://bot.example/")


def link(linking: LinkingService, user: int, kick_id: str, name: str, guild: int = GUILD_A):  # type: ignore[no-untyped-def]
    return linking.link(
        guild_id=guild,
        discord_user_id=user,
        platform=Platform.KICK,
        platform_user_id=kick_id,
        username=name,
    )


def test_a_link_is_kept_with_its_history(linking: LinkingService) -> None:
    result = link(linking, ALICE, "501", "al")

    assert result.replaced_username is None
    stored = linking.link_of(ALICE)
    assert stored is not None
    assert (stored.platform_user_id, stored.username, stored.linked_at) == ("501", "al", T0)
    [entry] = linking.history(GUILD_A, ALICE)
    assert (entry.action, entry.platform_user_id, entry.username, entry.actor_id) == (
        LINKED, "501", "al", ALICE,
    )  # fmt: skip


def test_linking_another_account_replaces_the_first(linking: LinkingService) -> None:
    link(linking, ALICE, "501", "al")

    result = link(linking, ALICE, "502", "al_two")

    assert result.replaced_username == "al"
    stored = linking.link_of(ALICE)
    assert stored is not None
    assert stored.platform_user_id == "502"


def test_a_rename_on_kick_keeps_the_link(linking: LinkingService) -> None:
    link(linking, ALICE, "501", "al")

    result = link(linking, ALICE, "501", "al_renamed")

    assert result.replaced_username is None
    stored = linking.link_of(ALICE)
    assert stored is not None
    assert (stored.platform_user_id, stored.username) == ("501", "al_renamed")


def test_an_account_linked_to_someone_else_is_refused_and_the_refusal_kept(
    linking: LinkingService,
) -> None:
    link(linking, BOB, "501", "al")

    with pytest.raises(LinkRefused) as refused:
        link(linking, ALICE, "501", "al")

    assert refused.value.reason == ALREADY_LINKED
    assert "The Kick account al is already linked to another Discord user" in str(refused.value)
    assert linking.link_of(ALICE) is None
    holder = linking.link_of(BOB)
    assert holder is not None
    [entry] = linking.history(GUILD_A, ALICE)
    assert (entry.action, entry.reason, entry.platform_user_id) == (REFUSED, ALREADY_LINKED, "501")


def test_an_account_linked_in_another_server_is_refused_with_who_can_remove_it(
    linking: LinkingService,
) -> None:
    """An admin here cannot remove a link made in another server (``unlink`` refuses it), so
    the member is not sent to one: the Discord account that linked it can."""
    link(linking, BOB, "501", "al", guild=GUILD_B)

    with pytest.raises(LinkRefused) as refused:
        link(linking, ALICE, "501", "al", guild=GUILD_A)

    assert str(refused.value) == (
        "The Kick account al is already linked to another Discord user, in another server, "
        "so no admin here can unlink it. If it is yours, unlink it with !unlink from the "
        "Discord account that linked it, then link again."
    )
    with pytest.raises(UnlinkRefused):
        linking.unlink(GUILD_A, BOB, actor_id=ADMIN)


def test_an_account_linked_in_this_server_can_be_unlinked_by_its_admins(
    linking: LinkingService,
) -> None:
    link(linking, BOB, "501", "al")

    with pytest.raises(LinkRefused) as refused:
        link(linking, ALICE, "501", "al")

    assert str(refused.value) == (
        "The Kick account al is already linked to another Discord user. If it is yours, "
        "unlink it with !unlink from the Discord account that linked it, or ask a server "
        "admin to unlink it, then link again."
    )


def test_the_member_unlinks_everywhere_and_the_history_is_kept(
    linking: LinkingService,
) -> None:
    link(linking, ALICE, "501", "al", guild=GUILD_A)

    removed = linking.unlink(GUILD_B, ALICE, actor_id=ALICE)

    assert removed is not None
    assert removed.platform_user_id == "501"
    assert linking.link_of(ALICE) is None
    assert [e.action for e in linking.history(GUILD_A, ALICE)] == [LINKED]
    [entry] = linking.history(GUILD_B, ALICE)
    assert (entry.action, entry.actor_id, entry.username) == (UNLINKED, ALICE, "al")
    assert linking.unlink(GUILD_B, ALICE, actor_id=ALICE) is None
    # The account is free again for someone else.
    link(linking, BOB, "501", "al")


def test_a_refusal_before_kick_said_who_it_was_is_kept(linking: LinkingService) -> None:
    linking.record_refusal(GUILD_A, ALICE, DECLINED)

    [entry] = linking.history(GUILD_A, ALICE)
    assert (entry.action, entry.reason, entry.platform_user_id) == (REFUSED, DECLINED, None)
    assert linking.history(GUILD_B, ALICE) == []


def test_settings_belong_to_their_guild(linking: LinkingService) -> None:
    linking.set_log_channel(GUILD_A, 900)
    linking.set_linked_role(GUILD_A, 800)
    linking.set_linked_role(GUILD_B, 801)

    a, b = linking.settings(GUILD_A), linking.settings(GUILD_B)
    assert (a.log_channel_id, a.linked_role_id) == (900, 800)
    assert (b.log_channel_id, b.linked_role_id) == (None, 801)

    off = linking.set_log_channel(GUILD_A, None)
    assert (off.log_channel_id, off.linked_role_id) == (None, 800)


def test_panels_are_found_in_their_own_guild_only(linking: LinkingService) -> None:
    linking.add_panel(
        guild_id=GUILD_A, channel_id=10, message_id=99, kind="reaction", emoji="x", created_by=ADMIN
    )

    panel = linking.panel(GUILD_A, 99)
    assert panel is not None
    assert (panel.channel_id, panel.emoji, panel.created_at) == (10, "x", T0)
    assert linking.panel(GUILD_B, 99) is None
    linking.forget_panel(GUILD_A, 99)
    assert linking.panel(GUILD_A, 99) is None


def test_the_start_link_is_signed_for_this_member_and_guild_for_one_hour(
    linking: LinkingService, clock: Clock
) -> None:
    url = linking.start_link(GUILD_A, ALICE)

    assert url.startswith("https://bot.example/auth/kick?")
    params = dict(parse_qsl(urlsplit(url).query))
    claims = verify_link_params(SECRET, PURPOSE_VIEWER, params, clock())
    assert (claims.guild_id, claims.discord_user_id) == (GUILD_A, ALICE)
    with pytest.raises(LinkInvalid) as expired:
        verify_link_params(SECRET, PURPOSE_VIEWER, params, clock() + timedelta(hours=1))
    assert expired.value.reason == "expired"
    assert expired.value.claims == claims
    with pytest.raises(LinkInvalid):
        verify_link_params(SECRET, "kick-streamer", params, clock())


def test_an_admin_removes_only_a_link_made_in_their_own_server(linking: LinkingService) -> None:
    link(linking, ALICE, "501", "al", guild=GUILD_A)

    with pytest.raises(UnlinkRefused, match="in another server, so only they can remove it"):
        linking.unlink(GUILD_B, ALICE, actor_id=ADMIN)

    assert linking.link_of(ALICE) is not None
    assert linking.history(GUILD_B, ALICE) == []
    removed = linking.unlink(GUILD_A, ALICE, actor_id=ADMIN)
    assert removed is not None
    assert removed.linked_in_guild_id == GUILD_A
    assert linking.link_of(ALICE) is None


def test_relinking_in_another_server_moves_the_link_there(linking: LinkingService) -> None:
    link(linking, ALICE, "501", "al", guild=GUILD_A)
    link(linking, ALICE, "501", "al", guild=GUILD_B)

    with pytest.raises(UnlinkRefused):
        linking.unlink(GUILD_A, ALICE, actor_id=ADMIN)
    assert linking.unlink(GUILD_B, ALICE, actor_id=ADMIN) is not None


def test_a_linked_name_is_stored_without_zero_width_characters(linking: LinkingService) -> None:
    """A link kept "a\u200bl" while the viewer's watchtime and points were stored as "al"."""
    link(linking, ALICE, "501", "a\u200bl\ufeff")

    stored = linking.link_of(ALICE)
    assert stored is not None
    assert stored.username == "al"
    [entry] = linking.history(GUILD_A, ALICE)
    assert entry.username == "al"
