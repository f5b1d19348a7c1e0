"""Public pages: the landing page, /terms, /privacy, and a page per closed raffle period with
its proof and ledger downloads (the bytes ``python -m core raffle export`` writes) and the
in-browser verifier (static/verify.js)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, render_template, request

from core.features import schema
from core.features.guilds.invite import invite_url
from core.features.raffle.beacons import verification as beacon_verification
from core.web.dashboard import answer_database_down, error_page
from core.web.dashboard.privacy import PUBLIC, STORED
from core.web.dashboard.state import current_user, dashboard
from core.web.dashboard.zoned import in_zone

bp = Blueprint("public", __name__)
answer_database_down(bp)


def export_bytes(document: dict[str, Any]) -> bytes:
    """A proof or ledger file, byte for byte as ``python -m core raffle export`` writes it."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _operator() -> dict[str, str]:
    config = dashboard().config
    return {
        "name": config.operator_name or "the operator of this StreamKeeper instance",
        "contact": config.operator_contact or "(no contact set: OPERATOR_CONTACT)",
    }


@bp.get("/")
def landing():  # type: ignore[no-untyped-def]
    config = dashboard().config
    add_bot = None
    if config.client_id:
        add_bot = invite_url(config.client_id, config.oauth_base_url)
    return render_template(
        "dashboard/landing.html",
        user=current_user(),
        add_bot=add_bot,
        login_on=config.login_configured,
        login_needed=request.args.get("login") == "needed",
    )


@bp.get("/terms")
def terms():  # type: ignore[no-untyped-def]
    return render_template("dashboard/terms.html", user=current_user(), operator=_operator())


@bp.get("/privacy")
def privacy():  # type: ignore[no-untyped-def]
    return render_template(
        "dashboard/privacy.html",
        user=current_user(),
        operator=_operator(),
        stored=STORED,
        public=PUBLIC,
    )


def all_tables() -> set[str]:
    """Every table of the schema (for the test that keeps /privacy complete)."""
    return set(schema.all_tables().tables)


def _period(period_id: int):  # type: ignore[no-untyped-def]
    export = dashboard().config.raffle_export
    if export is None:
        return None
    try:
        return export(period_id)
    except LookupError:
        return None


_NO_PROOF = "There is no closed raffle period with a draw under this number."


@bp.get("/raffle/<id:period_id>")
def raffle_period(period_id: int):  # type: ignore[no-untyped-def]
    found = _period(period_id)
    if found is None:
        return error_page(404, "No such raffle", _NO_PROOF)
    proof = found.document
    return render_template(
        "dashboard/raffle.html",
        user=current_user(),
        period_id=period_id,
        proof=proof,
        entries=found.entry_count,
        times={key: _moment(proof.get(key), found.time_zone) for key in _TIMES},
        draws=[_draw_line(draw) for draw in proof.get("draws", [])],
        beacon_summary=beacon_verification.summary(proof),
    )


_TIMES = ("starts_at", "ends_at", "closed_at")


def _moment(value: Any, time_zone: str) -> dict[str, str] | None:
    """A proof's UTC time as its server's raffle counts it ("1 March 2026, 00:00
    (Europe/Berlin)"), with the exact value of the proof file kept as ``utc``."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None if value is None else {"utc": str(value), "local": str(value)}
    if moment.tzinfo is None:
        return {"utc": str(value), "local": str(value)}
    return {"utc": str(value), "local": in_zone(moment, time_zone)}


def _draw_line(draw: dict[str, Any]) -> str:
    """One draw of the proof in words: what it was for (its prize, as its announcement said),
    how it was drawn (forced, a reroll and why) and its winners, or that nobody was left to win."""
    prize = draw.get("prize")
    how = [f"draw {draw.get('id')}" + (f" for {prize}" if prize else "")]
    if draw.get("reroll_of") is not None:
        how.append(f"a reroll of draw {draw['reroll_of']}: {draw.get('reason') or 'no reason'}")
    if draw.get("forced"):
        forced_by = draw.get("forced_by")
        how.append("forced without the beacon" + (f" by {forced_by}" if forced_by else ""))
    head = how[0] + (f" ({'; '.join(how[1:])})" if len(how) > 1 else "")
    winners = [
        f"#{w.get('position')} {w.get('username') or w.get('participant')}"
        for w in draw.get("winners", [])
    ]
    return f"{head}: {', '.join(winners) or 'nobody could win (no eligible tickets left)'}"


@bp.get("/raffle/<id:period_id>/<kind>.json")
def raffle_file(period_id: int, kind: str):  # type: ignore[no-untyped-def]
    found = _period(period_id)
    if found is None or kind not in ("proof", "ledger"):
        return error_page(404, "No such file", _NO_PROOF)
    try:
        document = found.document if kind == "proof" else found.read_ledger()
    except LookupError:
        return error_page(404, "No such file", _NO_PROOF)
    response = Response(export_bytes(document), mimetype="application/json")
    name = f"raffle-{period_id}-{kind}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
