"""The web side (Flask): webhooks, health and metrics, the sign-in pages, the dashboard.
``create_app(services)`` builds the app; a WSGI server's entry is ``core.wsgi:create_app()``."""

from core.web.app import create_app

__all__ = ["create_app"]
