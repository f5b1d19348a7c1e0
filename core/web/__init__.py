"""The web side (Flask): webhooks, health and metrics, the sign-in pages, the dashboard.

``create_app(services)`` builds the app from what the composition root built. Called with
nothing, as ``gunicorn "core.web:create_app()"`` does (an entry point DESIGN.md keeps), it is
the WSGI servers' entry ``core.wsgi:create_app()``: the one module of the web side that may
reach the composition root, and only then."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.web import app

if TYPE_CHECKING:
    from flask import Flask

    from core.web.app import WebServices


def create_app(services: WebServices | None = None) -> Flask:
    if services is None:
        from core import wsgi  # the environment's runtime, migrated (the entry point's work)

        return wsgi.create_app()
    return app.create_app(services)


__all__ = ["create_app"]
