"""The baseline: the schema as it stood at migration 0032, the first revision of this history.

A new database is never built by running migrations: ``core.storage.db.migrate`` creates the
declared tables and marks the database as at the newest revision. Migrations carry an existing
database forward from here; the next one is 0033, revising 0032.

The 32 migrations that built this schema step by step (0001 to 0032) are in the git history, up
to commit d72efbf. A database older than 0032 is refused with the way through that commit
(``core.storage.db.SchemaNotUpgradable``).

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
