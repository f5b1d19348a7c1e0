"""How a view reaches the services its app was built with."""

from __future__ import annotations

from flask import current_app

from core.web.app import WebServices


def services() -> WebServices:
    return current_app.extensions["streamkeeper"]
