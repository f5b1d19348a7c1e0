"""Payments in doubt: the guild's outbox calls that ended uncertain (a StreamElements payment
answered 500), newest first, with who, how much, why and the service's words, and two buttons
each: "Mark paid" (it landed) and "Pay again" (it did not), settled once with the dashboard
user as admin (the same service call as ``!payments settle``)."""

from __future__ import annotations

from flask import g, request

from core.features.payments.service import SettleRefused
from core.features.payments.words import amount_words, settled_line
from core.web.dashboard.guilds import guild_blueprint
from core.web.dashboard.pages._forms import config, done, installed, page

AREA = guild_blueprint("payments", __name__, "Payments in doubt")
ORDER = 65
LISTED = 100


def _show(guild_id: int, errors: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    doubts = installed(config().payment_doubts)
    return page(
        "dashboard/payments.html",
        guild_id,
        errors=errors,
        doubts=doubts.doubtful(guild_id, LISTED),
        total=doubts.count(guild_id),
        amount_words=amount_words,
        form=request.form if request.method == "POST" else {},
    )


@AREA.bp.get("/")
def index(guild_id: int):  # type: ignore[no-untyped-def]
    return _show(guild_id)


@AREA.bp.post("/<id:call_id>/<any(paid, again):action>")
def settle(guild_id: int, call_id: int, action: str):  # type: ignore[no-untyped-def]
    doubts = installed(config().payment_doubts)
    try:
        settled = doubts.settle(
            guild_id,
            call_id,
            action,
            actor="dashboard",
            actor_id=g.user.id,
            reason=request.form.get("reason", ""),
        )
    except SettleRefused as refused:
        return _show(guild_id, {"settle": str(refused)})
    return done(AREA.endpoint, guild_id, settled_line(settled))
