"""Alembic runs migrations on the connection that `landline.store.database.migrate` hands it."""

from __future__ import annotations

from alembic import context

from landline.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through landline.store.database.migrate")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
