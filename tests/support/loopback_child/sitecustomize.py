"""Run at the start of every Python process a test starts (``loopback_child/`` is first on its
PYTHONPATH; ``tests/support/loopback_only.children_too``): the process runs under the tests'
loopback guard and writes what it refused to the file its test reads afterwards."""

import importlib.util
import os
from pathlib import Path

_report_to = os.environ.get("STREAMKEEPER_TEST_BEYOND_LOOPBACK")
if _report_to:
    _spec = importlib.util.spec_from_file_location(
        "_tests_loopback_only", Path(__file__).resolve().parent.parent / "loopback_only.py"
    )
    if _spec is None or _spec.loader is None:
        raise ImportError("tests/support/loopback_only.py is missing")
    _guard = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_guard)
    _guard.install_for_good(_report_to)
