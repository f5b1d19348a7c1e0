"""The landing page a page that needs a login sends a visitor to (``/?login=needed``)."""

from __future__ import annotations

import re

from flask import Flask

from core.web.dashboard import register
from core.web.dashboard.config import DashboardConfig


def _seen(html: str) -> str:
    """The page's text as a viewer reads it (no tags, spaces run together)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _landing(**login: str | None) -> str:
    app = Flask(__name__)
    register(app, DashboardConfig(secret="s", **login))  # type: ignore[arg-type]
    answer = app.test_client().get("/?login=needed")
    assert answer.status_code == 200
    return _seen(answer.text.split("<h1>")[1])


def test_without_login_set_up_the_landing_page_gives_no_log_in_advice():
    """It said "Log in to see that page." next to "Login is not set up on this instance."."""
    seen = _landing(public_url=None)
    assert "Log in" not in seen
    assert "That page needs a Discord login, which this instance has not set up." in seen
    assert "Its operator can set it up" in seen
    assert "/setup" in seen


def test_with_login_set_up_the_landing_page_asks_to_log_in():
    seen = _landing(public_url="https://bot.example", client_id="123", client_secret="secret")
    assert "Log in to see that page." in seen
    assert "Log in with Discord" in seen
    assert "not set up" not in seen
