"""The WSGI servers' entry: ``gunicorn "core.wsgi:create_app()"`` builds the runtime from the
environment, brings the storage up to date and serves its web app. The web side itself
(``core/web/``) takes what it serves as an argument and never builds the runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.runtime import Runtime
from core.settings_reader import SettingsError

if TYPE_CHECKING:
    from flask import Flask


def create_app() -> Flask:
    """The web app of a runtime built from the environment (``.env`` included), migrated. A
    setting it cannot use (``gunicorn.conf.py`` checks most before any worker starts; a
    ``DATA_DIR`` this user cannot write is found here) stops the server with its one line."""
    try:
        runtime = Runtime.from_environment()
    except SettingsError as problems:
        raise _cannot_load("\n".join(problems.problems)) from None
    runtime.migrate()
    return runtime.create_web_app()


def _cannot_load(words: str) -> Exception:
    """gunicorn prints an ``AppImportError``'s words alone and stops (a worker's traceback
    would be printed, and the worker started again, for every worker); another WSGI server
    gets them as the reason it exits."""
    try:
        from gunicorn.errors import AppImportError
    except ImportError:  # pragma: no cover - gunicorn is in requirements.txt
        return SystemExit(words)
    return AppImportError(words)
