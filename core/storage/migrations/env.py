"""Alembic environment: migrations run on the connection that core.storage.db.migrate passes."""

from alembic import context

from core.storage.schema import load_tables

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=load_tables(),
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()
