"""The linking page: the linked role and the link log channel, set as ``!linkrole`` and
``!linklogs`` do with ids checked against the guild's real roles and channels, and the guild's
link log (its own links and unlinks only), on a real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events import Platform
from core.features.directory.repository import Channel, Member, Role, Server
from core.features.directory.service import DirectoryService, Snapshot
from core.features.linking.service import LinkingService
from core.features.raffle.wagers.service import WagerService
from core.features.roles.ports import GuildRoles
from core.features.roles.service import RolesService
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.support.clock import Clock
from tests.web.dashboard.pages.conftest import (
    ADMIN_ID,
    OTHER_GUILD,
    assert_refused_here,
    pages_for,
)

GUILD = 111111111111111111
LINKED = 210000000000000001
ABOVE_BOT = 210000000000000002
LOGS = 310000000000000001


def _roles(guild_id: int) -> GuildRoles | None:
    return GuildRoles(True, frozenset({LINKED}), frozenset({GUILD, LINKED, ABOVE_BOT}))


VOICE = 310000000000000002
HIDDEN = 310000000000000003  # a text channel the bot cannot post in


def _channels(guild_id: int) -> frozenset[int] | None:
    return frozenset({LOGS, VOICE, HIDDEN}) if guild_id == GUILD else frozenset()


@pytest.fixture
def linking(engine):  # type: ignore[no-untyped-def]
    return LinkingService(engine, Clock(datetime(2026, 3, 1, tzinfo=UTC)))


@pytest.fixture
def directory(engine):  # type: ignore[no-untyped-def]
    return DirectoryService(engine, Clock(datetime(2026, 3, 1, tzinfo=UTC)))


@pytest.fixture
def pages(linking, directory, discord):  # type: ignore[no-untyped-def]
    return pages_for(
        discord,
        GUILD,
        linking=linking,
        directory=directory,
        guild_roles=_roles,
        guild_channel_ids=_channels,
    )


def test_linked_role_and_log_channel_set_here_are_the_services(pages, linking):
    form = {"linked_role": f"<@&{LINKED}>", "log_channel": str(LOGS)}
    answer = pages.post("linking", "settings", form)
    assert answer.status_code == 303
    settings = linking.settings(GUILD)
    assert (settings.linked_role_id, settings.log_channel_id) == (LINKED, LOGS)
    assert linking.settings(OTHER_GUILD).linked_role_id is None
    page = pages.client.get(answer.headers["Location"])
    assert f'value="{LINKED}"' in page.text
    assert 'for="linked_role"' in page.text
    assert (
        pages.post("linking", "settings", {"linked_role": "", "log_channel": ""}).status_code == 303
    )
    settings = linking.settings(GUILD)
    assert (settings.linked_role_id, settings.log_channel_id) == (None, None)


def test_the_shuffle_verified_role_cannot_be_made_the_linked_role(pages, linking, engine):
    """Unlinking a Shuffle account would take it from a linked member, and the other way round."""
    wagers = WagerService(
        engine,
        TokenCipher(TEST_FERNET_KEY),
        clock=Clock(datetime(2026, 3, 1, tzinfo=UTC)),
    )
    wagers.set_verified_role(GUILD, LINKED)
    answer = pages.post("linking", "settings", {"linked_role": str(LINKED)})
    assert_refused_here(answer, "That role is the Shuffle verified role")
    assert 'id="linked_role-error"' in answer.text
    assert linking.settings(GUILD).linked_role_id is None


def test_a_watchtime_role_cannot_be_made_the_linked_role(pages, linking, engine):
    """Role sync would take it from every linked member short of its watchtime."""
    RolesService(engine, Clock(datetime(2026, 3, 1, tzinfo=UTC))).add_tier(GUILD, LINKED, 600)
    answer = pages.post("linking", "settings", {"linked_role": str(LINKED)})
    assert_refused_here(answer, "That role is a watchtime role")
    assert 'id="linked_role-error"' in answer.text
    assert linking.settings(GUILD).linked_role_id is None


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"linked_role": "Members"}, "linked_role", "The linked role takes a Discord id"),
        ({"linked_role": str(GUILD)}, "linked_role", "@everyone can't be given"),
        ({"linked_role": str(ABOVE_BOT)}, "linked_role", "I can't give that role"),
        ({"linked_role": "210000000000000077"}, "linked_role", "no role with that id"),
        ({"log_channel": "310000000000000077"}, "log_channel", "That channel is not in this"),
        ({"log_channel": "#general"}, "log_channel", "The log channel takes a Discord id"),
    ],
)
def test_a_refused_setting_is_shown_by_its_field(pages, linking, form, field, message):
    answer = pages.post("linking", "settings", form)
    assert_refused_here(answer, message)
    assert f'id="{field}-error"' in answer.text
    settings = linking.settings(GUILD)
    assert (settings.linked_role_id, settings.log_channel_id) == (None, None)


def test_a_setting_saved_beside_a_refused_one_is_said_to_be_saved(pages, linking):
    answer = pages.post("linking", "settings", {"linked_role": "Members", "log_channel": str(LOGS)})
    assert_refused_here(answer, "The linked role takes a Discord id")
    assert "Saved the log channel." in answer.text
    assert linking.settings(GUILD).log_channel_id == LOGS
    assert "Saved the log channel." not in pages.get("linking").text  # said once


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (VOICE, "I can't post in #Stage; pick a text channel or thread I can post in."),
        (
            HIDDEN,
            "I can't post in #mods-only: give me Send Messages and Embed Links there (my posts "
            "are embeds), or pick another channel.",
        ),
    ],
)
def test_a_channel_the_picker_leaves_out_is_refused_when_posted_by_hand(
    pages, linking, directory, channel, message
):
    channels = (
        Channel(LOGS, "link-log", "text", 0, can_post=True),
        Channel(VOICE, "Stage", "voice", 1, can_post=True),
        Channel(HIDDEN, "mods-only", "text", 2, can_post=False),
    )
    directory.record_server(Snapshot(Server(GUILD, "Stream Server"), (), channels))
    page = pages.get("linking")
    assert "#link-log" in page.text
    assert "#Stage" not in page.text  # not offered
    assert "#mods-only" not in page.text

    answer = pages.post("linking", "settings", {"log_channel": str(channel)})

    assert_refused_here(answer, message)
    assert linking.settings(GUILD).log_channel_id is None
    assert pages.post("linking", "settings", {"log_channel": str(LOGS)}).status_code == 303
    assert linking.settings(GUILD).log_channel_id == LOGS


def test_ids_are_never_trusted_when_the_guild_cannot_be_seen(discord, linking):
    pages = pages_for(discord, GUILD, linking=linking)
    answer = pages.post(
        "linking", "settings", {"linked_role": str(LINKED), "log_channel": str(LOGS)}
    )
    assert_refused_here(answer, "I cannot check that role now")
    assert "I cannot check that channel now" in answer.text
    assert linking.settings(GUILD).linked_role_id is None


def test_the_link_log_shows_this_guilds_links_and_unlinks(pages, linking):
    linking.link(
        guild_id=GUILD, discord_user_id=500, platform=Platform.KICK, platform_user_id="k1",
        username="kickfan",
    )  # fmt: skip
    linking.link(
        guild_id=OTHER_GUILD, discord_user_id=501, platform=Platform.KICK,
        platform_user_id="k2", username="elsewhere",
    )  # fmt: skip
    linking.unlink(GUILD, 500, actor_id=ADMIN_ID)
    page = pages.get("linking")
    assert page.status_code == 200
    log = page.text[page.text.index('id="link-log"') :]
    assert "kickfan" in log
    unlinked, linked = '<td data-label="What">unlinked</td>', '<td data-label="What">linked</td>'
    assert unlinked in log
    assert linked in log
    assert log.index(unlinked) < log.index(linked)  # newest first
    assert f">{ADMIN_ID}</code>)" in log  # a member the bot has not seen: by id
    assert "elsewhere" not in page.text


def test_the_link_log_says_why_an_attempt_failed_in_words(pages, linking):
    for reason, platform in (
        ("already_linked", Platform.TWITCH),
        ("link_expired", Platform.KICK),
        ("declined", Platform.KICK),
        ("kick_error", Platform.KICK),
        ("some_future_reason", Platform.TWITCH),
    ):
        linking.record_refusal(GUILD, 500, reason, platform)
    log = pages.get("linking").text
    log = log[log.index('id="link-log"') :]
    for words in (
        "that Twitch account is linked to another member",
        "the link had expired",
        "they declined on Kick",
        "Kick did not finish the sign-in",
        "some_future_reason",  # one this version has no words for, as stored
    ):
        assert f'<td data-label="Detail">{words}</td>' in log
    assert '<td data-label="Account">Twitch</td>' in log
    assert "already_linked" not in log


def test_the_link_log_names_the_members_the_bot_has_seen(pages, linking, directory):
    linking.link(
        guild_id=GUILD, discord_user_id=500, platform=Platform.KICK, platform_user_id="k1",
        username="kickfan",
    )  # fmt: skip
    linking.unlink(GUILD, 500, actor_id=ADMIN_ID)
    directory.record_members(GUILD, [Member(500, "Kick Fan 🎮"), Member(ADMIN_ID, "Bea <mod>")])
    directory.record_members(OTHER_GUILD, [Member(501, "Not here")])
    log = pages.get("linking").text
    log = log[log.index('id="link-log"') :]
    assert '<span class="member">Kick Fan 🎮</span>' in log
    assert '(by <span class="member">Bea &lt;mod&gt;</span>)' in log  # escaped
    assert ">500</code>" not in log
    assert "Not here" not in log


def test_writes_need_the_csrf_token_and_a_guild_the_user_manages(pages, linking):
    form = {"linked_role": str(LINKED)}
    assert pages.post("linking", "settings", form, csrf=False).status_code == 403
    token = pages.csrf("linking")
    other = pages.client.post(
        pages.url("linking", "settings", OTHER_GUILD), data={**form, "csrf_token": token}
    )
    assert other.status_code == 403
    assert linking.settings(GUILD).linked_role_id is None
    assert linking.settings(OTHER_GUILD).linked_role_id is None
    assert pages.get("linking", guild_id=OTHER_GUILD).status_code == 403


def test_the_link_log_shows_members_pictures_where_discord_has_one(pages, linking, directory):
    """Each kind of avatar the bot stores is Discord's address for it; a value stored before
    the kind was (a bare key) or not a key at all shows no picture, never a broken address."""
    for user_id in (500, 501, 502, 503):
        linking.link(
            guild_id=GUILD, discord_user_id=user_id, platform=Platform.KICK,
            platform_user_id=f"k{user_id}", username=f"fan{user_id}",
        )  # fmt: skip
    directory.record_members(
        GUILD,
        [
            Member(500, "In-server picture", "g:a_0123abcd"),
            Member(501, "Account picture", "u:0123abcd"),
            Member(502, "Default picture", "d:3"),
            Member(503, "Old row", "0123abcd"),
            Member(ADMIN_ID, "Odd value", "u:../../x"),
        ],
    )
    log = pages.get("linking").text
    log = log[log.index('id="link-log"') :]
    cdn = "https://cdn.discordapp.com"
    assert f'src="{cdn}/guilds/{GUILD}/users/500/avatars/a_0123abcd.png?size=32"' in log
    assert f'src="{cdn}/avatars/501/0123abcd.png?size=32"' in log
    assert f'src="{cdn}/embed/avatars/3.png"' in log
    assert log.count('<img class="avatar"') == 3  # not for the old row nor the odd value
    assert 'alt=""' in log  # the name beside it says who it is


def test_a_linked_role_the_bot_can_no_longer_give_is_shown_by_its_name(pages, linking, directory):
    """The role was set while the bot could give it; then it was moved above the bot's. The
    picker offers only roles the bot can give, so the page showed the kept role as its raw id
    "(not found in the server)", though the role is there and the bot knows its name."""
    linking.set_linked_role(GUILD, ABOVE_BOT)
    roles = (
        Role(LINKED, "Linked", 2, assignable=True),
        Role(ABOVE_BOT, "Moderators", 5, assignable=False),
    )
    directory.record_server(Snapshot(Server(GUILD, "Stream Server"), roles, ()))

    page = pages.get("linking")

    assert page.status_code == 200
    shown = f'<option value="{ABOVE_BOT}" selected>@Moderators (I can&#39;t give it now)'
    assert shown in page.text
    assert "not found in the server" not in page.text
    assert pages.post("linking", "settings", {"linked_role": str(ABOVE_BOT)}).status_code == 303
    assert linking.settings(GUILD).linked_role_id == ABOVE_BOT  # kept through a save
