"""CSV exports: a cell a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv
import io

import pytest

from core.cli import write_records


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx"],
)
def test_a_name_that_a_spreadsheet_would_run_is_written_as_text(capsys, name):
    write_records(
        [{"username": name, "seconds": -5, "is_linked": True}],
        ["username", "seconds", "is_linked"],
        "csv",
    )
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert row == {"username": "'" + name, "seconds": "-5", "is_linked": "true"}


def test_plain_names_and_json_are_left_as_they_are(capsys):
    write_records([{"username": "alice-1", "seconds": 3}], ["username", "seconds"], "csv")
    assert capsys.readouterr().out == "username,seconds\nalice-1,3\n"
    write_records([{"username": "=1+1"}], ["username"], "json")
    assert '"username": "=1+1"' in capsys.readouterr().out  # JSON is data, not a sheet
