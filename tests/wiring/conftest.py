"""The fake Twitch and its clock, shared with tests/platforms/twitch."""

from tests.platforms.twitch.conftest import clock, sleep, twitch

__all__ = ["clock", "sleep", "twitch"]
