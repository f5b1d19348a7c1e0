"""Settings that guard against forgery and replay: refused at start when they would not guard.

Each check gives one plain line naming the setting and what it takes (``SettingsReader.problems``).
"""

from __future__ import annotations

KICK_MAX_AGE_MIN = 60  # the future skew Kick's deliveries are allowed (MAX_FUTURE_SKEW_SECONDS)
# A signed delivery older than the message ids the replay guard remembers (a day,
# core/bus/replay.py; tests/test_config_security.py holds the two together) could be sent again
# once its id is forgotten, so the window never reaches past it.
KICK_MAX_AGE_MAX = 86_400
FLASK_KEY_MIN_LENGTH = 32  # secrets.token_urlsafe(32), as generated, has 43
FLASK_KEY_MIN_DIFFERENT = 8
FLASK_KEY_HOW_TO = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'


def kick_webhook_max_age_problems(value: int) -> list[str]:
    """Why ``KICK_WEBHOOK_MAX_AGE_SECONDS`` would let an old signed delivery in again, if so.
    ``0`` turns the age check off, as DESIGN.md's settings promise (for a test bench): the start
    then says what that lets in (:data:`KICK_AGE_CHECK_OFF`)."""
    if value == 0 or KICK_MAX_AGE_MIN <= value <= KICK_MAX_AGE_MAX:
        return []
    return [
        f"KICK_WEBHOOK_MAX_AGE_SECONDS must be from {KICK_MAX_AGE_MIN} to {KICK_MAX_AGE_MAX} "
        f"seconds (a webhook's message id is remembered for a day), or 0 to turn the age check "
        f"off; got {value}"
    ]


KICK_AGE_CHECK_OFF = (
    "KICK_WEBHOOK_MAX_AGE_SECONDS=0: the age check of Kick's webhooks is off, so a signed delivery "
    "captured and sent again more than a day later is taken as new; set 600 outside a test bench"
)


def flask_secret_key_problems(key: str | None) -> list[str]:
    """Why ``FLASK_SECRET_KEY`` is too easy to guess, if it is (it signs sessions and links: a
    short one is found offline from one signed cookie). Unset is fine: it is generated."""
    if key is None:
        return []
    different = len(set(key))
    if len(key) >= FLASK_KEY_MIN_LENGTH and different >= FLASK_KEY_MIN_DIFFERENT:
        return []
    why = f"got {len(key)} character{'' if len(key) == 1 else 's'}"
    if len(key) >= FLASK_KEY_MIN_LENGTH:
        why += f", only {different} different one{'' if different == 1 else 's'}"
    return [
        f"FLASK_SECRET_KEY must be at least {FLASK_KEY_MIN_LENGTH} random characters ({why}); "
        f"{FLASK_KEY_HOW_TO}"
    ]


def eventsub_secret_problems(secret: str | None) -> list[str]:
    if secret is not None and not 10 <= len(secret) <= 100:
        # Twitch refuses to create a subscription with any other secret; say so now, not later.
        return [f"TWITCH_EVENTSUB_SECRET must be 10 to 100 characters, got {len(secret)}"]
    if secret is not None and not plain_ascii(secret):
        return ["TWITCH_EVENTSUB_SECRET must be plain ASCII characters (Twitch refuses others)"]
    return []


def plain_ascii(secret: str) -> bool:
    """Printable ASCII without spaces: what a token or a secret sent in a header can be."""
    return secret.isascii() and secret.isprintable() and " " not in secret
