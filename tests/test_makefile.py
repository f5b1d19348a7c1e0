"""The Makefile on a newcomer's machine: what ``make run`` does before it starts anything."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Debian's and Ubuntu's python3 without python3-venv: ``-m venv`` makes the folder and its
# bin/python, then finds no ensurepip and exits 1 (pip never arrives).
VENV_WITHOUT_ENSUREPIP = """#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && printf '#!/bin/sh\\nexit 0\\n' > "$3/bin/python" && chmod +x "$3/bin/python"
  echo "The virtual environment was not created successfully because ensurepip is not" >&2
  echo "available." >&2
  exit 1
fi
exit 0
"""


@pytest.mark.slow  # runs make twice
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_a_venv_that_failed_to_build_is_built_again_by_the_next_make(tmp_path: Path) -> None:
    """After ``apt-get install python3-venv`` the next ``make run`` makes the venv again, rather
    than finding the broken one and failing on ``.venv/bin/pip: No such file or directory``."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "requirements.txt", tmp_path / "requirements.txt")
    python = tmp_path / "python3"
    python.write_text(VENV_WITHOUT_ENSUREPIP)
    python.chmod(0o755)

    def make() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", ".venv/.installed", f"PYTHON={python}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    first = make()
    assert first.returncode != 0
    assert "ensurepip is not" in first.stderr
    assert not (tmp_path / ".venv").exists()  # nothing half-made for the next run to trust

    again = make()
    assert again.returncode != 0
    assert "ensurepip is not" in again.stderr  # the same advice, not a missing pip
    assert "pip: No such file" not in again.stderr
