"""Alembic environment: migrations run on the connection that core.storage.db.migrate passes.

Upgrading needs no table definitions; autogenerate compares against ``target_metadata`` when the
caller passes one (``core.features.schema.all_tables()``: storage itself knows no feature).
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=context.config.attributes.get("target_metadata"),
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()
