"""``python -m core keys rotate``: a new TOKEN_ENCRYPTION_KEY goes in front of the old one, the
command seals what is stored again with it, and the old key can then be dropped: the overlay URL
the old key sealed is still the one printed."""

from __future__ import annotations

from core.security.secrets import new_fernet_key
from tests.support.fake_apps import apps_knowing
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture

OLD, NEW = new_fernet_key(), new_fernet_key()


def test_a_new_key_in_front_seals_everything_again_and_the_old_one_goes(cli_env):  # noqa: F811
    env = cli_env | {"OAUTH_BASE_URL": "https://bot.example.org", "TOKEN_ENCRYPTION_KEY": OLD}
    with apps_knowing(env, kick=("streamer", "4242")) as checking:
        added = cli(checking, "guild", "add", GUILD, "--kick-channel", "streamer",
                    "--kick-broadcaster-id", "4242")  # fmt: skip
    assert added.returncode == 0, added.stderr
    first = cli(env, "overlay", "url", "--guild", GUILD, "--kind", "alerts")
    assert first.returncode == 0, first.stderr

    rotated = cli(env | {"TOKEN_ENCRYPTION_KEY": f"{NEW},{OLD}"}, "keys", "rotate")

    assert rotated.returncode == 0, rotated.stderr
    assert "sealed again 1 value(s) of overlay_tokens.token_sealed" in rotated.stdout
    assert "the other keys can be dropped" in rotated.stdout
    assert OLD not in rotated.stdout + rotated.stderr
    assert NEW not in rotated.stdout + rotated.stderr
    again = cli(env | {"TOKEN_ENCRYPTION_KEY": NEW}, "overlay", "url", "--guild", GUILD,
                "--kind", "alerts")  # fmt: skip
    assert (again.returncode, again.stdout) == (0, first.stdout), again.stderr


def test_keys_alone_says_what_to_type(cli_env):  # noqa: F811
    done = cli(cli_env, "keys")
    assert done.returncode == 2
    assert "keys rotate" in done.stderr
