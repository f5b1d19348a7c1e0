"""Secrets the process needs: the link-signing key and the token encryption key.

On SQLite (the embedded default) a missing key is generated once and kept under
``DATA_DIR`` with a warning; on PostgreSQL a missing key is a start-up error, because the
processes that share the database must share the key.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)


class MissingSecret(Exception):
    """A required secret is not configured; the message says which and how to make one."""


class UndecryptableToken(MissingSecret):
    """A stored value was not encrypted with this ``TOKEN_ENCRYPTION_KEY`` (the key changed,
    or a backup was restored without its key)."""


def resolve_secret(
    configured: str | None,
    *,
    name: str,
    data_dir: Path,
    embedded: bool,
    generate: Callable[[], str] = lambda: secrets.token_urlsafe(32),
    how_to: str,
) -> str:
    if configured:
        return configured
    if not embedded:
        raise MissingSecret(f"{name} must be set when the database is PostgreSQL; {how_to}")
    path = data_dir / f"{name.lower()}.secret"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    log.warning("%s is not set: generated one and stored it in %s (keep that file)", name, path)
    return value


class TokenCipher:
    """Encrypts platform tokens for storage (Fernet: AES-128-CBC with HMAC-SHA256)."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError as exc:
            raise MissingSecret(
                "TOKEN_ENCRYPTION_KEY is not a Fernet key; generate one with: python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from exc

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableToken(
                "a stored token cannot be decrypted: TOKEN_ENCRYPTION_KEY changed?"
            ) from exc

    def __repr__(self) -> str:
        return "TokenCipher(<hidden>)"


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()
