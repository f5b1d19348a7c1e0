import stat

import pytest

from core.security.secrets import MissingSecret, TokenCipher, new_fernet_key, resolve_secret


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
