"""The migrations build exactly the tables the code uses, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from landline.store.database import create_engines, migrate
from landline.store.schema import metadata


def test_migrated_database_matches_the_schema(db_url: str) -> None:
    writer, reader = create_engines(db_url)
    try:
        migrate(writer)
        migrate(writer)  # a second start finds nothing to do
        with writer.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
            tables = set(inspect(connection).get_table_names())
        assert differences == []
        assert set(metadata.tables) <= tables
    finally:
        writer.dispose()
        reader.dispose()
