"""What an import refuses to do, in one line for the operator."""

from __future__ import annotations


class ImportProblem(Exception):
    """Bad input (an unreachable database, a schema of another version, an unknown guild, an
    earlier import that did not finish): the message is the one line the operator sees."""


class RolledBack(Exception):
    """Raised inside a dry run's transaction so that it is rolled back."""
