"""The raffle's time zone as an admin types it: a place of the zone database, stored by its
name there, and nothing that only happens to be a file of the host's zone database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.features.raffle import rates
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.periods import calendar


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


def test_time_zones_work_on_a_host_without_a_zone_database(tmp_path):
    """Slim container images have no /usr/share/zoneinfo: the pinned tzdata package stands in."""
    script = (
        "from core.features.raffle.periods import calendar\n"
        "print(calendar.zone_name('europe/berlin'), calendar.zone('UTC'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONTZPATH": str(tmp_path)},  # an empty folder: no host zones
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Europe/Berlin", "UTC"]


def test_a_stored_name_too_long_for_a_file_is_an_unknown_zone_not_a_crash():
    with pytest.raises(calendar.BadDates, match="is not a time zone I know"):
        calendar.zone("Europe/" + "x" * 1000)
