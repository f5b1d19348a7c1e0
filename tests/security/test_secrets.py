import stat

import pytest

from core.security.secrets import MissingSecret, TokenCipher, new_fernet_key, resolve_secret
from tests.conftest import TEST_FERNET_KEY


def test_configured_secret_wins(tmp_path):
    assert resolve_secret("given", name="X", data_dir=tmp_path, embedded=True, how_to="") == "given"


def test_embedded_default_generates_once_and_keeps_it_private(tmp_path, caplog):
    first = resolve_secret(
        None, name="FLASK_SECRET_KEY", data_dir=tmp_path, embedded=True, how_to=""
    )
    second = resolve_secret(
        None, name="FLASK_SECRET_KEY", data_dir=tmp_path, embedded=True, how_to=""
    )
    assert first == second
    assert len(first) >= 32
    path = tmp_path / "flask_secret_key.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "generated one" in caplog.text
    assert first not in caplog.text


@pytest.mark.parametrize("name", ["FLASK_SECRET_KEY", "TOKEN_ENCRYPTION_KEY"])
@pytest.mark.parametrize("stored", ["", "  \n"])
def test_an_empty_stored_secret_is_refused_rather_than_used(tmp_path, name, stored):
    """A first start that died while writing the file (a full disk) left it empty: read as it
    is, FLASK_SECRET_KEY would be "", and anyone could sign a link for any member."""
    path = tmp_path / f"{name.lower()}.secret"
    path.write_text(stored)
    with pytest.raises(MissingSecret, match=f"{name}.*{path.name} is empty"):
        resolve_secret(None, name=name, data_dir=tmp_path, embedded=True, how_to="")


def test_production_without_a_secret_is_a_start_up_error(tmp_path):
    with pytest.raises(
        MissingSecret, match="FLASK_SECRET_KEY must be set when the database is PostgreSQL"
    ):
        resolve_secret(None, name="FLASK_SECRET_KEY", data_dir=tmp_path, embedded=False,
                       how_to="generate one")  # fmt: skip


def test_tokens_round_trip_and_are_not_stored_in_clear():
    cipher = TokenCipher(new_fernet_key())
    stored = cipher.encrypt("access-token-123")
    assert "access-token-123" not in stored
    assert cipher.decrypt(stored) == "access-token-123"
    assert "hidden" in repr(cipher)


def test_a_token_from_another_key_is_a_clear_error():
    stored = TokenCipher(new_fernet_key()).encrypt("t")
    with pytest.raises(MissingSecret, match="TOKEN_ENCRYPTION_KEY changed"):
        TokenCipher(new_fernet_key()).decrypt(stored)


def test_a_bad_encryption_key_says_how_to_make_one():
    with pytest.raises(MissingSecret, match=r"Fernet\.generate_key"):
        TokenCipher("not-a-key")


def test_several_keys_read_what_each_sealed_and_the_first_seals():
    old, new = new_fernet_key(), new_fernet_key()
    sealed_before = TokenCipher(old).encrypt("t")
    both = TokenCipher(f"{new}, {old}")  # the new key put in front, as the docs say

    assert both.decrypt(sealed_before) == "t"
    assert TokenCipher(new).decrypt(both.encrypt("u")) == "u"
    assert not both.is_sealed_with_newest(sealed_before)
    again = both.rotate(sealed_before)
    assert both.is_sealed_with_newest(again)
    assert TokenCipher(new).decrypt(again) == "t"


@pytest.mark.parametrize(
    "setting",
    ["", " , ", "not-a-key", f"{TEST_FERNET_KEY},not-a-key"],
    ids=["empty", "commas", "no-key", "a-key-then-no-key"],
)
def test_a_list_with_anything_but_keys_says_how_to_make_one(setting):
    with pytest.raises(MissingSecret, match=r"comma-separated list") as refused:
        TokenCipher(setting)
    assert "not-a-key" not in str(refused.value)
