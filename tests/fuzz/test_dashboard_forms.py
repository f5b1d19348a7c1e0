"""Fuzz: the fields a dashboard page reads from a posted form
(core/web/dashboard/pages/_forms.py: whole numbers, counts, Discord ids, channel fields, a
form's one-time reference, and refusals put in the page's words).

Property: whatever is posted (any text, however long or odd: other scripts' digits, fullwidth
digits, ``1e9999``, ``nan``, ``-0``, ``+1``, ``1_000``, NUL; a field missing or sent several
times) each reader either returns a value within its bounds or raises :class:`FormRefused`, which
the page shows next to the field with a 400, in a short message that does not echo what was
typed. Nothing else escapes to become a 500. Examples pin that a good value is read exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder

from core.features.directory.repository import Channel
from core.features.typed_numbers import BIGINT_MAX
from core.web.dashboard.pages import _forms
from core.web.dashboard.pages._forms import (
    CANNOT_CHECK,
    FormRefused,
    checked_channel,
    count_or_none,
    in_words,
    member_refusal,
    new_reference,
    reference,
    role_refusal,
    snowflake,
    whole_number,
)
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY

MESSAGE_MAX = 300  # a refusal is a sentence next to a field, never the posted text back

ODD = [
    "٣",
    "\u0663\u0664",
    "²",
    "\uff11\uff12",
    "1e9999",
    "-0",
    "-1",
    "+1",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1_000",
    "1,000",
    "1,5",
    "12,3456",
    "0x10",
    "1.0",
    " 42 ",
    "\t7\n",
    "4\x002",
    "\x00",
    "42\n",
    "\u00a042\u2028",
    "<@&123456789012345678>",
    "<#123456789012345678>",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "123456789012345678",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999",
    "000000000000000000001",
]
_no_surrogates = st.characters(exclude_categories=("Cs",))
_long = st.integers(min_value=1, max_value=10_000)
typed_digits = st.one_of(
    st.from_regex(r"[0-9]{1,25}", fullmatch=True),
    st.integers(min_value=0, max_value=2**70).map(str),
    st.integers(min_value=0, max_value=2**70).map(lambda n: f"{n:,}"),
    st.integers(min_value=0, max_value=2**70).map(lambda n: f"{n:_}"),
)


def padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``values`` with the whitespace a browser or a paste leaves around them."""
    spaces = st.sampled_from(["", " ", "\t", "\n", "\u00a0", "\u3000"])
    return st.tuples(spaces, values, spaces).map("".join)


# What a browser (or someone posting by hand) can put in one field.
form_text = st.one_of(
    st.text(_no_surrogates, max_size=80),
    st.text(_no_surrogates, max_size=2_000),
    typed_digits,
    st.sampled_from(ODD),
    st.sampled_from(
        [v for v in NASTY if isinstance(v, str) and not re.search("[\ud800-\udfff]", v)]
    ),
    _long.map(lambda n: "9" * n),
    _long.map(lambda n: "0" * n + "42"),
    _long.map(lambda n: "0" * n),
    _long.map(lambda n: ",".join(["000"] * (n // 4 + 1))),
    st.tuples(st.sampled_from([*ODD, "x", "\x00", " "]), _long).map(lambda p: p[0] * p[1]),
    st.tuples(
        st.sampled_from(["", "<#", "<@&", "<@", "<"]), typed_digits, st.sampled_from(["", ">"])
    ).map("".join),
)


@st.composite
def posted(draw: st.DrawFn, name: str, good: st.SearchStrategy[str] | None = None) -> str | None:
    """What ``request.form.get(name)`` hands a page: None when the field is missing, the first
    value when it is sent several times; other fields (and near-misses of its name) around it.
    ``good``: values the field can take, mixed in so that reading them is exercised too."""
    values = [
        draw(good) if good is not None and draw(st.booleans()) else draw(form_text)
        for _ in range(draw(st.integers(0, 3)))
    ]
    others = draw(
        st.lists(
            st.tuples(st.sampled_from(["other", name.upper(), f"{name} ", f"{name}[]"]), form_text),
            max_size=2,
        )
    )
    named = [(name, value) for value in values]
    pairs = others + named if draw(st.booleans()) else named + others
    # Parsed as Flask parses a page's request.form (werkzeug's Request; Flask stays in web/).
    got = EnvironBuilder(method="POST", data=MultiDict(pairs)).get_request().form.get(name)
    assert got == (values[0] if values else None)
    return got


def _refused_briefly(refused: FormRefused, text: str | None, starting: str = "") -> None:
    """The refusal is a short sentence (``starting`` so), not what was typed sent back."""
    message = str(refused)
    assert 0 < len(message) <= MESSAGE_MAX
    assert message.startswith(starting)
    if text is not None and len(text) > MESSAGE_MAX:
        assert text not in message


GUILD = 111_111_111_111_111_111
POSTABLE = 222_222_222_222_222_222
VOICE = 333_333_333_333_333_333
ROLE = 444_444_444_444_444_444
BOTS_ROLE = 555_555_555_555_555_555
MEMBER = 666_666_666_666_666_666


def typed_ids(ids: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    """``ids`` typed bare or as a mention, as Copy ID or a message gives them."""
    mentions = st.tuples(st.sampled_from(["", "<#", "<@&", "<@", "0"]), st.sampled_from(["", ">"]))
    return padded(st.tuples(mentions, ids).map(lambda p: f"{p[0][0]}{p[1]}{p[0][1]}"))


server_ids = st.sampled_from([GUILD, POSTABLE, VOICE, ROLE, BOTS_ROLE, MEMBER])
any_ids = typed_ids(st.one_of(server_ids, st.integers(1, 2**64), st.just(BIGINT_MAX)))


references = st.one_of(
    st.builds(new_reference), padded(st.from_regex(r"[0-9a-fA-F]{31,33}", fullmatch=True))
)


# --- whole_number ------------------------------------------------------------------------------

ranges = st.one_of(
    st.sampled_from([(1, 10_000), (1, 100), (1, BIGINT_MAX), (0, BIGINT_MAX), (0, 0), (5, 1)]),
    st.tuples(st.integers(0, BIGINT_MAX), st.integers(0, BIGINT_MAX)),
)


@given(posted("amount", padded(typed_digits)), ranges)
def test_a_whole_number_is_in_the_range_asked_or_refused_in_a_sentence(
    text: str | None, bounds: tuple[int, int]
) -> None:
    low, high = bounds
    try:
        number = whole_number(text, "Tickets", low, high)
    except FormRefused as refused:
        # the range, or (a comma that reads two ways, "1,5") how to type it
        two_ways = str(refused).startswith("Tickets: ")
        words = f"Tickets takes a whole number from {low:,} to {high:,}."
        _refused_briefly(refused, text, "Tickets: " if two_ways else words)
        if two_ways:
            _says_how_to_type_it(refused)
        record("dashboard-forms-whole-number", "refused")
        return
    assert type(number) is int
    assert low <= number <= high
    assert text is not None
    # as the commands read it: thousands grouped with commas or underscores ("1,500", "1_500")
    digits = text.strip().replace(",", "").replace("_", "")
    assert digits.lstrip("0") == (str(number) if number else "")
    record("dashboard-forms-whole-number", "number")


def _says_how_to_type_it(refused: FormRefused) -> None:
    assert "can be read two ways: type it without commas, like 1500" in str(refused)


def test_a_whole_number_is_read_exactly():
    assert whole_number("42", "Tickets", 1, 100) == 42
    assert whole_number(" 007\n", "Tickets", 1, 100) == 7
    assert whole_number("0" * 10_000 + "42", "Tickets", 1, 100) == 42
    assert whole_number("9223372036854775807", "Draw", 1, BIGINT_MAX) == BIGINT_MAX
    assert whole_number("1", "Tickets", 1, 1) == 1


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "0",
        "101",
        "-0",
        "+1",
        "1e9999",
        "nan",
        "inf",
        "1_000",
        "٣",
        "²",
        "\uff11",
        "4\x002",
        "9" * 10_000,
    ],
)
def test_a_whole_number_out_of_range_or_not_plain_digits_is_refused(text):
    with pytest.raises(FormRefused, match=r"^Tickets takes a whole number from 1 to 100\.$"):
        whole_number(text, "Tickets", 1, 100)


# --- count_or_none -----------------------------------------------------------------------------


@given(posted("cooldown", padded(typed_digits)), st.sampled_from([7, 9, 10, 1]))
def test_a_count_is_a_plain_number_of_at_most_its_digits_or_none(
    text: str | None, digits: int
) -> None:
    number = count_or_none(text, digits=digits)
    if number is None:
        record("dashboard-forms-count", "none")
        return
    assert type(number) is int
    assert 0 <= number < 10**digits
    assert text is not None
    plain = text.strip().replace(",", "").replace("_", "").lstrip("0")
    assert plain == (str(number) if number else "")
    record("dashboard-forms-count", "number")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        ("1,000", 1000),
        ("1_000", 1000),
        ("0", 0),
        ("0042", 42),
        ("9999999999", 9_999_999_999),
        ("12,345,678", 12_345_678),
    ],
)
def test_a_count_is_read_exactly(text, expected):
    assert count_or_none(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        " ",
        "-0",
        "-1",
        "+1",
        "1e9999",
        "nan",
        "inf",
        "1.0",
        "1,5",
        "12,3456",
        "1,000_000",
        "٣",
        "²",
        "\uff11\uff12",
        "4\x002",
        "99999999999",
        "9" * 10_000,
    ],
)
def test_a_count_that_is_not_plain_digits_or_is_too_long_is_none(text):
    assert count_or_none(text) is None


def test_a_count_behind_thousands_of_zeros_is_read_not_a_crash():
    # int() refuses more than 4,300 digits, leading zeros included: this was a 500.
    assert count_or_none("0" * 5_000 + "1") == 1
    assert count_or_none(",".join(["000"] * 2_000)) == 0
    assert count_or_none("0" * 5_000 + "9" * 11) is None  # too long, zeros or not
    assert count_or_none("1234567", digits=7) == 1_234_567
    assert count_or_none("12345678", digits=7) is None


# --- snowflake ---------------------------------------------------------------------------------


@given(posted("role_id", any_ids))
def test_a_typed_discord_id_fits_the_database_or_is_refused_in_a_sentence(
    text: str | None,
) -> None:
    try:
        found = snowflake(text, "Role")
    except FormRefused as refused:
        _refused_briefly(refused, text, "Role takes a Discord id")
        record("dashboard-forms-snowflake", "refused")
        return
    assert type(found) is int
    assert 1 <= found <= BIGINT_MAX
    assert text is not None
    assert str(found) in text
    record("dashboard-forms-snowflake", "id")


@pytest.mark.parametrize(
    "text",
    [
        "123456789012345678",
        " 123456789012345678\n",
        "<@&123456789012345678>",
        "<#123456789012345678>",
        "<@123456789012345678>",
        "<@!123456789012345678>",
    ],
)
def test_a_discord_id_is_read_bare_or_as_a_mention(text):
    assert snowflake(text, "Role") == 123_456_789_012_345_678


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "12345",
        "1234567890123456",  # 16 digits: no Discord id is that short
        "000000000000000000001",  # an id of 1 behind zeros
        "123456789012345678>",
        "<@&123456789012345678",
        "<@#123456789012345678>",
        "9223372036854775808",
        "99999999999999999999",
        "1e9999",
        "nan",
        "-0",
        "\uff11" * 18,
        "\u0663" * 18,
        "1234567890123456_78",
        "123456789012345678\x00",
        "9" * 10_000,
    ],
)
def test_a_discord_id_that_is_not_one_is_refused(text):
    with pytest.raises(FormRefused, match=r"^Role takes a Discord id"):
        snowflake(text, "Role")


# --- reference, new_reference ------------------------------------------------------------------


@given(posted("reference", references))
def test_a_forms_reference_is_thirty_two_hex_digits_or_refused(text: str | None) -> None:
    try:
        ref = reference(text)
    except FormRefused as refused:
        _refused_briefly(refused, text)
        record("dashboard-forms-reference", "refused")
        return
    assert re.fullmatch("[0-9a-f]{32}", ref)
    assert text is not None
    assert ref == text.strip()
    record("dashboard-forms-reference", "reference")


def test_a_new_reference_is_read_back_exactly_and_is_new_each_time():
    made = new_reference()
    assert reference(made) == made
    assert reference(f" {made}\n") == made
    assert new_reference() != made
    for wrong in (None, "", made.upper(), made[:-1], made + "0", made[:-1] + "g", "٣" * 32):
        with pytest.raises(FormRefused, match="reload the page"):
            reference(wrong)


# --- checked_channel, role_refusal, member_refusal (the typed id checked against the server) ---


@dataclass
class _Directory:
    channel_list: list[Channel] = field(
        default_factory=lambda: [
            Channel(POSTABLE, "general", "text", 0, can_post=True),
            Channel(VOICE, "lounge", "voice", 1),
        ]
    )

    def channels(self, guild_id: int) -> list[Channel]:
        return self.channel_list if guild_id == GUILD else []

    def member_names(self, guild_id: int, user_ids: list[int]) -> dict[int, str]:
        return {u: "carol" for u in user_ids if guild_id == GUILD and u == MEMBER}


@contextmanager
def _server(known: bool) -> Iterator[None]:
    """The dashboard's config as the pages see it: the bot has described the guild (``known``)
    or has not (nothing can be checked)."""
    roles = SimpleNamespace(existing_role_ids={ROLE, BOTS_ROLE}, assignable_role_ids={ROLE})
    fake = SimpleNamespace(
        directory=_Directory() if known else None,
        guild_channel_ids=lambda g: frozenset({POSTABLE, VOICE}) if known and g == GUILD else None,
        guild_roles=lambda g: roles if known and g == GUILD else None,
    )
    with mock.patch.object(_forms, "config", return_value=fake):
        yield


@given(posted("channel", typed_ids(st.sampled_from([POSTABLE, VOICE]))), st.booleans())
def test_a_channel_field_is_empty_a_postable_channel_here_or_refused(
    text: str | None, known: bool
) -> None:
    with _server(known):
        try:
            channel = checked_channel(GUILD, text, "The log channel")
        except FormRefused as refused:
            _refused_briefly(refused, text)
            record("dashboard-forms-channel", "refused")
            return
    if channel is None:
        assert (text or "").strip() == ""
        record("dashboard-forms-channel", "empty")
        return
    assert known
    assert channel == POSTABLE
    record("dashboard-forms-channel", "channel")


def test_a_channel_field_reads_a_channel_of_the_server_and_refuses_others():
    with _server(known=True):
        assert checked_channel(GUILD, f"<#{POSTABLE}>", "The log channel") == POSTABLE
        assert checked_channel(GUILD, f" {POSTABLE} ", "The log channel") == POSTABLE
        assert checked_channel(GUILD, None, "The log channel") is None
        assert checked_channel(GUILD, " \n", "The log channel") is None
        with pytest.raises(FormRefused, match="I can't post in #lounge"):
            checked_channel(GUILD, str(VOICE), "The log channel")
        with pytest.raises(FormRefused, match="not in this server"):
            checked_channel(GUILD, "123456789012345678", "The log channel")
        with pytest.raises(FormRefused, match=r"^The log channel takes a Discord id"):
            checked_channel(GUILD, "general", "The log channel")
    with _server(known=False), pytest.raises(FormRefused) as refused:
        checked_channel(GUILD, str(POSTABLE), "The log channel")
    assert str(refused.value) == CANNOT_CHECK.format(what="channel")


@given(posted("role_id", typed_ids(server_ids)), st.booleans())
def test_a_typed_role_or_member_is_usable_or_refused_in_a_sentence(
    text: str | None, known: bool
) -> None:
    with _server(known):
        try:
            typed_id = snowflake(text, "Role")
        except FormRefused:
            record("dashboard-forms-role-member", "not an id")
            return
        role_problem = role_refusal(GUILD, typed_id)
        member_problem = member_refusal(GUILD, typed_id)
    assert (role_problem is None) == (known and typed_id == ROLE)
    assert (member_problem is None) == (known and typed_id == MEMBER)
    for problem in (role_problem, member_problem):
        assert problem is None or 0 < len(problem) <= MESSAGE_MAX
    record("dashboard-forms-role-member", "checked")


def test_a_role_or_member_is_checked_against_the_server():
    with _server(known=True):
        assert role_refusal(GUILD, ROLE) is None
        assert "no role with that id" in (role_refusal(GUILD, MEMBER) or "")
        assert "I can't give that role" in (role_refusal(GUILD, BOTS_ROLE) or "")
        assert "@everyone" in (role_refusal(GUILD, GUILD) or "")
        assert member_refusal(GUILD, MEMBER) is None
        assert "no member with that id" in (member_refusal(GUILD, ROLE) or "")
    with _server(known=False):
        assert role_refusal(GUILD, ROLE) == CANNOT_CHECK.format(what="role")
        assert member_refusal(GUILD, MEMBER) == CANNOT_CHECK.format(what="member")


# --- in_words ----------------------------------------------------------------------------------

NAMES = {"low_chance": "Low chance (%)", "watch_hour": "Tickets per hour", "channel": "Channel"}
labels = st.one_of(st.text(_no_surrogates, max_size=40), st.sampled_from(["\\", "\\1", "\\g<0>"]))


@given(st.one_of(form_text, st.sampled_from(list(NAMES)).map(lambda n: f"Set {n} lower.")))
def test_a_refusal_in_the_pages_words_changes_only_the_setting_names(message: str) -> None:
    said = in_words(message, NAMES)
    assert isinstance(said, str)
    if not any(name in message for name in NAMES if "_" in name):
        assert said == message
    record("dashboard-forms-in-words", "said")


@given(
    labels, st.sampled_from(["", "The ", "(", "x "]), st.sampled_from(["", " is too high.", "."])
)
def test_a_setting_name_is_replaced_by_its_label_literally(
    label: str, before: str, after: str
) -> None:
    assert (
        in_words(f"{before}low_chance{after}", {"low_chance": label}) == f"{before}{label}{after}"
    )


def test_a_refusal_names_settings_as_the_page_labels_them():
    said = in_words("low_chance must be below watch_hour; channel is fine.", NAMES)
    assert said == "Low chance (%) must be below Tickets per hour; channel is fine."
    assert in_words("#low_chance and x.low_chance and low_chances", NAMES) == (
        "#low_chance and x.low_chance and low_chances"
    )
