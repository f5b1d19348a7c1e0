"""How the public ledger names an admin: a pseudonym per period, never the Discord id.

A period closed in snapshot version 2 (docs/raffle.md, "Admins in the ledger") writes each
hand change's admin as ``"admin-<16 hex>"``: the first 16 hex digits of HMAC-SHA256(period
key, the Discord id in decimal), where the period key is HMAC-SHA256(the deployment's secret,
``"raffle-actor/<guild_id>/<period_id>"``). The same admin has one pseudonym within a period
and unrelated ones across periods; only the operator (``python -m core raffle admins``) can
map one back, and the verifier never needs to.

The secret is the runtime's ``link_secret`` (``FLASK_SECRET_KEY``). The close keeps the
period's key with the period (``raffle_periods.actor_key``, never published: whoever can read
it can read the ledger's Discord ids as well), so a closed period exports the same pseudonyms
after the secret changes, and its proof still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field

PREFIX = "admin-"
PSEUDONYM = re.compile(r"admin-[0-9a-f]{16}")


def period_key(secret: str, guild_id: int, period_id: int) -> bytes:
    message = f"raffle-actor/{int(guild_id)}/{int(period_id)}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def pseudonym(key: bytes, actor_id: int) -> str:
    digest = hmac.new(key, str(int(actor_id)).encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:16]


@dataclass(frozen=True)
class ActorPseudonyms:
    """One period's pseudonyms (its key derived from the deployment's secret)."""

    key: bytes = field(repr=False)

    @classmethod
    def of_period(cls, secret: str, guild_id: int, period_id: int) -> ActorPseudonyms:
        return cls(period_key(secret, guild_id, period_id))

    def name(self, actor_id: int | None) -> str | None:
        """The admin's pseudonym; None stays None (a row no admin made)."""
        return None if actor_id is None else pseudonym(self.key, actor_id)

    def mapping(self, actor_ids: list[int]) -> dict[int, str]:
        return {int(actor_id): pseudonym(self.key, actor_id) for actor_id in actor_ids}
