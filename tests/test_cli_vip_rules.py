"""``python -m core vip rules|rule add|rule remove``: the forms the issue writes, and each
refusal in one line with exit status 2."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events import Platform
from core.features.vip import repository, reward_deletion, rules_repository
from core.features.vip.rules_repository import REWARD, VipRule
from core.outbox import store
from core.storage.db import transaction
from tests.conftest import TEST_FERNET_KEY
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ADD = ("vip", "rule", "add", "--guild", GUILD)
KEYS = {
    "FLASK_SECRET_KEY": "test-link-secret-a-key-of-32-characters-or-more",
    "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
}


@pytest.fixture
def env(cli_env, make_runtime):  # noqa: F811
    """A guild whose Kick VIP role is set (Kick rules give it); Twitch not connected."""
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.ensure_guild(int(GUILD))
    with transaction(runtime.engine) as conn:
        repository.save_settings(conn, int(GUILD), {"kick_role_id": 555}, AT)
    return {**cli_env, **KEYS}


def test_removing_a_twitch_reward_rule_leaves_its_deletion_to_the_running_bot(
    env, make_runtime
) -> None:
    runtime = make_runtime(DATA_DIR=env["DATA_DIR"])
    rule = VipRule(0, int(GUILD), Platform.TWITCH, REWARD, 24, AT, "reward-1", "VIP day", 500)
    with transaction(runtime.engine) as conn:
        rule_id = rules_repository.add_rule(conn, rule)
    removed = cli(env, "vip", "rule", "remove", "--guild", GUILD, str(rule_id))
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.splitlines()[1:] == [
        "Its reward will be deleted on Twitch by the running bot."
    ]
    with runtime.engine.connect() as conn:
        [call] = store.of_guild(conn, int(GUILD))
    assert (call.kind, call.state) == (reward_deletion.KIND, "pending")


def _refused(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_rules_are_added_listed_and_removed(env) -> None:
    kicks = cli(
        env, *ADD, "--platform", "kick", "--when", "kicks", "--at-least", "100", "--hours", "12"
    )
    gift = cli(
        env, *ADD, "--platform", "kick", "--when", "gift", "--at-least", "5", "--hours", "48"
    )
    sub = cli(env, *ADD, "--platform", "kick", "--when", "sub", "--tier", "1", "--hours", "24")
    assert (kicks.returncode, gift.returncode, sub.returncode) == (0, 0, 0), kicks.stderr
    kicks_id = kicks.stdout.split("\t")[0]

    listed = cli(env, "vip", "rules", "--guild", GUILD)

    assert listed.returncode == 0
    assert [line.split("\t")[1:] for line in listed.stdout.splitlines()] == [
        ["kick", "at least 100 KICKs", "12 h"],
        ["kick", "a gift of at least 5 subs", "48 h"],
        ["kick", "a subscription of tier 1 or higher, new or renewed", "24 h"],
    ]
    removed = cli(env, "vip", "rule", "remove", "--guild", GUILD, kicks_id)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith(f"Removed: {kicks_id}\tkick\tat least 100 KICKs")
    after = cli(env, "vip", "rules", "--guild", GUILD).stdout.splitlines()
    assert [line.split("\t")[2] for line in after] == [
        "a gift of at least 5 subs",
        "a subscription of tier 1 or higher, new or renewed",
    ]


def test_a_guild_without_rules_says_so(env, make_runtime) -> None:
    make_runtime(DATA_DIR=env["DATA_DIR"]).guilds.set_kick_channel(42, "streamer", "4242")
    listed = cli(env, "vip", "rules", "--guild", "42")
    assert (listed.returncode, listed.stdout) == (0, "No VIP rules in guild 42.\n")


def test_a_server_with_a_nineteen_digit_id_is_served(env, make_runtime) -> None:
    """Discord's ids have 19 digits since 2022: such a server's rules are listed and added."""
    guild = "1234567890123456789"
    runtime = make_runtime(DATA_DIR=env["DATA_DIR"])
    runtime.guilds.ensure_guild(int(guild))
    with transaction(runtime.engine) as conn:
        repository.save_settings(conn, int(guild), {"kick_role_id": 555}, AT)
    listed = cli(env, "vip", "rules", "--guild", guild)
    assert (listed.returncode, listed.stdout) == (0, f"No VIP rules in guild {guild}.\n")
    added = cli(
        env, "vip", "rule", "add", "--guild", guild, "--platform", "kick", "--when", "gift",
        "--at-least", "5", "--hours", "48",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--platform", "kick", "--when", "kicks", "--at-least", "5"), "--hours"),
        (
            ("--platform", "youtube", "--when", "kicks", "--at-least", "5", "--hours", "1"),
            "twitch or kick",
        ),
        (
            ("--platform", "kick", "--when", "raids", "--at-least", "5", "--hours", "1"),
            "reward, sub, gift, bits or kicks",
        ),
        (("--platform", "kick", "--when", "bits", "--at-least", "5", "--hours", "1"), "Twitch"),
        (("--platform", "twitch", "--when", "kicks", "--at-least", "5", "--hours", "1"), "Kick"),
        (
            ("--platform", "twitch", "--when", "sub", "--tier", "4", "--hours", "1"),
            "--tier 1, 2 or 3",
        ),
        (("--platform", "kick", "--when", "sub", "--tier", "2", "--hours", "1"), "one tier"),
        (("--platform", "kick", "--when", "gift", "--hours", "1"), "--at-least"),
        (("--platform", "kick", "--when", "gift", "--at-least", "0", "--hours", "1"), "--at-least"),
        (
            ("--platform", "kick", "--when", "gift", "--at-least", "5", "--hours", "0"),
            "Hours go from 1",
        ),
        (
            ("--platform", "kick", "--when", "gift", "--at-least", "5", "--hours", "soon"),
            "--hours is a whole number",
        ),
        (
            ("--platform", "kick", "--when", "gift", "--at-least", "5", "--hours", "\u0661\u0662"),
            "--hours is a whole number, got '\u0661\u0662'",
        ),
        (
            ("--platform", "twitch", "--when", "reward", "--hours", "1"),
            "--reward-id ID, or --title T --cost N",
        ),
        (
            (
                "--platform",
                "twitch",
                "--when",
                "reward",
                "--reward-id",
                "r",
                "--title",
                "T",
                "--cost",
                "5",
                "--hours",
                "1",
            ),
            "not both",
        ),
        (("--platform", "kick", "--when", "reward", "--hours", "1"), "--title T"),
        (
            ("--platform", "twitch", "--when", "bits", "--at-least", "500", "--hours", "24"),
            "Twitch is not connected",
        ),
        (
            (
                "--platform",
                "kick",
                "--when",
                "kicks",
                "--at-least",
                "5",
                "--hours",
                "1",
                "--colour",
                "red",
            ),
            "unrecognized",
        ),
    ],
)
def test_bad_input_is_refused_in_one_line(env, args, said) -> None:
    assert said in _refused(cli(env, *ADD, *args))


def test_a_kick_rule_needs_the_kick_vip_role(cli_env, make_runtime) -> None:  # noqa: F811
    make_runtime(DATA_DIR=cli_env["DATA_DIR"]).guilds.ensure_guild(int(GUILD))
    result = cli(
        {**cli_env, **KEYS},
        *ADD,
        "--platform",
        "kick",
        "--when",
        "kicks",
        "--at-least",
        "5",
        "--hours",
        "1",
    )
    # In the order the command takes them (a title first would be read as the role).
    assert _refused(result) == (
        "Kick rules give the server's Kick VIP role: set it first "
        "(!vip kick @role <reward title>, or the VIP page)."
    )


def test_a_second_rule_for_the_same_bar_is_refused(env) -> None:
    args = ("--platform", "kick", "--when", "kicks", "--at-least", "100", "--hours", "12")
    assert cli(env, *ADD, *args).returncode == 0
    assert "is already for at least 100 KICKs" in _refused(cli(env, *ADD, *args))


@pytest.mark.parametrize(
    "args",
    [
        ("vip", "rule", "remove", "--guild", GUILD, "999"),
        ("vip", "rule", "remove", "--guild", GUILD, "first"),
        ("vip", "rules", "--guild", "my-server"),
        ("vip", "rules"),
        ("vip",),
        ("vip", "rule"),
    ],
)
def test_other_refusals_are_one_line_too(env, args) -> None:
    _refused(cli(env, *args))
