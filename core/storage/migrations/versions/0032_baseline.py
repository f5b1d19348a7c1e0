"""The baseline: the schema as it stood at migration 0032, the first revision of this history.

A new database is never built by running migrations: ``core.storage.db.migrate`` creates the
declared tables and marks the database as at the newest revision. Migrations carry an existing
database forward from here; the next one is 0033, revising 0032.

The 32 migrations that built this schema step by step (0001 to 0032) are kept as they were
written in ``migrations/legacy/``: ``core.storage.db.migrate`` runs them first for a database
older than 0032, in the same transaction, then carries it on from here.

Revision ID: 0032
Revises:
"""

revision = "0032"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    raise RuntimeError(
        "The baseline is not run: core.storage.db.migrate builds a new database from the "
        "declared tables and marks it as at 0032."
    )


def downgrade() -> None:
    raise RuntimeError("The baseline has nothing before it to go back to.")
