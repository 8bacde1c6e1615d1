"""Alembic environment: always called programmatically with a connection (see __init__.py)."""

from alembic import context

from govcloud.service.db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the alembic CLI is not how this is run
    raise SystemExit("run migrations through govcloud.service.migrations.upgrade(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
