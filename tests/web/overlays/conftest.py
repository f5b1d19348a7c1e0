"""The overlay pages on the real web app of a Runtime (the dashboard tests' site)."""

from tests.web.dashboard.conftest import discord, site, site_settings  # noqa: F401
