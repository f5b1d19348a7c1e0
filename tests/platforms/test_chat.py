"""Both platforms' chat senders split a message the same way (``core/platforms/chat.py``)."""

from __future__ import annotations

import pytest

from core.platforms.chat import OutgoingMessage, SplittingChatSender, split_message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param(" \n\t ", [], id="only-whitespace"),
        pytest.param("x" * 500, ["x" * 500], id="exactly-500"),
        pytest.param("a" * 250 + " " + "b" * 250, ["a" * 250, "b" * 250], id="501-two-words"),
        pytest.param("x" * 501, ["x" * 500, "x"], id="501-one-word"),
        pytest.param(
            "hi " + "y" * 1100 + " bye", ["hi", "y" * 500, "y" * 500, "y" * 100 + " bye"], id="long"
        ),
        pytest.param("line one\nline two\r\nthree", ["line one line two three"], id="newlines"),
        pytest.param("a\x00b\x1bc\x7f d\u200de", ["abc d\u200de"], id="control-characters"),
        pytest.param("  padded   words  ", ["padded words"], id="runs-of-spaces"),
    ],
)
def test_split_message(text: str, expected: list[str]) -> None:
    assert split_message(text, 500) == expected


def test_split_message_keeps_order_and_limit() -> None:
    text = " ".join(f"{i:04d}" * (i % 7 + 1) for i in range(300))

    parts = split_message(text, limit=40)

    assert all(0 < len(part) <= 40 for part in parts)
    assert " ".join(parts) == text


class RecordingSender(SplittingChatSender):
    platform = "Test"
    max_length = 10

    def __init__(self) -> None:
        self.queued: list[OutgoingMessage] = []
        self.posted: list[OutgoingMessage] = []

    def _queue(self, message: OutgoingMessage) -> None:
        self.queued.append(message)

    async def _deliver_now(self, message: OutgoingMessage) -> str | None:
        self.posted.append(message)
        return "stopped"


async def test_a_message_is_split_to_the_platform_length_for_one_channel() -> None:
    sender = RecordingSender()

    await sender.send(guild_id=1, broadcaster_user_id=42, text="hello there world")  # type: ignore[arg-type]
    stopped = await sender.deliver_now(
        guild_id=2, broadcaster_user_id="7", text="hi", reply_to_message_id="m1"
    )

    assert sender.queued == [OutgoingMessage(1, "42", ("hello", "there", "world"), None)]
    assert sender.posted == [OutgoingMessage(2, "7", ("hi",), "m1")]
    assert stopped == "stopped"


async def test_text_with_nothing_to_say_posts_nothing() -> None:
    sender = RecordingSender()

    await sender.send(guild_id=1, broadcaster_user_id="7", text=" \n ")
    stopped = await sender.deliver_now(guild_id=1, broadcaster_user_id="7", text="")

    assert (sender.queued, sender.posted, stopped) == ([], [], None)


@pytest.mark.parametrize("mark", ["!", "\uff01", "/"])
def test_a_part_after_the_first_never_reads_as_a_command(mark: str) -> None:
    # A viewer's text in a long reply (a slot call, a name) could otherwise put a command at
    # the start of the bot's next chat message, for another bot in the channel to obey.
    text = "added " + "x" * 10 + f" {mark}commands edit !discord scam.example"

    parts = split_message(text, limit=20)

    assert parts[0] == "added xxxxxxxxxx"
    assert parts[1] == f"…{mark}commands edit"
    assert all(len(part) <= 20 for part in parts)
    assert not any(part.startswith(("!", "\uff01", "/")) for part in parts[1:])


def test_a_long_word_cut_at_a_command_mark_is_guarded_too() -> None:
    parts = split_message("a" * 10 + "!ban" + "b" * 3, limit=10)

    assert parts == ["a" * 10, "…!banbbb"]


def test_the_first_part_is_the_reply_as_written() -> None:
    assert split_message("!join to enter the heist", 500) == ["!join to enter the heist"]
