"""``python -m core raffle export <period> --out PATH``: a PATH it cannot write in (a file, a
folder it may not write, a file's name taken by a folder) is one line and exit status 2, and
nothing is written."""

from __future__ import annotations

import os

import pytest

from tests.conftest import TEST_FERNET_KEY
from tests.features.raffle.conftest import beacon, clock  # noqa: F401 - fixtures
from tests.features.raffle.support import SETTING_SECRET, make_service
from tests.features.raffle.test_admin_pseudonyms import _close_a_month
from tests.support.cli import run as run_cli


@pytest.fixture
def exported(engine, migrated_database_url, clock, beacon, tmp_path):  # noqa: F811
    """``raffle export`` of a closed period, with ``--out`` as given."""
    period_id = _close_a_month(engine, make_service(engine, clock, beacon.url), clock)
    env = {
        "DATABASE_URL": migrated_database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "FLASK_SECRET_KEY": SETTING_SECRET,
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "RAFFLE_BEACON_URL": beacon.url,
    }

    def export(out):  # type: ignore[no-untyped-def]
        return period_id, run_cli(
            env, "raffle", "export", str(period_id), "--out", str(out), cwd=tmp_path
        )

    return export


def assert_one_line(result, line: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [line]
    assert result.stdout == ""


def test_an_existing_file_is_refused_and_left_as_it_was(exported, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    _, result = exported(notes)
    assert_one_line(result, f"Could not write to {notes}: it is a file, not a directory.")
    assert notes.read_text() == "mine"

    _, below = exported(notes / "proofs")
    assert_one_line(
        below, f"Could not write to {notes / 'proofs'}: {notes} is a file, not a directory."
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not stop root from writing")
def test_a_directory_it_may_not_write_in_is_refused(exported, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        _, result = exported(locked)
        _, below = exported(locked / "proofs")
    finally:
        locked.chmod(0o755)
    assert_one_line(result, f"Could not write to {locked}: it may not be written by this user.")
    assert_one_line(
        below,
        f"Could not write to {locked / 'proofs'}: {locked} may not be written by this user.",
    )
    assert list(locked.iterdir()) == []


def test_a_file_name_taken_by_a_folder_is_one_line(exported, tmp_path):
    out = tmp_path / "out"
    period_id, _ = exported(out)  # the first export writes both files
    (out / f"raffle-{period_id}-proof.json").unlink()
    (out / f"raffle-{period_id}-proof.json").mkdir()
    _, result = exported(out)
    assert_one_line(result, f"Could not write to {out}: Is a directory")


def test_a_ledger_that_cannot_be_written_leaves_no_proof_behind(exported, tmp_path):
    out = tmp_path / "out"
    period_id, _ = exported(out)
    for written in out.iterdir():
        written.unlink()
    (out / f"raffle-{period_id}-ledger.json").mkdir()  # the ledger's name taken by a folder
    _, result = exported(out)
    assert_one_line(result, f"Could not write to {out}: Is a directory")
    assert [path.name for path in out.iterdir()] == [f"raffle-{period_id}-ledger.json"]


def test_raffle_alone_says_what_to_type_on_standard_error(tmp_path):
    """As every command run without its action: the usage line is an error, not output."""
    result = run_cli({"DATA_DIR": str(tmp_path / "data")}, "raffle", cwd=tmp_path)
    assert_one_line(
        result,
        "Say what to do: 'raffle export <period> [--out DIR]', 'raffle verify <proof> <ledger>' "
        "or 'raffle admins --period <period>'.",
    )
