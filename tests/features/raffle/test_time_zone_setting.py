"""The raffle's time zone as an admin types it: a place of the zone database, stored by its
name there, and nothing that only happens to be a file of the host's zone database."""

from __future__ import annotations

import pytest

from core.features.raffle import rates
from core.features.raffle.errors import RaffleRefused


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  America/New_York ", "America/New_York"),
        ("utc", "UTC"),
        ("ASIA/KOLKATA", "Asia/Kolkata"),
    ],
)
def test_a_place_is_stored_by_its_name_in_the_zone_database(typed, stored):
    assert rates.parse_setting("time_zone", typed) == ("time_zone", stored)


@pytest.mark.parametrize(
    "typed",
    [
        "posixrules",  # a copy of some zone, chosen by whoever built the host's database
        "localtime",  # the host's own zone: moves when the bot moves to another machine
        "Factory",  # the database's placeholder, "-00"
        "posix/Europe/Berlin",
        "right/UTC",  # counts leap seconds: its midnights are not the world's
        "zone.tab",
        "Mars/Olympus",
        "../../etc/passwd",
        "",
    ],
)
def test_anything_else_is_refused_in_words(typed):
    with pytest.raises(RaffleRefused, match="is not a time zone I know"):
        rates.parse_setting("time_zone", typed)
