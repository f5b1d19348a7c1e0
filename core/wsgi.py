"""The WSGI servers' entry: ``gunicorn "core.wsgi:create_app()"`` builds the runtime from the
environment, brings the storage up to date and serves its web app. The web side itself
(``core/web/``) takes what it serves as an argument and never builds the runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.runtime import Runtime

if TYPE_CHECKING:
    from flask import Flask


def create_app() -> Flask:
    """The web app of a runtime built from the environment (``.env`` included), migrated."""
    runtime = Runtime.from_environment()
    runtime.migrate()
    return runtime.create_web_app()
