"""What our own code logged in a test: a check that "nothing went wrong" reads only ``core``'s
loggers, so a message another library logs meanwhile (asyncio's "Task was destroyed but it is
pending!" when the garbage collector meets an earlier test's task) cannot fail it."""

from __future__ import annotations

import pytest


def our_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages ``core``'s loggers gave while ``caplog`` listened."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "core" or record.name.startswith("core.")
    ]
