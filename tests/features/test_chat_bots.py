"""Who in chat is a bot (core/features/chat_bots.py): a known login on its platform, whatever
its case or display name, or one of our own accounts by user id; nobody else."""

from __future__ import annotations

import pytest

from core.config import SettingsError, load_settings
from core.events import ChatMessageSent, Platform, Viewer
from core.features.chat_bots import ChatBots
from tests.support.events import chat_message


def twitch(login: str, name: str, user_id: str = "1") -> ChatMessageSent:
    return chat_message("hi", platform=Platform.TWITCH, viewer=Viewer(user_id, name), login=login)


def kick(name: str, user_id: str = "1") -> ChatMessageSent:
    return chat_message("hi", platform=Platform.KICK, viewer=Viewer(user_id, name))


def test_well_known_bots_by_login_on_each_platform():
    bots = ChatBots()
    assert bots.sent(twitch("nightbot", "Nightbot"))
    assert bots.sent(twitch("streamelements", "ストリームエレメンツ"))  # a display name of its own
    assert bots.sent(kick("BotRix"))
    assert bots.sent(kick("KickBot"))
    assert not bots.sent(twitch("alice", "Nightbot"))  # the login decides, not the name shown
    assert not bots.sent(twitch("kickbot", "kickbot"))  # a Kick bot's name, on Twitch
    assert not bots.sent(kick("alice"))


def test_our_own_account_by_user_id_on_its_platform():
    bots = ChatBots()
    bots.add_own_account(Platform.KICK, "8880001")
    assert bots.sent(kick("StreamKeeperBot", user_id="8880001"))
    assert not bots.sent(twitch("somebody", "somebody", user_id="8880001"))


def test_a_person_here_is_neither_a_bot_nor_another_channels_shared_chat():
    bots = ChatBots()
    assert bots.person_here(kick("alice"))
    assert not bots.person_here(kick("BotRix"))
    shared = chat_message(
        "hi", platform=Platform.TWITCH, broadcaster="1001", source_broadcaster_user_id="2002"
    )
    assert not bots.person_here(shared)


def test_chat_bots_setting_is_lower_case_logins_or_one_plain_line():
    assert load_settings({"CHAT_BOTS": " MyBot ,@Other_Bot"}, env_file=None).chat_bots == (
        "mybot",
        "other_bot",
    )
    assert load_settings({}, env_file=None).chat_bots == ()
    with pytest.raises(SettingsError) as raised:
        load_settings({"CHAT_BOTS": "my bot!"}, env_file=None)
    assert raised.value.problems == [
        "CHAT_BOTS must be a comma-separated list of at most 200 chat logins "
        "(letters, digits and _, at most 25 each), got 'my bot!'"
    ]


def test_more_logins_are_bots_on_every_platform_besides_the_known_ones():
    bots = ChatBots(extra_logins=("mybot",))
    assert bots.sent(kick("MyBot"))
    assert bots.sent(twitch("mybot", "MyBot"))
    assert bots.sent(twitch("nightbot", "Nightbot"))
