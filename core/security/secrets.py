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

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

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
        stored = path.read_text().strip()
        if not stored:  # "" would sign and seal with a key anyone knows
            raise MissingSecret(f"{name}: {path} is empty; delete it (or set {name}) and restart")
        return stored
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
    except BaseException:
        path.unlink()  # not left empty (a full disk) for the next start to read as the key
        raise
    log.warning("%s is not set: generated one and stored it in %s (keep that file)", name, path)
    return value


class TokenCipher:
    """Encrypts platform tokens for storage (Fernet: AES-128-CBC with HMAC-SHA256).

    ``key`` is one Fernet key, or several separated by commas (``TOKEN_ENCRYPTION_KEY=new,old``):
    the first encrypts, and a value any of them sealed is read. So a key is replaced without
    losing what the old one sealed: put the new key first, run ``python -m core keys rotate``
    (which seals every stored value again with it), then drop the old one.
    """

    def __init__(self, key: str) -> None:
        keys = [part.strip() for part in key.split(",") if part.strip()]
        try:
            fernets = [Fernet(part.encode()) for part in keys]
        except ValueError:
            fernets = []
        if not fernets:
            raise MissingSecret(
                "TOKEN_ENCRYPTION_KEY is not a Fernet key (or a comma-separated list of them, "
                "the newest first); generate one with: python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from None
        self._fernet = MultiFernet(fernets)
        self._newest = fernets[0]

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableToken(
                "a stored token cannot be decrypted: TOKEN_ENCRYPTION_KEY changed?"
            ) from exc

    def is_sealed_with_newest(self, stored: str) -> bool:
        """Whether the first key sealed ``stored`` (nothing for :meth:`rotate` to do)."""
        try:
            self._newest.decrypt(stored.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, stored: str) -> str:
        """``stored`` sealed again with the first key; :class:`UndecryptableToken` when no
        key reads it."""
        try:
            return self._fernet.rotate(stored.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableToken("a stored value no TOKEN_ENCRYPTION_KEY key reads") from exc

    def __repr__(self) -> str:
        return "TokenCipher(<hidden>)"


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()
