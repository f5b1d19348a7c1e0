"""The web side (Flask): webhooks, health and metrics. ``create_app`` is the WSGI factory."""

from core.web.app import create_app

__all__ = ["create_app"]
